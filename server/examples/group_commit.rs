//! Group commit under load: W writers, each on its own document, make C
//! changes one after the other, each waiting until the relay advertises it
//! (so it is committed to SQLite, `synchronous = FULL`). Prints throughput,
//! acknowledgement latency percentiles and writes per SQLite commit.
//!
//! `cargo run --release -p server --example group_commit -- [writers] [changes]`
//! (defaults 1 and 50 writers, 100 changes each). A measurement, not a test.

use std::time::{Duration, Instant};

use client::{Client, ClientOptions};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let changes = args.get(1).copied().unwrap_or(100);
    let runs = match args.first() {
        Some(&writers) => vec![writers],
        None => vec![1, 50],
    };
    println!("| writers | changes acknowledged | changes/s | ack p50 | ack p99 | writes per commit |");
    println!("|---|---|---|---|---|---|");
    for writers in runs {
        run(writers, changes).await?;
    }
    Ok(())
}

async fn run(writers: usize, changes: usize) -> anyhow::Result<()> {
    let data = tempfile::TempDir::new()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let metrics_addr = metrics.local_addr()?;
    let mut config = server::Config::new(data.path());
    config.open = true;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(server::run_with_metrics(listener, Some(metrics), config, async move {
        let _ = stopped.await;
    }));
    let url = format!("ws://{addr}/sync");
    let before = commits(metrics_addr).await?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = Client::connect(&url, ClientOptions::default()).await?;
            let doc = client.create().await?;
            let mut latencies = Vec::with_capacity(changes);
            for i in 0..changes {
                let at = Instant::now();
                client.change(&doc, move |tx| tx.put(ROOT, "n", i as i64)).await?;
                let heads = client.heads(&doc).await?;
                client.wait_relay_has(&doc, heads, WAIT).await?;
                latencies.push(at.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    let after = commits(metrics_addr).await?;
    let _ = stop.send(());
    relay.await??;

    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    let (writes, commits) = (after.0 - before.0, after.1 - before.1);
    println!(
        "| {writers} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ({writes} writes, {commits} commits) |",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(50).as_secs_f64() * 1e3,
        percentile(99).as_secs_f64() * 1e3,
        writes / commits.max(1.0),
    );
    Ok(())
}

/// (storage writes committed, SQLite commits) from `/metrics`.
async fn commits(addr: std::net::SocketAddr) -> anyhow::Result<(f64, f64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    let value = |name: &str| -> anyhow::Result<f64> {
        let line = body.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')));
        Ok(line.ok_or_else(|| anyhow::anyhow!("{name} missing"))?.parse()?)
    };
    Ok((value("essaim_storage_writes_total")?, value("essaim_storage_commit_seconds_count")?))
}
