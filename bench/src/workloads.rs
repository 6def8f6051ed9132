//! The workloads, each a function of a server URL and its sizes returning
//! [`Figure`]s. They only use the automerge-repo protocol (through
//! [`client::Client`], and the fan-out's readers through
//! [`LightReader`]), so they run against any compatible server.
//!
//! Timing starts before the first request of a phase and stops when the
//! last client observed the expected heads; a client's counters are read
//! after a short settle (`SETTLE`) so trailing acknowledgements are
//! counted. Nothing here asserts: a workload that cannot finish returns an
//! error saying which step gave up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use client::{Client, ClientOptions, MemoryStore};
use futures_util::StreamExt;
use sync_core::DocumentId;
use sync_core::automerge::{ChangeHash, ROOT, transaction::Transactable};

use crate::light_reader::LightReader;
use crate::servers::own_cpu;
use crate::territoire::Territoire;

/// How long one wait may take before the workload gives up.
const PATIENCE: Duration = Duration::from_secs(60);
/// Quiet time before reading byte counters, for trailing messages.
const SETTLE: Duration = Duration::from_millis(300);
/// Clients connecting at once.
const CONNECTING: usize = 64;
/// Documents the idle connections of the `idle` workload share (each
/// connection on one of them).
pub const IDLE_SHARED_DOCUMENTS: usize = 10;

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, bytes, memory).
    Lower,
    /// Larger is better (throughput).
    Higher,
    /// Context only (sizes).
    Neither,
}

/// One measured value.
#[derive(Debug, Clone)]
pub struct Figure {
    /// What, with its sizes.
    pub name: String,
    /// The value, in `unit`.
    pub value: f64,
    /// Unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
}

/// A figure.
pub fn figure(name: impl Into<String>, value: f64, unit: &'static str, better: Better) -> Figure {
    Figure { name: name.into(), value, unit, better }
}

/// Sizes of the fan-out workload.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// Readers on the document.
    pub clients: usize,
    /// Fixed rates tried in turn (changes per second) until p99 reaches 1 s.
    pub rates: Vec<f64>,
    /// How long each rate is held.
    pub step: Duration,
    /// How long the first rate is held: its latencies and the CPU cost per
    /// delivered change are the table's first rows, and CPU time is read
    /// in 10 ms ticks, so it needs more changes than the other steps.
    pub first_step: Duration,
    /// Changes written back to back in the as-fast-as-possible phase.
    pub burst: usize,
}

/// Fan-out: one writer, `clients` readers of one document; latency from a
/// write until every reader has it.
pub async fn fan_out(url: &str, sizes: &FanOut, server_cpu: Option<&CpuClock<'_>>) -> Result<Vec<Figure>> {
    fan_out_over(url, &[url.to_owned()], sizes, server_cpu).await
}

/// Reads a process's CPU time (user and system) so far.
pub type CpuClock<'a> = dyn Fn() -> Result<Duration> + 'a;

