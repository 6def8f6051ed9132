//! Several real `essaim` processes on one PostgreSQL schema and one NATS
//! prefix (issue 19), on 127.0.0.1: behind HAProxy, with JavaScript and
//! Rust clients on different relays, fifty readers, a relay killed with
//! SIGKILL under load (20 seeds, `ESSAIM_CLUSTER_SEED` replays one), NATS
//! cut for ten seconds and PostgreSQL cut under one relay (both through
//! the shaping proxy's [`Shaper::cut`]).
//!
//! What a relay acknowledged is what a client saw in its heads
//! (`Client::relay_heads`); that must be in PostgreSQL, read back from the
//! schema's `kv` table with `sync_core::load_chunks`.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ChangeHash, ROOT, ReadDoc, ScalarValue, Value};
use sync_core::{DocumentId, StorageKey};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::crash::essaim_binary;
use crate::interop::{Node, no_disconnects, rust_heads};
use crate::services::{self, Haproxy};
use crate::shaper::{Link, Shaper};
use crate::support::{WAIT, forget_relay_addresses, http_get, metric, wait_metric};

/// Where the relays of one test meet: a fresh schema and NATS prefix.
struct Meeting {
    storage: String,
    prefix: String,
}

impl Meeting {
    fn new(tag: &str) -> Meeting {
        Meeting { storage: services::postgres().fresh_schema(tag), prefix: services::nats().fresh_prefix(tag) }
    }

    /// A relay of this meeting on NATS's own address, repairs `repair` apart.
    async fn relay(&self, name: &str, repair: Duration) -> RelayProcess {
        let settings = Settings {
            name: name.to_owned(),
            storage: self.storage.clone(),
            nats: services::nats().url(),
            prefix: self.prefix.clone(),
            repair,
        };
        RelayProcess::start(settings, TempDir::new().expect("temp dir"), "127.0.0.1:0".parse().expect("address")).await
    }

    /// The document as PostgreSQL holds it now.
    async fn stored(&self, doc: &DocumentId) -> Automerge {
        let (storage, doc) = (self.storage.clone(), doc.clone());
        tokio::task::spawn_blocking(move || {
            let mut client = services::postgres().client(&storage);
            let (from, to) = StorageKey::document_range(&doc);
            let rows = client
                .query("SELECT key, value FROM kv WHERE key >= $1 AND key < $2 ORDER BY key", &[&from, &to])
                .expect("read the document's rows");
            let entries =
                rows.iter().filter_map(|row| Some((StorageKey::from_text(row.get(0))?, row.get(1)))).collect();
            sync_core::load_chunks(&doc, entries)
        })
        .await
        .expect("PostgreSQL reader")
    }
}

/// How one relay process is started (kept to restart it).
#[derive(Clone)]
struct Settings {
    name: String,
    storage: String,
    nats: String,
    prefix: String,
    repair: Duration,
}

/// An `essaim serve` process of the cluster, killed when dropped; its log
/// (stdout and stderr, prefixed with its name) is echoed and kept.
struct RelayProcess {
    settings: Settings,
    data: TempDir,
    child: Child,
    addr: SocketAddr,
    metrics: SocketAddr,
    log: Log,
}

impl RelayProcess {
    async fn start(settings: Settings, data: TempDir, listen: SocketAddr) -> RelayProcess {
        let repair = settings.repair.as_millis().to_string();
        let mut child = Command::new(essaim_binary())
            .args(["serve", "--open", "--metrics-listen", "127.0.0.1:0", "--listen", &listen.to_string()])
            .arg("--data")
            .arg(data.path())
            .args(["--storage", &settings.storage, "--nats", &settings.nats, "--cluster-prefix", &settings.prefix])
            .args(["--relay-name", &settings.name, "--repair-interval-ms", &repair])
            .env("NO_COLOR", "1")
            .env("ESSAIM_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn essaim");
        let log = Log::default();
        log.collect(child.stdout.take().expect("piped stdout"), &settings.name);
        log.collect(child.stderr.take().expect("piped stderr"), &settings.name);
        let address = |line: &str| line.split("address=").nth(1)?.split_whitespace().next()?.parse().ok();
        let addr = address(&log.wait_line(&settings.name, "listening", WAIT).await).expect("the relay's address");
        let metrics = address(&log.wait_line(&settings.name, "serving /metrics", WAIT).await).expect("metrics address");
        forget_relay_addresses(&[addr, metrics]);
        RelayProcess { settings, data, child, addr, metrics, log }
    }

    fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    async fn client(&self) -> Client {
        connect(&self.url()).await
    }

    async fn metric(&self, name: &str) -> f64 {
        metric(self.metrics, name).await
    }

    /// SIGKILL: no flush, no goodbye.
    async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Starts it again on the same port, data directory and settings.
    async fn restart(self) -> RelayProcess {
        let RelayProcess { settings, data, addr, .. } = self;
        RelayProcess::start(settings, data, addr).await
    }
}

/// A relay's log lines, and a counter that moves with each.
#[derive(Clone)]
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    count: watch::Sender<usize>,
}

impl Default for Log {
    fn default() -> Log {
        Log { lines: Arc::default(), count: watch::channel(0).0 }
    }
}

impl Log {
    fn collect(&self, pipe: impl AsyncRead + Unpin + Send + 'static, name: &str) {
        let (log, name) = (self.clone(), name.to_owned());
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                println!("essaim {name}: {line}");
                log.lines.lock().expect("log lock").push(line);
                log.count.send_modify(|n| *n += 1);
            }
        });
    }

    /// The first line containing `needle`, waiting for it at most `timeout`.
    async fn wait_line(&self, name: &str, needle: &str, timeout: Duration) -> String {
        let mut count = self.count.subscribe();
        let find = async {
            loop {
                count.borrow_and_update();
                if let Some(line) = self.lines.lock().expect("log lock").iter().find(|l| l.contains(needle)) {
                    return line.clone();
                }
                if count.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, find).await.unwrap_or_else(|_| panic!("relay {name} never logged {needle:?}"))
    }
}

async fn connect(url: &str) -> Client {
    tokio::time::timeout(WAIT, Client::connect(url, ClientOptions::default()))
        .await
        .expect("connects in time")
        .expect("client connects")
}

/// Waits for a client's condition, with a timeout of the test's own around
/// the client's (see `interop::bounded`); `false` if it did not hold.
async fn holds(wait: impl std::future::Future<Output = Result<(), client::ClientError>>, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout + Duration::from_secs(1), wait).await, Ok(Ok(())))
}

/// A new document created through `client`, once its relay has it.
async fn new_document(client: &Client) -> DocumentId {
    let doc = client.create().await.expect("create");
    client.change(&doc, |tx| tx.put(ROOT, "titre", "Nettoyage du parc").map(drop)).await.expect("change");
    let heads = client.heads(&doc).await.expect("heads");
    assert!(holds(client.wait_relay_has(&doc, heads, WAIT), WAIT).await, "the relay never stored the new document");
    doc
}

/// Opens `doc` on `client` and waits until it has `heads`.
async fn open_at(client: &Client, doc: &DocumentId, heads: Vec<ChangeHash>) {
    client.open(doc).await.expect("open");
    let has = move |am: &Automerge| heads.iter().all(|h| am.get_change_by_hash(h).is_some());
    assert!(holds(client.wait_until(doc, WAIT, has), WAIT).await, "the client never got the document");
}

