//! The real `essaim` binary stopped while a client streams changes, then
//! restarted on the same data directory: killed with SIGKILL, stopped by
//! SQLite itself when its files cannot grow (a full disk, simulated with a
//! file size limit, `ulimit -f`), and stopped with SIGTERM. Either way, every change
//! the relay had acknowledged is there after the restart, and the writer
//! converges once it reconnects.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use sync_core::DocumentId;
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ROOT, ReadDoc};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::{Rng, WAIT, two_clients_on_one_document};

/// Builds the `essaim` binary (a no-op when it is up to date) next to this
/// test binary, in the same profile, and returns its path. Building here
/// keeps the binary in step with the code even under `cargo test -p tests`,
/// which builds the `server` library but not its binary. With the
/// `cluster` feature, as the cluster tests need (a superset: the others
/// run it without cluster flags).
pub(crate) fn essaim_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/it-<hash>
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).expect("profile name").to_owned();
        let target_dir = profile_dir.parent().expect("target directory");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "-p", "server", "--bin", "essaim", "--features", "cluster", "--target-dir"]);
        build.arg(target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building essaim failed");
        let binary = profile_dir.join(format!("essaim{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} missing after the build", binary.display());
        binary
    })
}

/// A relay process, killed when dropped. Its log (stdout and stderr) is
/// echoed to the test's output and kept for assertions.
pub(crate) struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The tasks reading stdout and stderr; they end when the pipes close.
    readers: [JoinHandle<()>; 2],
}

impl Process {
    /// Starts `essaim serve` on a free port and waits for its "listening" line.
    pub(crate) async fn start(data: &Path) -> Process {
        Process::spawn(data, None).await
    }

    /// The same under `ulimit -f blocks`: no file of the relay's may grow
    /// past that many blocks (512 or 1,024 bytes, depending on the shell).
    async fn start_with_file_limit(data: &Path, blocks: u32) -> Process {
        Process::spawn(data, Some(blocks)).await
    }

    async fn spawn(data: &Path, file_limit: Option<u32>) -> Process {
        let mut command = match file_limit {
            None => Command::new(essaim_binary()),
            Some(blocks) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", "ulimit -f \"$0\" && exec \"$@\"", &blocks.to_string()]).arg(essaim_binary());
                sh
            }
        };
        let mut child = command
            .args(["serve", "--open", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("NO_COLOR", "1")
            .env("ESSAIM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn essaim");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, mut address) = mpsc::channel(1);
        let readers = [
            collect_lines(child.stdout.take().expect("piped stdout"), log.clone(), Some(address_tx)),
            collect_lines(child.stderr.take().expect("piped stderr"), log.clone(), None),
        ];
        let addr = tokio::time::timeout(WAIT, address.recv())
            .await
            .expect("the relay logs its address in time")
            .expect("the relay logs its address before its output ends");
        Process { child, addr, log, readers }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// SIGKILL: no flush, no goodbye.
    async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// SIGTERM, as a service manager stops it.
    fn terminate(&self) {
        let pid = self.child.id().expect("the relay is running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Whether the process has exited already (without waiting).
    fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits for the process to exit by itself; its status and log.
    async fn exit(mut self) -> (ExitStatus, Vec<String>) {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the relay exits in time")
            .expect("wait for the relay");
        // The pipes close with the process: the readers reach their end.
        for reader in &mut self.readers {
            tokio::time::timeout(WAIT, reader).await.expect("the log ends in time").expect("log reader");
        }
        let log = self.log.lock().expect("log lock").clone();
        (status, log)
    }
}

/// Reads a pipe line by line on a task: echoes each line, keeps it, and
/// sends the address of the "listening" line to `address` if given.
fn collect_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
    mut address: Option<mpsc::Sender<SocketAddr>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("essaim: {line}");
            if let Some(rest) = line.split("address=").nth(1)
                && let Some(sender) = address.take()
                && let Ok(addr) = rest.split_whitespace().next().unwrap_or_default().parse()
            {
                let _ = sender.send(addr).await;
            }
            log.lock().expect("log lock").push(line);
        }
    })
}

/// A writer and an observer on one document, both synced once.
async fn writer_and_observer(relay: &Process) -> (Client, Client, DocumentId) {
    two_clients_on_one_document(&relay.url(), "start", true).await
}