/// Fan-out with the writer on `writer_url` and the readers spread over
/// `reader_urls` in turn (the relays of a cluster).
/// With `server_cpu`, also the server's CPU time per delivered change (a
/// change reaching one reader) during the first rate, and the load
/// generator's beside it.
pub async fn fan_out_over(
    writer_url: &str,
    reader_urls: &[String],
    sizes: &FanOut,
    server_cpu: Option<&CpuClock<'_>>,
) -> Result<Vec<Figure>> {
    let k = sizes.clients;
    let writer = connect(writer_url, ClientOptions::default()).await?;
    let doc = writer.create().await?;
    writer.change(&doc, |tx| tx.put(ROOT, "n", 0_i64).map(|_| ())).await?;
    writer.wait_relay_has(&doc, writer.heads(&doc).await?, PATIENCE).await?;
    // Readers count the writer's changes, each of which adds 1 to `n`:
    // `n` is what a reader has beyond the document's changes now.
    let base = writer.read(&doc, |am| am.get_changes(&[]).len()).await?.context("the writer's document")?;
    anyhow::ensure!(base > 0, "the writer's document has no change");
    let readers = connect_light_readers(reader_urls, k, &doc).await?;
    for reader in &readers {
        reader.more_than(base - 1, PATIENCE).await.context("a reader loading")?;
    }
    let mut figures = Vec::new();
    let mut written = 0;
    let mut sustained = 0.0;
    let mut first = true;
    for &rate in &sizes.rates {
        let step = if first { sizes.first_step } else { sizes.step };
        let count = ((rate * step.as_secs_f64()).ceil() as usize).max(5);
        let cpu_before = match server_cpu {
            Some(cpu) if first => Some((cpu()?, own_cpu()?)),
            _ => None,
        };
        let burst = burst(&writer, &readers, &doc, base, written, count, Some(rate)).await?;
        written += count as u64;
        let held = burst.lost == 0 && burst.p(0.99) < Duration::from_secs(1) && burst.achieved >= rate * 0.9;
        if first {
            first = false;
            figures.push(figure(format!("fan-out K={k}: p50 at {rate}/s"), ms(burst.p(0.5)), "ms", Better::Lower));
            figures.push(figure(format!("fan-out K={k}: p99 at {rate}/s"), ms(burst.p(0.99)), "ms", Better::Lower));
            figures.push(figure(format!("fan-out K={k}: max at {rate}/s"), ms(burst.max()), "ms", Better::Lower));
            figures.extend(bytes_figures(k, &format!("at {rate}/s"), &burst));
            if let (Some(cpu), Some((server_before, own_before))) = (server_cpu, cpu_before) {
                let delivered = ((count - burst.lost) * k).max(1) as f64;
                let per = |spent: Duration| spent.as_secs_f64() * 1e6 / delivered;
                figures.push(figure(
                    format!("fan-out K={k}: server CPU per delivered change at {rate}/s"),
                    per(cpu()?.saturating_sub(server_before)),
                    "µs",
                    Better::Lower,
                ));
                figures.push(figure(
                    format!("fan-out K={k}: load generator CPU per delivered change at {rate}/s"),
                    per(own_cpu()?.saturating_sub(own_before)),
                    "µs",
                    Better::Neither,
                ));
            }
        }
        if !held {
            break;
        }
        sustained = rate;
    }
    figures.push(figure(
        format!("fan-out K={k}: highest rate tried with p99 < 1 s (of {:?})", sizes.rates),
        sustained,
        "changes/s",
        Better::Higher,
    ));
    let fast = burst(&writer, &readers, &doc, base, written, sizes.burst, None).await?;
    figures.push(figure(
        format!("fan-out K={k}: {} changes back to back, delivered to all", sizes.burst),
        fast.throughput,
        "changes/s",
        Better::Higher,
    ));
    figures.push(figure(format!("fan-out K={k}: back to back p99"), ms(fast.p(0.99)), "ms", Better::Lower));
    figures.extend(bytes_figures(k, "back to back", &fast));
    readers.into_iter().for_each(|reader| Arc::into_inner(reader).map_or((), LightReader::close));
    writer.close().await?;
    Ok(figures)
}

/// Bytes a reader received per delivered change, beside the change's own.
fn bytes_figures(k: usize, phase: &str, burst: &Burst) -> [Figure; 2] {
    let (frames, changes) = burst.bytes_per_delivered;
    [
        figure(format!("fan-out K={k}: bytes received per delivered change, {phase}"), frames, "B", Better::Lower),
        figure(format!("fan-out K={k}: the change's own bytes, {phase}"), changes, "B", Better::Neither),
    ]
}

/// What one burst of writes measured.
struct Burst {
    /// Bytes the readers received per change delivered to one of them,
    /// and the changes' own bytes in them (the same unit).
    bytes_per_delivered: (f64, f64),
    /// Per change: until the last reader had it (sorted).
    latencies: Vec<Duration>,
    /// Changes some reader never got within `PATIENCE`.
    lost: usize,
    /// Writes per second the writer achieved.
    achieved: f64,
    /// Changes per second delivered to every reader.
    throughput: f64,
}

impl Burst {
    fn p(&self, q: f64) -> Duration {
        if self.lost > 0 || self.latencies.is_empty() {
            return PATIENCE;
        }
        self.latencies[((self.latencies.len() - 1) as f64 * q).round() as usize]
    }

    fn max(&self) -> Duration {
        self.p(1.0)
    }
}