/// The writer's counter `n`, if set.
fn counter(am: &Automerge) -> Option<i64> {
    match am.get(ROOT, "n").ok().flatten()? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Int(n) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

/// When each of a writer's changes was made (by its counter value).
type Sent = Arc<Mutex<Vec<Instant>>>;

/// Writes `n = 0, 1, 2… count - 1` into `doc`, one every `every`, and
/// records when each was made.
fn write_counter(
    writer: Arc<Client>,
    doc: DocumentId,
    count: i64,
    every: Duration,
) -> (Sent, tokio::task::JoinHandle<()>) {
    let sent: Sent = Arc::default();
    let times = sent.clone();
    let task = tokio::spawn(async move {
        let mut pace = tokio::time::interval(every);
        for n in 0..count {
            pace.tick().await;
            times.lock().expect("sent lock").push(Instant::now());
            writer.change(&doc, move |tx| tx.put(ROOT, "n", n).map(drop)).await.expect("change");
        }
    });
    (sent, task)
}

/// When a reader saw each counter value, until it saw `last` or `timeout`
/// passed (then what it saw so far). Seeing a value means having every
/// change before it: a change applies only once its dependencies have.
async fn watch_counter(reader: Arc<Client>, doc: DocumentId, last: i64, timeout: Duration) -> Vec<Instant> {
    let mut seen: Vec<Instant> = Vec::new();
    let give_up = Instant::now() + timeout;
    while (seen.len() as i64) <= last {
        let known = seen.len() as i64 - 1;
        let remaining = give_up.saturating_duration_since(Instant::now());
        let doc = doc.clone();
        let next = reader.wait_for("the next counter value", remaining, move |view| {
            view.repo.document(&doc).and_then(counter).filter(|n| *n > known)
        });
        match tokio::time::timeout(remaining + Duration::from_secs(1), next).await {
            Ok(Ok(n)) => seen.extend(std::iter::repeat_n(Instant::now(), (n - known) as usize)),
            _ => break,
        }
    }
    seen
}

/// Latencies from each change's making to a reader seeing it.
fn latencies(sent: &[Instant], seen: &[Instant]) -> Vec<Duration> {
    sent.iter().zip(seen).map(|(sent, seen)| seen.saturating_duration_since(*sent)).collect()
}

/// (p50, p99, max) of `samples`.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    assert!(!samples.is_empty(), "no latency samples");
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    (at(0.50), at(0.99), samples[samples.len() - 1])
}

