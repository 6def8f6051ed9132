//! The national agenda once warm: T public territories of A weekly actions
//! each (written straight into a fresh data directory, as `essaim demo`
//! does), a relay on 127.0.0.1, then `/agenda.json` asked R times one after
//! the other, plain, in gzip and in brotli. Prints the first (cold) answer,
//! the warm percentiles, the body sizes and how many bodies were rendered
//! and compressed (from `/metrics`). Each time includes reading the whole
//! body over loopback.
//!
//! `cargo run --release -p server --example national_feed -- [territories] [actions] [requests]`
//! (defaults 100, 500, 200). A measurement, not a test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use sync_core::agenda::{Collection, Edit, Profil, VisibiliteTerritoire};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let territories = args.first().copied().unwrap_or(100);
    let actions = args.get(1).copied().unwrap_or(500);
    let requests = args.get(2).copied().unwrap_or(200);

    let data = tempfile::TempDir::new()?;
    let storage = server::Storage::Sqlite(data.path().to_owned());
    let started = Instant::now();
    for t in 0..territories {
        let profil = Profil {
            nom: format!("Territoire en transition numéro {t}"),
            visibilite: VisibiliteTerritoire::Public,
            ..Profil::default()
        };
        let edits = (0..actions).map(|a| action(t, a)).collect();
        server::create_territory_with(&storage, profil, edits)?;
    }
    println!(
        "{territories} territories of {actions} weekly actions written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let metrics_addr = metrics.local_addr()?;
    let mut config = server::Config::new(data.path());
    config.open = false;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(server::run_with_metrics(listener, Some(metrics), config, async move {
        let _ = stopped.await;
    }));

    println!("| request | first (cold) | warm p50 | warm p99 | warm max | body |");
    println!("|---|---:|---:|---:|---:|---:|");
    for encoding in ["", "gzip", "br"] {
        let (first, size) = get(addr, encoding).await?;
        let mut warm = Vec::with_capacity(requests);
        for _ in 0..requests {
            warm.push(get(addr, encoding).await?.0);
        }
        warm.sort();
        let at = |q: f64| warm[((warm.len() - 1) as f64 * q).round() as usize];
        println!(
            "| `/agenda.json`{} | {} | {} | {} | {} | {size} B |",
            if encoding.is_empty() { String::new() } else { format!(", {encoding}") },
            ms(first),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0)),
        );
    }
    let renders = metric(metrics_addr, "essaim_feed_renders_total").await?;
    let compressions = metric(metrics_addr, "essaim_feed_compressions_total").await?;
    let read = metric(metrics_addr, "essaim_feed_documents_read_total").await?;
    println!("bodies rendered: {renders}; compressed: {compressions}; territories read: {read}");
    let _ = stop.send(());
    relay.await??;
    Ok(())
}

/// A weekly public action of territory `t`, as organisers write them.
fn action(t: usize, a: usize) -> Edit {
    // 2026-01-05 is a Monday: each action starts on its weekday.
    let jour = ["MO", "TU", "WE", "TH", "FR", "SA"][a % 6];
    let debut = format!("2026-01-{:02}T18:30:00", 5 + a % 6);
    Edit::Creer {
        collection: Collection::Actions,
        id: format!("a{a}"),
        valeur: json!({
            "titre": format!("Atelier {a} du territoire {t}"),
            "resume": "Rendez-vous ouvert à toutes et tous : apportez vos outils et votre bonne humeur.",
            "visibilite": "public",
            "publication": "publie",
            "rythme": { "debut": debut, "duree": "PT2H",
                        "regle": { "freq": "WEEKLY", "par_jour": [jour], "jusqu_au": "2027-12-27" } },
        }),
    }
}

/// `GET /agenda.json` with `Accept-Encoding: encoding` (none if empty):
/// the time until the whole response was read, and the body's size.
async fn get(addr: SocketAddr, encoding: &str) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let accept = if encoding.is_empty() { String::new() } else { format!("Accept-Encoding: {encoding}\r\n") };
    let request = format!("GET /agenda.json HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let elapsed = started.elapsed();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]);
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "{head}");
    Ok((elapsed, response.len().saturating_sub(split + 4)))
}

/// A counter from `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> anyhow::Result<f64> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    let line = body.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')));
    Ok(line.ok_or_else(|| anyhow::anyhow!("{name} missing"))?.parse()?)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