async fn burst(
    writer: &Client,
    readers: &[Arc<LightReader>],
    doc: &DocumentId,
    base: usize,
    from: u64,
    count: usize,
    rate: Option<f64>,
) -> Result<Burst> {
    let target = from + count as u64;
    let traffic = |readers: &[Arc<LightReader>]| {
        readers.iter().map(|r| r.traffic()).fold((0, 0), |(f, c), (rf, rc)| (f + rf, c + rc))
    };
    let before = traffic(readers);
    let watching: Vec<_> =
        readers.iter().map(|reader| tokio::spawn(arrivals(reader.clone(), base, from, target))).collect();
    let start = Instant::now();
    let mut written = Vec::with_capacity(count);
    for i in 1..=count as u64 {
        if let Some(rate) = rate {
            tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        }
        written.push(Instant::now());
        let n = (from + i) as i64;
        writer.change(doc, move |tx| tx.put(ROOT, "n", n).map(|_| ())).await?;
    }
    let achieved = count as f64 / start.elapsed().as_secs_f64();
    let mut last = vec![None::<Instant>; count];
    for watch in watching {
        let seen = watch.await.context("a reader task")?;
        for (i, at) in seen.into_iter().enumerate() {
            last[i] = Some(last[i].map_or(at, |l: Instant| l.max(at)));
        }
        // A reader that gave up early leaves the rest `None` only if no
        // other reader filled them: count losses per reader instead.
    }
    let mut lost = 0;
    let mut latencies = Vec::with_capacity(count);
    for (i, at) in last.iter().enumerate() {
        match at {
            Some(at) => latencies.push(at.saturating_duration_since(written[i])),
            None => lost += 1,
        }
    }
    latencies.sort();
    let end = last.iter().flatten().max().copied().unwrap_or(start);
    let throughput = (count - lost) as f64 / end.saturating_duration_since(start).as_secs_f64().max(1e-6);
    let after = traffic(readers);
    let delivered = ((count - lost) * readers.len()).max(1) as f64;
    let bytes_per_delivered = ((after.0 - before.0) as f64 / delivered, (after.1 - before.1) as f64 / delivered);
    Ok(Burst { bytes_per_delivered, latencies, lost, achieved, throughput })
}

/// When a reader saw each change of `(from, target]` (`n` is the count of
/// changes it has beyond `base`); shorter if it gave up (then the burst
/// counts the rest as lost).
async fn arrivals(reader: Arc<LightReader>, base: usize, from: u64, target: u64) -> Vec<Instant> {
    let mut seen = from;
    let mut at = Vec::new();
    while seen < target {
        let Ok(changes) = reader.more_than(base + seen as usize, PATIENCE).await else { break };
        let n = (changes - base) as u64;
        let now = Instant::now();
        at.extend((seen..n.min(target)).map(|_| now));
        seen = n;
    }
    at
}

/// `count` light readers of `doc`, reader `i` on `urls[i % urls.len()]`,
/// `CONNECTING` at a time.
async fn connect_light_readers(urls: &[String], count: usize, doc: &DocumentId) -> Result<Vec<Arc<LightReader>>> {
    anyhow::ensure!(!urls.is_empty(), "no server to connect to");
    let connecting =
        (0..count).map(|i| LightReader::connect(&urls[i % urls.len()], format!("lecteur-{i}"), doc.clone()));
    let readers: Vec<Result<LightReader>> = futures_util::stream::iter(connecting).buffered(CONNECTING).collect().await;
    readers.into_iter().map(|r| r.map(Arc::new)).collect()
}

/// Many documents: one client uploads `count` documents of three changes,
/// a fresh client fetches them all.
pub async fn documents(url: &str, count: usize) -> Result<Vec<Figure>> {
    let started = Instant::now();
    let uploaded = upload_documents(url, count).await?;
    let up = started.elapsed();
    let (down, _) = fetch_documents(url, &uploaded).await?;
    Ok(vec![
        figure(format!("{count} documents: upload"), count as f64 / up.as_secs_f64(), "docs/s", Better::Higher),
        figure(
            format!("{count} documents: fresh client fetches all"),
            count as f64 / down.as_secs_f64(),
            "docs/s",
            Better::Higher,
        ),
    ])
}

/// Creates `count` small documents and waits until the server has them
/// all; returns their ids and heads. Documents go up in windows of
/// `WINDOW`, each acknowledged before the next and each through its own
/// connection, as devices would: Essaim's relay serves at most 1,000
/// documents per connection, and refuses a peer that leaves over 1,024
/// frames unread.
pub async fn upload_documents(url: &str, count: usize) -> Result<Vec<(DocumentId, Vec<ChangeHash>)>> {
    const WINDOW: usize = 500;
    let mut uploaded = Vec::with_capacity(count);
    for window in (0..count).collect::<Vec<_>>().chunks(WINDOW) {
        let client = connect(url, ClientOptions::default()).await?;
        let mut docs = Vec::with_capacity(window.len());
        for &i in window {
            let doc = client.create().await?;
            client.change(&doc, move |tx| tx.put(ROOT, "titre", format!("Document {i}")).map(|_| ())).await?;
            client.change(&doc, move |tx| tx.put(ROOT, "n", i as i64).map(|_| ())).await?;
            docs.push(doc);
        }
        for doc in docs {
            let heads = client.heads(&doc).await?;
            client
                .wait_relay_has(&doc, heads.clone(), PATIENCE)
                .await
                .context("the server acknowledging a document")?;
            uploaded.push((doc, heads));
        }
        client.close().await?;
    }
    Ok(uploaded)
}