fn describe(samples: &mut [Duration]) -> String {
    let (p50, p99, max) = percentiles(samples);
    format!("p50 {p50:.0?}, p99 {p99:.0?}, max {max:.0?} over {} samples", samples.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_behind_haproxy_js_on_a_and_rust_on_b_converge() {
    const BURST: usize = 30;
    let meeting = Meeting::new("ha_js_rust");
    let repair = Duration::from_millis(500);
    let (a, b, c) = tokio::join!(meeting.relay("a", repair), meeting.relay("b", repair), meeting.relay("c", repair));
    let proxy = Haproxy::start(&[a.addr, b.addr, c.addr]);
    proxy.wait_backend_states(&["UP", "UP", "UP"]).await;

    // The Rust client on B creates the document; JavaScript finds it on A,
    // which loads it from PostgreSQL.
    let rust = b.client().await;
    let doc = new_document(&rust).await;
    let url = doc.url().to_string();
    let mut node = Node::spawn("client.mjs", &["burst", &a.url(), &url, &BURST.to_string()]);
    let found = node.next_json().await;
    assert_eq!(found["event"], "found", "{found}");

    // Both write at once, each through its own relay: the Rust client
    // starts once the JavaScript client made its first change, and each
    // makes changes before the other's reach it.
    node.say("go");
    let writing = node.next_json().await;
    assert_eq!(writing["event"], "writing", "{writing}");
    for i in 0..BURST {
        rust.change(&doc, move |tx| tx.put(ROOT, format!("rust{i}"), i as i64).map(drop)).await.expect("change");
        tokio::time::sleep(Duration::from_millis(10)).await; // pace, as the JavaScript client does
    }
    let out = no_disconnects(node.result().await);
    let js_heads = crate::interop::heads(&out["final"]);
    let expected = js_heads.clone();
    let converged = rust.wait_until(&doc, WAIT, move |am| rust_heads(am) == expected);
    assert!(
        holds(converged, WAIT).await,
        "the Rust client on B never reached the JavaScript client's heads {js_heads:?}"
    );
    let final_doc = &out["final"]["doc"];
    for i in 0..BURST {
        assert_eq!(final_doc[format!("rust{i}")], i, "{out}");
        assert_eq!(final_doc[format!("js{i}")], i, "{out}");
    }
    let js_keys =
        rust.read(&doc, move |am| (0..BURST).all(|i| am.get(ROOT, format!("js{i}")).ok().flatten().is_some()));
    assert_eq!(js_keys.await.expect("read"), Some(true), "the Rust client has every JavaScript change");
    // The edits were concurrent: some change merges two branches.
    let merges = rust.read(&doc, |am| am.get_changes(&[]).iter().filter(|c| c.deps().len() > 1).count());
    let merges = merges.await.expect("read").expect("loaded");
    println!("JavaScript on A, Rust on B: converged with {merges} merge changes");
    assert!(merges > 0, "the two bursts never overlapped: nothing was concurrent");

    // A third client through HAProxy gets the same document, and so does
    // PostgreSQL.
    let through_proxy = connect(&format!("ws://{}/sync", proxy.addr())).await;
    let heads = rust.heads(&doc).await.expect("heads");
    open_at(&through_proxy, &doc, heads.clone()).await;
    let stored = meeting.stored(&doc).await;
    assert!(heads.iter().all(|h| stored.get_change_by_hash(h).is_some()), "PostgreSQL lacks the final heads");
    assert!(a.metric("essaim_cluster_announcements_applied_total").await >= 1.0);
    assert!(b.metric("essaim_cluster_announcements_applied_total").await >= 1.0);
}

/// A writer on `relays[0]` makes `changes` changes, one every `every`,
/// while `readers` readers spread round robin over `relays` watch them:
/// every reader must see every change. The latencies of all (change,
/// reader) pairs.
async fn fan_out(relays: &[&RelayProcess], readers: usize, changes: i64, every: Duration) -> Vec<Duration> {
    let writer = Arc::new(relays[0].client().await);
    let doc = new_document(&writer).await;
    let heads = writer.heads(&doc).await.expect("heads");
    let mut clients = Vec::new();
    for i in 0..readers {
        clients
            .push((relays[i % relays.len()].settings.name.clone(), Arc::new(relays[i % relays.len()].client().await)));
    }
    futures_util::future::join_all(clients.iter().map(|(_, reader)| open_at(reader, &doc, heads.clone()))).await;
    let timeout = every * changes as u32 + WAIT;
    let watchers: Vec<_> = clients
        .iter()
        .map(|(_, reader)| tokio::spawn(watch_counter(reader.clone(), doc.clone(), changes - 1, timeout)))
        .collect();
    let (sent, writing) = write_counter(writer.clone(), doc.clone(), changes, every);
    writing.await.expect("writer");
    let sent = sent.lock().expect("sent lock").clone();
    let mut all = Vec::new();
    for ((relay, _), watcher) in clients.iter().zip(watchers) {
        let seen = watcher.await.expect("reader");
        assert_eq!(seen.len(), changes as usize, "a reader on relay {relay} saw {} of {changes} changes", seen.len());
        all.extend(latencies(&sent, &seen));
    }
    let heads = writer.heads(&doc).await.expect("heads");
    for (relay, reader) in &clients {
        assert_eq!(
            reader.heads(&doc).await.expect("heads"),
            heads,
            "a reader on relay {relay} differs from the writer"
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_readers_over_three_relays_see_a_writers_changes() {
    const READERS: usize = 50;
    const CHANGES: i64 = 30;
    let every = Duration::from_millis(100);
    let repair = Duration::from_millis(1000);
    let meeting = Meeting::new("ha_readers");
    let (a, b, c) = tokio::join!(meeting.relay("a", repair), meeting.relay("b", repair), meeting.relay("c", repair));
    let mut three = fan_out(&[&a, &b, &c], READERS, CHANGES, every).await;
    let received = b.metric("essaim_cluster_announcements_applied_total").await
        + c.metric("essaim_cluster_announcements_applied_total").await;
    drop((a, b, c));

    // The same workload on one relay alone, in the same run.
    let alone = Meeting::new("ha_readers_alone");
    let relay = alone.relay("alone", repair).await;
    let mut one = fan_out(&[&relay], READERS, CHANGES, every).await;

    println!("{READERS} readers, a writer at 10 changes/s for {CHANGES} changes; change → reader latency:");
    println!("  three relays (writer on A, readers round robin on A, B, C): {}", describe(&mut three));
    println!("  one relay (writer and readers on it):                      {}", describe(&mut one));
    println!("  announcements applied on B and C: {received}");
    assert!(received >= 1.0, "B and C never took in an announcement: they lived on repairs");
    let (_, p99_three, _) = percentiles(&mut three);
    let (_, p99_one, _) = percentiles(&mut one);
    assert!(p99_three < Duration::from_secs(5) && p99_one < Duration::from_secs(5), "p99 beyond 5 s");
}

/// The seeds of the kill test: `ESSAIM_CLUSTER_SEED` alone, else `count`
/// from the clock.
fn seeds(count: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("ESSAIM_CLUSTER_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let base = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    (0..count).map(|i| base.wrapping_add(i)).collect()
}

/// Whether `client` is connected to the relay named `name`.
async fn on_relay(client: &Client, name: &str) -> bool {
    let peer = format!("essaim-relay-{name}");
    client
        .query(move |view| view.observed.relay_peer.as_ref().is_some_and(|p| p.to_string() == peer))
        .await
        .expect("query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_relay_under_load_loses_nothing() {
    let seeds = seeds(20);
    let meeting = Meeting::new("ha_kill");
    let repair = Duration::from_millis(500);
    let (a, b, c) = tokio::join!(meeting.relay("a", repair), meeting.relay("b", repair), meeting.relay("c", repair));
    let mut relays = vec![a, b, c];
    let proxy = Haproxy::start(&relays.iter().map(|r| r.addr).collect::<Vec<_>>());
    proxy.wait_backend_states(&["UP", "UP", "UP"]).await;
    let started = Instant::now();
    for &seed in &seeds {
        let seed_started = Instant::now();
        kill_one_relay(&meeting, &mut relays, &proxy, seed).await;
        println!("seed {seed} passed in {:.1?}", seed_started.elapsed());
    }
    println!("{} seeds in {:.1?}", seeds.len(), started.elapsed());
}

/// One seed: writers on every relay (one bound to each, three through
/// HAProxy), one relay killed with SIGKILL at a seeded moment; whatever a
/// relay had acknowledged is in PostgreSQL, and every client converges
/// within 10 s, the dead relay's reconnecting through HAProxy. The killed
/// relay is started again for the next seed.
async fn kill_one_relay(meeting: &Meeting, relays: &mut Vec<RelayProcess>, proxy: &Haproxy, seed: u64) {
    println!("cluster kill seed {seed} (rerun with ESSAIM_CLUSTER_SEED={seed})");
    let mut rng = crate::support::Rng::new(seed);
    let victim = rng.below(3) as usize;
    let name = relays[victim].settings.name.clone();
    let proxy_url = format!("ws://{}/sync", proxy.addr());
    let creator = connect(&proxy_url).await;
    let doc = new_document(&creator).await;
    let heads = creator.heads(&doc).await.expect("heads");
    drop(creator);
    let mut clients = Vec::new();
    for url in relays.iter().map(RelayProcess::url).chain(std::iter::repeat_n(proxy_url.clone(), 3)) {
        let client = connect(&url).await;
        open_at(&client, &doc, heads.clone()).await;
        clients.push(client);
    }

    // Everyone writes its own key at its own seeded pace; the victim dies
    // at a seeded moment, with commits and messages in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(w, client)| {
            let (doc, stop) = (doc.clone(), stop.clone());
            let mut pace = crate::support::Rng::new(seed ^ (w as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            tokio::spawn(async move {
                for j in 0..10_000i64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    client.change(&doc, move |tx| tx.put(ROOT, format!("w{w}"), j).map(drop)).await.expect("change");
                    tokio::time::sleep(Duration::from_millis(10 + pace.below(30))).await; // pace
                }
                client
            })
        })
        .collect();
    let kill_after = Duration::from_millis(200 + rng.below(1300));
    tokio::time::sleep(kill_after).await; // the seeded moment of the kill
    relays[victim].kill().await;
    let killed_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut clients = Vec::new();
    for writer in writers {
        clients.push(writer.await.expect("writer"));
    }

    // What the relays had acknowledged, the victim's clients' included.
    let mut acknowledged = Vec::new();
    let mut on_victim = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        if on_relay(client, &name).await {
            on_victim.push(i);
        }
        acknowledged.extend(client.relay_heads(&doc).await.expect("relay heads"));
    }
    assert!(on_victim.contains(&victim), "seed {seed}: the client bound to {name} is not on it");
    let stored = meeting.stored(&doc).await;
    let missing: Vec<_> = acknowledged.iter().filter(|h| stored.get_change_by_hash(h).is_none()).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: relay {name} killed after {kill_after:?}; PostgreSQL lacks acknowledged changes {missing:?}"
    );
    println!(
        "seed {seed}: killed {name} after {kill_after:?}, {} clients on it, {} acknowledged heads all stored",
        on_victim.len(),
        acknowledged.len()
    );

    // The dead relay's clients see their socket close, then reconnect
    // through HAProxy and open the document again, as a device does.
    let deadline = killed_at + WAIT;
    let mut slots: Vec<Option<Client>> = clients.into_iter().map(Some).collect();
    for &i in &on_victim {
        let client = slots[i].take().expect("a client");
        let closed = client.wait_for("the socket to close", WAIT, |v| (!v.observed.connected).then_some(()));
        assert!(holds(closed, WAIT).await, "seed {seed}: a client of the killed relay {name} stays connected");
        let store = client.close().await.expect("close");
        let options = ClientOptions { store: Some(store), open: vec![doc.clone()], ..ClientOptions::default() };
        let connecting = Client::connect(&proxy_url, options);
        let reconnected = tokio::time::timeout(WAIT, connecting).await.expect("reconnects in time").expect("reconnect");
        slots[i] = Some(reconnected);
    }
    let clients: Vec<Client> = slots.into_iter().flatten().collect();

    // Everything every writer made reaches every client, within 10 s of
    // the kill.
    let mut written = Vec::new();
    for client in &clients {
        written.extend(client.heads(&doc).await.expect("heads"));
    }
    for (i, client) in clients.iter().enumerate() {
        let wanted = written.clone();
        let has_all = move |am: &Automerge| wanted.iter().all(|h| am.get_change_by_hash(h).is_some());
        let remaining = deadline.saturating_duration_since(Instant::now());
        assert!(
            holds(client.wait_until(&doc, remaining, has_all), remaining).await,
            "seed {seed}: client {i} did not converge within 10 s of killing {name}"
        );
    }
    let heads = clients[0].heads(&doc).await.expect("heads");
    for client in &clients {
        assert_eq!(client.heads(&doc).await.expect("heads"), heads, "seed {seed}: clients differ");
    }
    println!("seed {seed}: converged {:.1?} after the kill", killed_at.elapsed());
    drop(clients);

    let dead = relays.remove(victim);
    relays.insert(victim, dead.restart().await);
    proxy.wait_backend_states(&["UP", "UP", "UP"]).await;
}

/// `(sent, seen)` latencies of the changes made in `[from, to)`.
fn phase(sent: &[Instant], seen: &[Instant], from: Instant, to: Instant) -> Vec<Duration> {
    sent.iter()
        .zip(seen)
        .filter(|(sent, _)| **sent >= from && **sent < to)
        .map(|(sent, seen)| seen.saturating_duration_since(*sent))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_cut_for_ten_seconds_loses_nothing_and_repair_delivers() {
    const CHANGES: i64 = 160;
    const APPLIED: &str = "essaim_cluster_announcements_applied_total";
    let every = Duration::from_millis(100);
    let cut_for = Duration::from_secs(10);
    let meeting = Meeting::new("ha_nats_cut");
    let nats = Shaper::start(services::nats().addr(), Link::default());
    let settings = |name: &str| Settings {
        name: name.to_owned(),
        storage: meeting.storage.clone(),
        nats: format!("nats://{}", nats.addr),
        prefix: meeting.prefix.clone(),
        repair: Duration::from_millis(500),
    };
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (a, b) = tokio::join!(
        RelayProcess::start(settings("a"), TempDir::new().expect("temp dir"), any),
        RelayProcess::start(settings("b"), TempDir::new().expect("temp dir"), any),
    );
    let (writer, reader) = (Arc::new(a.client().await), Arc::new(b.client().await));
    let doc = new_document(&writer).await;
    open_at(&reader, &doc, writer.heads(&doc).await.expect("heads")).await;

    let start = Instant::now();
    let total = every * CHANGES as u32;
    let watching = tokio::spawn(watch_counter(reader.clone(), doc.clone(), CHANGES - 1, total + WAIT));
    let (sent, writing) = write_counter(writer.clone(), doc.clone(), CHANGES, every);
    tokio::time::sleep_until((start + Duration::from_secs(2)).into()).await; // the scenario's schedule
    let (applied_at_cut, repairs_at_cut) = (b.metric(APPLIED).await, b.metric("essaim_cluster_repairs_total").await);
    nats.cut();
    let cut_at = Instant::now();
    tokio::time::sleep_until((cut_at + cut_for).into()).await; // the cut lasts ten seconds
    let (applied_in_cut, repairs_in_cut) = (b.metric(APPLIED).await, b.metric("essaim_cluster_repairs_total").await);
    nats.restore();
    let restored_at = Instant::now();
    // Announcements are applied again soon after NATS returns.
    wait_metric(b.metrics, APPLIED, |n| n > applied_in_cut).await;
    let back_at = Instant::now();
    let applied_back = b.metric(APPLIED).await;
    writing.await.expect("writer");
    let seen = watching.await.expect("reader");
    let applied_end = b.metric(APPLIED).await;
    let sent = sent.lock().expect("sent lock").clone();

    assert_eq!(seen.len(), CHANGES as usize, "the reader on B saw {} of {CHANGES} changes", seen.len());
    let heads = writer.heads(&doc).await.expect("heads");
    assert_eq!(reader.heads(&doc).await.expect("heads"), heads);
    let stored = meeting.stored(&doc).await;
    assert!(heads.iter().all(|h| stored.get_change_by_hash(h).is_some()), "PostgreSQL lacks the writer's last change");

    let mut before = phase(&sent, &seen, start, cut_at);
    let mut during = phase(&sent, &seen, cut_at, restored_at);
    let mut after = phase(&sent, &seen, back_at, Instant::now());
    let seen_in_cut = seen.iter().filter(|t| **t > cut_at && **t < restored_at).count();
    let after_back = sent.iter().filter(|t| **t >= back_at).count();
    println!("writer on A, reader on B, NATS cut {cut_for:?}, repairs every 500 ms; change → reader latency:");
    println!("  before the cut: {}", describe(&mut before));
    println!("  during the cut: {} ({seen_in_cut} seen during it)", describe(&mut during));
    println!("  after NATS returned (applied again after {:.1?}): {}", back_at - restored_at, describe(&mut after));
    println!(
        "  announcements applied on B: {applied_at_cut} at the cut, {applied_in_cut} at its end, \
         {applied_back} once back, {applied_end} at the end; repairs {repairs_at_cut} → {repairs_in_cut}"
    );
    // The cut was real: almost nothing was announced during it, and the
    // repair delivered, within about its interval.
    assert!(applied_in_cut - applied_at_cut < 10.0, "NATS was not cut: {applied_at_cut} → {applied_in_cut}");
    assert!(repairs_in_cut > repairs_at_cut, "no repair during the cut");
    assert!(seen_in_cut as f64 >= 0.5 * during.len() as f64, "the repair did not deliver during the cut");
    assert!(percentiles(&mut during).2 < Duration::from_secs(5), "a change waited 5 s during the cut");
    // After: announcements resume within 5 s, and carry the changes.
    assert!(
        back_at - restored_at < Duration::from_secs(5),
        "announcements resumed only after {:?}",
        back_at - restored_at
    );
    assert!(applied_end - applied_back >= after_back as f64 / 2.0, "after the cut, changes came by repair, not NATS");
    assert!(percentiles(&mut after).1 < Duration::from_secs(5));
}

/// The address of the PostgreSQL server in a `postgres://user@host:port/…` URL.
fn postgres_addr(url: &str) -> SocketAddr {
    let authority = url.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port in the URL");
    authority.parse().expect("127.0.0.1:port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_suspends_writes_and_loses_nothing() {
    let meeting = Meeting::new("ha_pg_cut");
    let direct = postgres_addr(&meeting.storage);
    let pg = Shaper::start(direct, Link::default());
    let settings = Settings {
        name: "a".to_owned(),
        storage: meeting.storage.replacen(&direct.to_string(), &pg.addr.to_string(), 1),
        nats: services::nats().url(),
        prefix: meeting.prefix.clone(),
        repair: Duration::from_millis(500),
    };
    let a =
        RelayProcess::start(settings, TempDir::new().expect("temp dir"), "127.0.0.1:0".parse().expect("address")).await;
    let b = meeting.relay("b", Duration::from_millis(500)).await;
    let (alice, bob) = (a.client().await, b.client().await);
    let doc = new_document(&alice).await;
    open_at(&bob, &doc, alice.heads(&doc).await.expect("heads")).await;

    pg.cut();
    alice.change(&doc, |tx| tx.put(ROOT, "pendant", "la coupure").map(drop)).await.expect("change");
    let change = alice.heads(&doc).await.expect("heads");
    let line = a.log.wait_line("a", "PostgreSQL is unreachable", WAIT).await;
    println!("relay a logged: {line}");
    assert!(line.contains("writes are suspended"), "{line}");
    // Alive, and saying it cannot take writes, so HAProxy sends devices
    // to another relay.
    let (status, body) = http_get(a.addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (503, "storage unreachable\n"), "the relay's health during the cut");
    // Not acknowledged, not passed on, not stored.
    assert!(
        !holds(alice.wait_relay_has(&doc, change.clone(), Duration::from_secs(2)), Duration::from_secs(2)).await,
        "relay a acknowledged a change while PostgreSQL was cut"
    );
    let has = |am: &Automerge| am.get(ROOT, "pendant").ok().flatten().is_some();
    assert!(!holds(bob.wait_until(&doc, Duration::from_secs(1), has), Duration::from_secs(1)).await);
    let stored = meeting.stored(&doc).await;
    assert!(change.iter().all(|h| stored.get_change_by_hash(h).is_none()), "stored while PostgreSQL was cut?");

    pg.restore();
    let restored_at = Instant::now();
    assert!(holds(alice.wait_relay_has(&doc, change.clone(), WAIT), WAIT).await, "never acknowledged after the cut");
    println!("acknowledged {:.1?} after PostgreSQL returned", restored_at.elapsed());
    a.log.wait_line("a", "PostgreSQL is reachable again", WAIT).await;
    let (status, body) = http_get(a.addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"), "healthy again once PostgreSQL is back");
    let stored = meeting.stored(&doc).await;
    assert!(change.iter().all(|h| stored.get_change_by_hash(h).is_some()), "acknowledged but not in PostgreSQL");
    assert!(holds(bob.wait_until(&doc, WAIT, has), WAIT).await, "the change never reached B's client");
}
