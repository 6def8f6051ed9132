//! `essaim-bench`: runs Essaim's workloads against its relay and the
//! reference JavaScript sync server in the same run, on the same machine,
//! and prints one table with both columns and Essaim's advantage.
//!
//! `essaim-bench compare` starts both servers itself (each workload on a
//! fresh data directory); `essaim-bench run --url ws://…/sync <workload>`
//! runs one workload against any automerge-repo websocket server.
//! `--smoke` shrinks every size so the whole comparison takes seconds; the
//! test command runs it so the benchmarks cannot rot.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bench::servers::{self, Kind, Programs, Server};
use bench::territoire;
use bench::workloads::{self, Better, CpuClock, FanOut, Figure, figure, number};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(about = "Essaim's load generator: Essaim's relay against the reference JavaScript sync server")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts both servers and runs the chosen workloads against each.
    Compare {
        #[command(flatten)]
        sizes: Sizes,
        /// Workloads to run (default: all).
        #[arg(long, value_delimiter = ',')]
        only: Vec<Workload>,
    },
    /// The cluster mode: one relay on SQLite, one on PostgreSQL, three on
    /// PostgreSQL and NATS, the same workloads in one run (needs the relay
    /// built with `--features cluster`; PostgreSQL and NATS running on
    /// their default ports, or installed so that private ones start).
    Cluster {
        /// Tiny sizes (a smoke test, seconds).
        #[arg(long)]
        smoke: bool,
    },
    /// Runs one workload against a server that is already running.
    Run {
        /// The server's websocket URL, say ws://127.0.0.1:3030/sync.
        #[arg(long)]
        url: String,
        /// Which workload (idle and cold start need `compare`: they read
        /// the server's memory or restart it).
        workload: Workload,
        #[command(flatten)]
        sizes: Sizes,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    FanOut,
    Documents,
    CatchUp,
    Idle,
    IdleOwnDocuments,
    ColdStart,
}

#[derive(clap::Args, Clone)]
struct Sizes {
    /// Tiny sizes for every workload (a smoke test, seconds).
    #[arg(long)]
    smoke: bool,
    /// Fan-out: readers on the document, one run per value.
    #[arg(long, value_delimiter = ',', default_value = "50,500")]
    clients: Vec<usize>,
    /// Fan-out: fixed rates tried in turn (changes/s) until p99 reaches 1 s.
    #[arg(long, value_delimiter = ',', default_value = "10,20,50,100,200,500,1000,2000,5000")]
    rates: Vec<f64>,
    /// Fan-out: seconds each rate is held.
    #[arg(long, default_value_t = 3.0)]
    step_seconds: f64,
    /// Fan-out: seconds the first rate is held (its latencies and the CPU
    /// cost per delivered change).
    #[arg(long, default_value_t = 10.0)]
    cost_seconds: f64,
    /// Fan-out: changes written back to back.
    #[arg(long, default_value_t = 500)]
    burst: usize,
    /// Many documents: how many.
    #[arg(long, default_value_t = 1000)]
    documents: usize,
    /// Catch-up: changes in the territory document.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
    /// Idle: connections held (on ten shared documents; in
    /// `idle-own-documents`, each on its own).
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Idle on own documents: seconds the connections then stay idle
    /// before the memory is read again (the relay unloads a document
    /// nobody used for 60 s).
    #[arg(long, default_value_t = 70.0)]
    idle_seconds: f64,
    /// Cold start: documents in the data directory.
    #[arg(long, default_value_t = 10_000)]
    cold_documents: usize,
}

impl Sizes {
    fn effective(&self) -> Sizes {
        if !self.smoke {
            return self.clone();
        }
        Sizes {
            smoke: true,
            clients: vec![5],
            rates: vec![20.0, 40.0],
            step_seconds: 0.5,
            cost_seconds: 0.5,
            burst: 20,
            documents: 20,
            changes: 300,
            connections: 30,
            idle_seconds: 0.5,
            cold_documents: 30,
        }
    }
}