/// A fresh client opens every document; returns the time until it has
/// them all and until it had the first.
pub async fn fetch_documents(url: &str, docs: &[(DocumentId, Vec<ChangeHash>)]) -> Result<(Duration, Duration)> {
    let started = Instant::now();
    let open = docs.iter().map(|(doc, _)| doc.clone()).collect();
    let client = connect(url, ClientOptions { open, ..ClientOptions::default() }).await?;
    let mut first = None;
    for (doc, heads) in docs {
        let heads = heads.clone();
        client.wait_until(doc, PATIENCE, move |am| am.get_heads() == heads).await.context("fetching a document")?;
        first.get_or_insert(started.elapsed());
    }
    let all = started.elapsed();
    client.close().await?;
    Ok((all, first.unwrap_or(all)))
}

/// Idle connections: memory of `server` empty, after `documents`
/// documents were uploaded, and with `connections` clients each synced
/// with one of them (ten shared by all, or one each); then, if
/// `stay_idle` is given, once the connections stayed idle that long
/// (Essaim's relay unloads a document nobody used for 60 s, even while
/// peers hold it open; the reference keeps every document it loaded).
pub async fn idle(
    server: &crate::servers::Server,
    connections: usize,
    documents: usize,
    stay_idle: Option<Duration>,
) -> Result<Vec<Figure>> {
    let empty = server.rss()?;
    let uploaded = upload_documents(&server.url, documents).await?;
    let before = server.rss()?;
    let clients = hold_idle(&server.url, connections, &uploaded).await?;
    let after = server.rss()?;
    let held = clients.len();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let per_connection = |from: u64, to: u64| to.saturating_sub(from) as f64 / held.max(1) as f64 / 1024.0;
    let what = if documents < connections { "idle" } else { "idle, own documents" };
    let mut figures = vec![
        figure(format!("{what}: connections held"), held as f64, "conns", Better::Higher),
        figure(format!("{what}: server memory empty"), mib(empty), "MiB", Better::Lower),
        figure(format!("{what}: server memory before"), mib(before), "MiB", Better::Lower),
        figure(format!("{what}: server memory with {held} connections"), mib(after), "MiB", Better::Lower),
        figure(format!("{what}: memory per connection"), per_connection(before, after), "KiB", Better::Lower),
        figure(
            format!("{what}: memory per connection with its share of the documents"),
            per_connection(empty, after),
            "KiB",
            Better::Lower,
        ),
    ];
    if let Some(stay_idle) = stay_idle {
        tokio::time::sleep(stay_idle).await;
        let settled = server.rss()?;
        let seconds = number(stay_idle.as_secs_f64());
        figures.extend([
            figure(format!("{what}: server memory after {seconds} s idle"), mib(settled), "MiB", Better::Lower),
            figure(
                format!("{what}: memory per connection with its share of the documents, after {seconds} s idle"),
                per_connection(empty, settled),
                "KiB",
                Better::Lower,
            ),
        ]);
    }
    close_all(clients).await;
    Ok(figures)
}

/// Uploads a territory to the server and waits until it has it whole.
pub async fn seed(url: &str, territoire: &Territoire) -> Result<()> {
    let heads = territoire.am.get_heads();
    let doc = &territoire.doc;
    let seed =
        connect(url, ClientOptions { store: Some(territoire.store()), open: vec![doc.clone()], ..Default::default() })
            .await?;
    seed.wait_relay_has(doc, heads, PATIENCE).await.context("seeding the territory")?;
    seed.close().await?;
    Ok(())
}

/// Catch-up: a fresh client fetches a big territory; then a client that
/// has it reconnects with nothing new.
pub async fn catch_up(url: &str, territoire: &Territoire) -> Result<Vec<Figure>> {
    let doc = &territoire.doc;
    let heads = territoire.am.get_heads();
    let changes = territoire.am.get_changes(&[]).len();
    let saved = territoire.am.save().len() as f64;
    seed(url, territoire).await?;

    let started = Instant::now();
    let fresh = connect(url, ClientOptions { open: vec![doc.clone()], ..ClientOptions::default() }).await?;
    let expected = heads.clone();
    fresh.wait_until(doc, PATIENCE, move |am| am.get_heads() == expected).await.context("the first download")?;
    let took = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let first = fresh.traffic();
    let store = fresh.close().await?;

    let again = reconnect(url, doc, store).await?;
    let name = |what: &str| format!("catch-up {changes} changes: {what}");
    Ok(vec![
        figure(name("saved document (reference size)"), saved, "B", Better::Neither),
        figure(name("first download time"), ms(took), "ms", Better::Lower),
        figure(name("first download bytes in"), first.bytes_in as f64, "B", Better::Lower),
        figure(name("first download bytes out"), first.bytes_out as f64, "B", Better::Lower),
        figure(name("first download bytes in / saved size"), first.bytes_in as f64 / saved, "×", Better::Lower),
        figure(
            name("first download messages in/out"),
            (first.messages_in + first.messages_out) as f64,
            "msgs",
            Better::Lower,
        ),
        figure(name("reconnect, nothing new: bytes in"), again.bytes_in as f64, "B", Better::Lower),
        figure(name("reconnect, nothing new: bytes out"), again.bytes_out as f64, "B", Better::Lower),
    ])
}