/// After the relay died: restarts it on `data` and checks that everything
/// it had acknowledged (what the observer received through it, the heads it
/// advertised to the writer) is there, then that the writer converges.
async fn restart_and_check(data: &Path, doc: &DocumentId, writer: Client, observer: Client) {
    let written = writer.heads(doc).await.expect("heads");
    let seen_by_observer = observer.heads(doc).await.expect("heads");
    let advertised = writer.relay_heads(doc).await.expect("relay heads");
    println!("the relay had advertised {advertised:?}");
    let acknowledged: Vec<_> = seen_by_observer.into_iter().chain(advertised).collect();

    let relay = Process::start(data).await;
    let reader = Client::connect(&relay.url(), ClientOptions::default()).await.expect("reader connects");
    reader.open(doc).await.expect("open");
    reader
        .wait_until(doc, WAIT, move |am| acknowledged.iter().all(|h| am.get_change_by_hash(h).is_some()))
        .await
        .expect("every acknowledged change survived");

    // The writer reconnects with its storage; everything converges.
    let store = writer.close().await.expect("close");
    let options = ClientOptions { store: Some(store), open: vec![doc.clone()], ..ClientOptions::default() };
    let writer = Client::connect(&relay.url(), options).await.expect("writer reconnects");
    let expected = written.clone();
    reader.wait_until(doc, WAIT, move |am| am.get_heads() == expected).await.expect("converges after reconnecting");
    assert_eq!(writer.heads(doc).await.expect("heads"), written);
}

#[tokio::test]
async fn sigkill_loses_nothing_the_relay_acknowledged() {
    let seed = std::env::var("ESSAIM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1));
    println!("crash test seed: {seed} (rerun with ESSAIM_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let data = tempfile::TempDir::new().expect("temp dir");
    let relay = Process::start(data.path()).await;
    let (writer, observer, doc) = writer_and_observer(&relay).await;

    // Stream changes; kill the relay after a random number of them, with
    // messages and commits in flight.
    let kill_after = 20 + rng.below(300);
    for i in 0..kill_after {
        writer.change(&doc, move |tx| tx.put(ROOT, format!("k{}", i % 64), i as i64)).await.expect("change");
        if rng.below(8) == 0 {
            tokio::task::yield_now().await;
        }
    }
    relay.kill().await;
    println!("killed after {kill_after} changes");
    restart_and_check(data.path(), &doc, writer, observer).await;
}

#[tokio::test]
async fn a_relay_whose_storage_fails_stops_and_serves_nothing_unpersisted() {
    let data = tempfile::TempDir::new().expect("temp dir");
    // 2,048 blocks: 1 or 2 MiB, room for the schema and a few dozen changes.
    let mut relay = Process::start_with_file_limit(data.path(), 2048).await;
    let (writer, observer, doc) = writer_and_observer(&relay).await;

    // Stream incompressible 16 KiB changes until SQLite cannot grow its files.
    let mut rng = Rng::new(7);
    let mut sent = 0;
    while sent < 1000 && !relay.has_exited() {
        let payload: Vec<u8> = (0..16 * 1024).map(|_| rng.below(256) as u8).collect();
        writer.change(&doc, move |tx| tx.put(ROOT, format!("k{sent}"), payload)).await.expect("change");
        sent += 1;
        tokio::task::yield_now().await;
    }
    let (status, log) = relay.exit().await;
    println!("the relay stopped after {sent} changes, with {status}");
    assert!(!status.success(), "a relay that cannot persist exits with an error, not {status}");
    let log = log.join("\n");
    assert!(log.contains("storage failed; stopping the relay"), "no clear log line:\n{log}");
    // SQLite says "disk I/O error" for EFBIG ("database or disk is full" for
    // ENOSPC), at the commit or, when a large group commit spills SQLite's
    // page cache (a loaded machine gathers more changes per commit), at a
    // write before it.
    let reason = log.contains("SQLite error while committing: disk I/O error")
        || log.contains("SQLite error while writing: disk I/O error");
    assert!(reason, "SQLite's reason is not in the log:\n{log}");

    restart_and_check(data.path(), &doc, writer, observer).await;
}

#[tokio::test]
async fn sigterm_flushes_closes_connections_and_exits_cleanly() {
    let data = tempfile::TempDir::new().expect("temp dir");
    let relay = Process::start(data.path()).await;
    let (writer, observer, doc) = writer_and_observer(&relay).await;
    for i in 0..50 {
        writer.change(&doc, move |tx| tx.put(ROOT, format!("k{i}"), i)).await.expect("change");
    }
    relay.terminate();
    let (status, log) = relay.exit().await;
    assert!(status.success(), "SIGTERM is a normal stop, not {status}");
    let log = log.join("\n");
    assert!(log.contains("shutting down") && log.contains("relay stopped"), "{log}");
    for client in [&writer, &observer] {
        client
            .wait_for("the relay to close the socket", WAIT, |v| (!v.observed.connected).then_some(()))
            .await
            .expect("the relay closed the connection");
    }
    restart_and_check(data.path(), &doc, writer, observer).await;
}