const ALL: [Workload; 6] = [
    Workload::FanOut,
    Workload::Documents,
    Workload::CatchUp,
    Workload::Idle,
    Workload::IdleOwnDocuments,
    Workload::ColdStart,
];

#[tokio::main]
async fn main() -> Result<()> {
    match Args::parse().command {
        Command::Compare { sizes, only } => {
            let sizes = sizes.effective();
            let chosen = if only.is_empty() { ALL.to_vec() } else { only };
            let programs = Programs::beside_this_binary()?;
            println!("{}", machine());
            println!("| measure | unit | {} | {} | Essaim's advantage |", Kind::Essaim.name(), Kind::Reference.name());
            println!("|---|---|---:|---:|---:|");
            let mut failed = false;
            for workload in chosen {
                // A workload that fails on one server is reported and the
                // others still run; the exit status says something failed.
                let ours = measure(Kind::Essaim, workload, &sizes, &programs).await;
                let theirs = measure(Kind::Reference, workload, &sizes, &programs).await;
                print_rows(ours.as_deref().unwrap_or_default(), theirs.as_deref().unwrap_or_default());
                for (kind, result) in [(Kind::Essaim, &ours), (Kind::Reference, &theirs)] {
                    if let Err(error) = result {
                        failed = true;
                        println!("| {}: FAILED on {}: {error:#} | | | | |", workload_name(workload), kind.name());
                    }
                }
            }
            if failed {
                anyhow::bail!("some workloads failed (see the table)");
            }
        }
        Command::Cluster { smoke } => {
            let sizes =
                if smoke { bench::cluster::ClusterSizes::smoke() } else { bench::cluster::ClusterSizes::full() };
            println!("{}", machine());
            if !bench::cluster::compare(&sizes, &Programs::beside_this_binary()?).await? {
                anyhow::bail!("some measures failed (see the table)");
            }
        }
        Command::Run { url, workload, sizes } => {
            let sizes = sizes.effective();
            for figure in run(&url, workload, &sizes, None).await? {
                println!("{}\t{}\t{}", figure.name, number(figure.value), figure.unit);
            }
        }
    }
    Ok(())
}

/// Runs a workload on a fresh server of `kind`, with the CPU time of the
/// server and of this process over the workload.
async fn measure(kind: Kind, workload: Workload, sizes: &Sizes, programs: &Programs) -> Result<Vec<Figure>> {
    eprintln!("… {} against {}", workload_name(workload), kind.name());
    let data = tempfile::tempdir().context("temp dir")?;
    let server = Server::start(kind, data.path(), programs)?;
    let (cpu_server, cpu_self) = (server.cpu()?, servers::own_cpu()?);
    let mut figures = match workload {
        Workload::Idle => workloads::idle(&server, sizes.connections, workloads::IDLE_SHARED_DOCUMENTS, None).await?,
        Workload::IdleOwnDocuments => {
            let stay_idle = Duration::from_secs_f64(sizes.idle_seconds);
            workloads::idle(&server, sizes.connections, sizes.connections, Some(stay_idle)).await?
        }
        Workload::ColdStart => {
            let (figures, restarted) = cold_start(server, data.path(), programs, sizes.cold_documents).await?;
            restarted.stop()?;
            return Ok(figures);
        }
        _ => run(&server.url, workload, sizes, Some(&|| server.cpu())).await?,
    };
    let name = workload_name(workload);
    figures.push(figure(
        format!("{name}: server CPU time"),
        (server.cpu()? - cpu_server).as_secs_f64(),
        "s",
        Better::Lower,
    ));
    figures.push(figure(
        format!("{name}: load generator CPU time (same 2 cores)"),
        (servers::own_cpu()? - cpu_self).as_secs_f64(),
        "s",
        Better::Neither,
    ));
    server.stop()?;
    Ok(figures)
}

