//! The real `essaim` binary, killed with SIGKILL while a client streams
//! changes, then restarted on the same data directory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use server::client::{Client, ClientOptions};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ROOT, ReadDoc};

use crate::support::{Rng, WAIT};

/// Builds the `essaim` binary (a no-op when it is up to date) next to this
/// test binary, in the same profile, and returns its path. Building here
/// keeps the binary in step with the code even under `cargo test -p tests`,
/// which builds the `server` library but not its binary.
fn essaim_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/it-<hash>
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).expect("profile name").to_owned();
        let target_dir = profile_dir.parent().expect("target directory");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "server", "--bin", "essaim", "--target-dir"]).arg(target_dir);
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

/// A relay process; killed when dropped.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    /// Starts `essaim serve` on a free port and waits for its "listening" line.
    fn start(data: &Path) -> Process {
        let mut child = Command::new(essaim_binary())
            .args(["serve", "--open", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("NO_COLOR", "1")
            .env("ESSAIM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn essaim");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, address) = std::sync::mpsc::channel();
        // Reads the log on a thread: the address line, then the rest (so the
        // child never blocks on a full pipe).
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("address=").nth(1)
                    && let Some(sender) = found.take()
                {
                    let _ = sender.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let addr = address.recv_timeout(WAIT).expect("the relay logs its address in time");
        Process { child, addr: addr.parse().expect("a socket address") }
    }

    fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// SIGKILL: no flush, no goodbye.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

    let relay = Process::start(data.path());
    let writer = Client::connect(&relay.url(), ClientOptions::default()).await.expect("writer connects");
    let observer = Client::connect(&relay.url(), ClientOptions::default()).await.expect("observer connects");
    let doc = writer.create().await.expect("create");
    writer.change(&doc, |tx| tx.put(ROOT, "start", true)).await.expect("change");
    observer.open(&doc).await.expect("open");
    let first = writer.heads(&doc).await.expect("heads");
    observer.wait_until(&doc, WAIT, move |am| am.get_heads() == first).await.expect("observer synced");

    // Stream changes; kill the relay after a random number of them, with
    // messages and commits in flight.
    let kill_after = 20 + rng.below(300);
    for i in 0..kill_after {
        writer.change(&doc, move |tx| tx.put(ROOT, format!("k{}", i % 64), i as i64)).await.expect("change");
        if rng.below(8) == 0 {
            tokio::task::yield_now().await;
        }
    }
    relay.kill();
    let written = writer.heads(&doc).await.expect("heads");

    // What the relay acknowledged: what the observer received through it,
    // and the heads it advertised to the writer.
    let seen_by_observer = observer.heads(&doc).await.expect("heads");
    let advertised = writer.relay_heads(&doc).await.expect("relay heads");
    println!("killed after {kill_after} changes; relay had advertised {advertised:?}");
    let acknowledged: Vec<_> = seen_by_observer.into_iter().chain(advertised).collect();

    let relay = Process::start(data.path());
    let reader = Client::connect(&relay.url(), ClientOptions::default()).await.expect("reader connects");
    reader.open(&doc).await.expect("open");
    let expected = acknowledged.clone();
    reader
        .wait_until(&doc, WAIT, move |am| expected.iter().all(|h| am.get_change_by_hash(h).is_some()))
        .await
        .expect("every acknowledged change survived SIGKILL");

    // The writer reconnects with its storage; everything converges.
    let store = writer.close().await.expect("close");
    let options = ClientOptions { store: Some(store), open: vec![doc.clone()], ..ClientOptions::default() };
    let writer = Client::connect(&relay.url(), options).await.expect("writer reconnects");
    let expected = written.clone();
    reader.wait_until(&doc, WAIT, move |am| am.get_heads() == expected).await.expect("converges after reconnecting");
    assert_eq!(writer.heads(&doc).await.expect("heads"), written);
    drop(relay);
}