async fn reconnect(url: &str, doc: &DocumentId, store: MemoryStore) -> Result<client::TrafficSnapshot> {
    let client =
        connect(url, ClientOptions { store: Some(store), open: vec![doc.clone()], ..Default::default() }).await?;
    let doc = doc.clone();
    client
        .wait_for("the server's answer on reconnection", PATIENCE, move |view| {
            let ours = view.repo.document(&doc)?.get_heads();
            (view.observed.relay_heads.get(&doc)? == &ours).then_some(())
        })
        .await?;
    tokio::time::sleep(SETTLE).await;
    let traffic = client.traffic();
    client.close().await?;
    Ok(traffic)
}

/// Idle connections: `count` clients join and sync one of the `shared`
/// documents each (from [`upload_documents`]), and stay connected; the
/// caller measures while it holds them.
pub async fn hold_idle(url: &str, count: usize, shared: &[(DocumentId, Vec<ChangeHash>)]) -> Result<Vec<Arc<Client>>> {
    let clients = connect_many(url, count, |i| vec![shared[i % shared.len()].0.clone()]).await?;
    for (i, client) in clients.iter().enumerate() {
        let (doc, heads) = shared[i % shared.len()].clone();
        client.wait_until(&doc, PATIENCE, move |am| am.get_heads() == heads).await.context("an idle client syncing")?;
    }
    Ok(clients)
}

/// Time until a server answers a join, then until a client has `doc`.
pub async fn first_document(url: &str, doc: &DocumentId, heads: &[ChangeHash]) -> Result<(Instant, Instant)> {
    let give_up = Instant::now() + PATIENCE;
    let client = loop {
        match Client::connect(url, ClientOptions::default()).await {
            Ok(client) if client.wait_joined(PATIENCE).await.is_ok() => break client,
            _ if Instant::now() < give_up => tokio::time::sleep(Duration::from_millis(5)).await,
            _ => anyhow::bail!("the server did not answer a join within {PATIENCE:?}"),
        }
    };
    let joined = Instant::now();
    client.open(doc).await?;
    let heads = heads.to_vec();
    client.wait_until(doc, PATIENCE, move |am| am.get_heads() == heads).await.context("the first document")?;
    let served = Instant::now();
    client.close().await?;
    Ok((joined, served))
}

async fn connect(url: &str, options: ClientOptions) -> Result<Client> {
    let client = Client::connect(url, options).await?;
    client.wait_joined(PATIENCE).await?;
    Ok(client)
}

/// Connects `count` clients, `CONNECTING` at a time; client `i` opens
/// `open(i)`.
pub async fn connect_many(
    url: &str,
    count: usize,
    open: impl Fn(usize) -> Vec<DocumentId>,
) -> Result<Vec<Arc<Client>>> {
    connect_spread(&[url.to_owned()], count, open).await
}

/// [`connect_many`], client `i` to `urls[i % urls.len()]`.
pub async fn connect_spread(
    urls: &[String],
    count: usize,
    open: impl Fn(usize) -> Vec<DocumentId>,
) -> Result<Vec<Arc<Client>>> {
    anyhow::ensure!(!urls.is_empty(), "no server to connect to");
    let connecting =
        (0..count).map(|i| connect(&urls[i % urls.len()], ClientOptions { open: open(i), ..ClientOptions::default() }));
    let clients: Vec<Result<Client>> = futures_util::stream::iter(connecting).buffered(CONNECTING).collect().await;
    clients.into_iter().map(|c| c.map(Arc::new)).collect()
}

/// Closes every client, `CONNECTING` at a time.
pub async fn close_all(clients: Vec<Arc<Client>>) {
    let closing = clients.into_iter().filter_map(Arc::into_inner).map(Client::close);
    let _: Vec<_> = futures_util::stream::iter(closing).buffer_unordered(CONNECTING).collect().await;
}

/// A figure as the tables print it.
pub fn number(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
