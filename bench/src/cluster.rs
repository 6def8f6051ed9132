//! The cluster benchmark (issue 19): the same workloads on one relay with
//! SQLite, one relay with PostgreSQL, and three relays sharing PostgreSQL
//! and announcing their commits on NATS, in one run, on the real services
//! of [`crate::services`] (already running, or started privately).
//!
//! Rows: fan-out latency with 50 readers at 10 changes/s (the cluster's
//! readers spread over its three relays, the writer on the first), the
//! 1,000-document upload, memory per idle connection, and, for the cluster,
//! how soon another relay answers a device's first sync after the relay it
//! used was killed (with the 10,000-change territory). It measures; it
//! asserts nothing.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::servers::{Kind, Programs, Server};
use crate::services;
use crate::workloads::{self, FanOut, Figure};

/// What the cluster benchmark runs.
#[derive(Debug, Clone)]
pub struct ClusterSizes {
    /// Fan-out readers.
    pub readers: usize,
    /// Seconds the 10 changes/s are held.
    pub seconds: f64,
    /// Documents uploaded.
    pub documents: usize,
    /// Idle connections held.
    pub connections: usize,
    /// Changes in the territory of the failover row.
    pub changes: usize,
}

impl ClusterSizes {
    /// The sizes.
    pub fn full() -> ClusterSizes {
        ClusterSizes { readers: 50, seconds: 5.0, documents: 1000, connections: 10_000, changes: 10_000 }
    }

    /// Seconds, for the test command.
    pub fn smoke() -> ClusterSizes {
        ClusterSizes { readers: 6, seconds: 1.0, documents: 20, connections: 30, changes: 300 }
    }
}

/// One of the three set-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Sqlite,
    Postgres,
    Cluster,
}

impl Setup {
    const ALL: [Setup; 3] = [Setup::Sqlite, Setup::Postgres, Setup::Cluster];

    fn name(self) -> &'static str {
        match self {
            Setup::Sqlite => "SQLite, 1 relay",
            Setup::Postgres => "PostgreSQL, 1 relay",
            Setup::Cluster => "PostgreSQL + NATS, 3 relays",
        }
    }
}

/// Relays of one set-up, each on its own data directory.
struct Relays {
    servers: Vec<Server>,
    _data: Vec<tempfile::TempDir>,
}

impl Relays {
    fn start(setup: Setup, programs: &Programs, tag: &str) -> Result<Relays> {
        let shared = match setup {
            Setup::Sqlite => Vec::new(),
            Setup::Postgres => vec!["--storage".to_owned(), services::postgres().fresh_schema(tag)],
            Setup::Cluster => vec![
                "--storage".to_owned(),
                services::postgres().fresh_schema(tag),
                "--nats".to_owned(),
                services::nats().url(),
                "--cluster-prefix".to_owned(),
                services::nats().fresh_prefix(tag),
            ],
        };
        let count = if setup == Setup::Cluster { 3 } else { 1 };
        let (mut servers, mut data) = (Vec::new(), Vec::new());
        for n in 0..count {
            let dir = tempfile::tempdir().context("temp dir")?;
            let mut flags = shared.clone();
            flags.extend(["--relay-name".to_owned(), format!("r{n}")]);
            let server = Server::start_with(Kind::Essaim, dir.path(), programs, &flags).with_context(|| {
                format!("starting a relay ({}): is essaim built with `--features cluster`?", setup.name())
            })?;
            servers.push(server);
            data.push(dir);
        }
        Ok(Relays { servers, _data: data })
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }

    fn stop(self) -> Result<()> {
        for server in self.servers {
            server.stop()?;
        }
        Ok(())
    }
}