async fn run(url: &str, workload: Workload, sizes: &Sizes, server_cpu: Option<&CpuClock<'_>>) -> Result<Vec<Figure>> {
    match workload {
        Workload::FanOut => {
            let mut figures = Vec::new();
            for &clients in &sizes.clients {
                let fan_out = FanOut {
                    clients,
                    rates: sizes.rates.clone(),
                    step: Duration::from_secs_f64(sizes.step_seconds),
                    first_step: Duration::from_secs_f64(sizes.step_seconds.max(sizes.cost_seconds)),
                    burst: sizes.burst,
                };
                figures.extend(workloads::fan_out(url, &fan_out, server_cpu).await?);
            }
            Ok(figures)
        }
        Workload::Documents => workloads::documents(url, sizes.documents).await,
        Workload::CatchUp => {
            let territoire = territoire::realiste(sizes.changes, 2026);
            workloads::catch_up(url, &territoire).await
        }
        Workload::Idle | Workload::IdleOwnDocuments | Workload::ColdStart => {
            anyhow::bail!("idle and cold start read the server's memory or restart it: use `compare`")
        }
    }
}

async fn cold_start(
    server: Server,
    data: &std::path::Path,
    programs: &Programs,
    count: usize,
) -> Result<(Vec<Figure>, Server)> {
    let docs = workloads::upload_documents(&server.url, count).await?;
    let kind = server.kind;
    if kind == Kind::Reference {
        // Its file storage saves each document after a 100 ms debounce and
        // has no flush on exit: give it time to write everything.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    server.stop()?;
    let started = Instant::now();
    let restarted = Server::start(kind, data, programs)?;
    let (doc, heads) = &docs[docs.len() / 2];
    let (joined, served) = workloads::first_document(&restarted.url, doc, heads).await?;
    let rss = restarted.rss()?;
    let figures = vec![
        figure(
            format!("cold start on {count} documents: until a join is answered"),
            joined.duration_since(started).as_secs_f64() * 1000.0,
            "ms",
            Better::Lower,
        ),
        figure(
            format!("cold start on {count} documents: until the first document is served"),
            served.duration_since(started).as_secs_f64() * 1000.0,
            "ms",
            Better::Lower,
        ),
        figure(format!("cold start on {count} documents: memory then"), mib(rss), "MiB", Better::Lower),
    ];
    Ok((figures, restarted))
}

/// Table rows of one workload: each figure with ours and the reference's
/// of the same name ("—" where one side has none, or failed).
fn print_rows(ours: &[Figure], theirs: &[Figure]) {
    let mut names: Vec<&Figure> = ours.iter().collect();
    names.extend(theirs.iter().filter(|t| !ours.iter().any(|o| o.name == t.name)));
    for figure in names {
        let value = |side: &[Figure]| side.iter().find(|f| f.name == figure.name).map(|f| f.value);
        let (mine, other) = (value(ours), value(theirs));
        let text = |v: Option<f64>| v.map(number).unwrap_or_else(|| "—".into());
        let advantage = match (figure.better, mine, other) {
            (Better::Lower, Some(m), Some(t)) if m > 0.0 => format!("{}×", number(t / m)),
            (Better::Higher, Some(m), Some(t)) if t > 0.0 => format!("{}×", number(m / t)),
            _ => String::new(),
        };
        println!("| {} | {} | {} | {} | {} |", figure.name, figure.unit, text(mine), text(other), advantage);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn workload_name(w: Workload) -> &'static str {
    match w {
        Workload::FanOut => "fan-out",
        Workload::Documents => "documents",
        Workload::CatchUp => "catch-up",
        Workload::Idle => "idle",
        Workload::IdleOwnDocuments => "idle, own documents",
        Workload::ColdStart => "cold start",
    }
}

/// What the figures were measured on.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_default();
    format!("machine: {cpus} cores ({model}); servers and load generator share them")
}