/// Runs every row on the three set-ups and prints the table; `false` if
/// some measure failed (said in the table).
pub async fn compare(sizes: &ClusterSizes, programs: &Programs) -> Result<bool> {
    let mut rows: Vec<(String, &'static str, [Option<f64>; 3])> = Vec::new();
    let mut failed = Vec::new();
    let put = |rows: &mut Vec<(String, &'static str, [Option<f64>; 3])>, column: usize, figure: &Figure| match rows
        .iter_mut()
        .find(|(name, _, _)| *name == figure.name)
    {
        Some(row) => row.2[column] = Some(figure.value),
        None => {
            let mut values = [None; 3];
            values[column] = Some(figure.value);
            rows.push((figure.name.clone(), figure.unit, values));
        }
    };
    for (column, setup) in Setup::ALL.into_iter().enumerate() {
        eprintln!("… cluster benchmark: {}", setup.name());
        match measure(setup, sizes, programs).await {
            Ok(figures) => figures.iter().for_each(|f| put(&mut rows, column, f)),
            Err(error) => failed.push(format!("{}: {error:#}", setup.name())),
        }
    }
    println!("| measure | unit | {} | {} | {} |", Setup::ALL[0].name(), Setup::ALL[1].name(), Setup::ALL[2].name());
    println!("|---|---|---:|---:|---:|");
    for (name, unit, values) in &rows {
        let cell = |v: &Option<f64>| v.map(workloads::number).unwrap_or_else(|| "–".to_owned());
        println!("| {name} | {unit} | {} | {} | {} |", cell(&values[0]), cell(&values[1]), cell(&values[2]));
    }
    for failure in &failed {
        println!("| FAILED: {failure} | | | | |");
    }
    Ok(failed.is_empty())
}

async fn measure(setup: Setup, sizes: &ClusterSizes, programs: &Programs) -> Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let tag = format!("bench{}", setup as u8);
    // Fan-out at 10 changes/s: the writer on the first relay, the readers
    // spread over all.
    let relays = Relays::start(setup, programs, &format!("{tag}f"))?;
    let urls = relays.urls();
    let step = Duration::from_secs_f64(sizes.seconds);
    let fan_out = FanOut { clients: sizes.readers, rates: vec![10.0], step, first_step: step, burst: 10 };
    let measured = workloads::fan_out_over(&urls[0], &urls, &fan_out, None).await.context("fan-out")?;
    figures.extend(measured.into_iter().filter(|f| f.name.contains("at 10/s") && !f.name.contains("max")));
    relays.stop()?;
    if setup != Setup::Cluster {
        // Uploads and idle memory: one relay against one relay.
        let relays = Relays::start(setup, programs, &format!("{tag}d"))?;
        let uploads = workloads::documents(&relays.urls()[0], sizes.documents).await.context("documents")?;
        figures.extend(uploads.into_iter().filter(|f| f.name.contains("upload")));
        relays.stop()?;
        let relays = Relays::start(setup, programs, &format!("{tag}i"))?;
        let idle = workloads::idle(&relays.servers[0], sizes.connections, workloads::IDLE_SHARED_DOCUMENTS, None)
            .await
            .context("idle connections")?;
        figures.extend(idle.into_iter().filter(|f| f.name.ends_with("memory per connection")));
        relays.stop()?;
    } else {
        figures.push(failover(sizes, programs, &format!("{tag}k")).await.context("failover")?);
    }
    Ok(figures)
}

/// A device syncs the big territory through the first relay; that relay
/// is killed (SIGKILL); the time until another relay answers the
/// device's first sync with the whole territory.
async fn failover(sizes: &ClusterSizes, programs: &Programs, tag: &str) -> Result<Figure> {
    let mut relays = Relays::start(Setup::Cluster, programs, tag)?;
    let territoire = crate::territoire::realiste(sizes.changes, 2026);
    let heads = territoire.am.get_heads();
    workloads::seed(&relays.servers[0].url, &territoire).await?;
    let first = relays.servers.remove(0);
    let other = relays.servers[0].url.clone();
    let killed = Instant::now();
    first.kill()?;
    let (_, served) = workloads::first_document(&other, &territoire.doc, &heads).await?;
    relays.stop()?;
    Ok(workloads::figure(
        format!("after a relay is killed: another answers the first sync of the {}-change territory", sizes.changes),
        served.duration_since(killed).as_secs_f64() * 1000.0,
        "ms",
        workloads::Better::Lower,
    ))
}
