//! The two servers under test, as child processes on 127.0.0.1: Essaim's
//! relay (`essaim serve --open`, the release binary next to this one) and
//! the reference JavaScript sync server (`tests/interop/server.mjs`:
//! automerge-repo 2.5.6 with its websocket server adapter and file
//! storage, installed by `scripts/setup.sh`).
//!
//! Each runs on its own data directory, which survives a restart (the cold
//! start workload). This module starts, stops and observes them (resident
//! memory, CPU time); it measures nothing itself.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Essaim's relay.
    Essaim,
    /// `@automerge/automerge-repo` 2.5's websocket server with file storage.
    Reference,
}

impl Kind {
    /// The column title.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Essaim => "essaim",
            Kind::Reference => "reference (JS)",
        }
    }
}

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The `essaim` binary.
    pub essaim: PathBuf,
    /// The reference server's script.
    pub reference: PathBuf,
}

impl Programs {
    /// `essaim` next to the running binary, the script in the repository.
    pub fn beside_this_binary() -> Result<Programs> {
        let exe = std::env::current_exe().context("no current executable")?;
        let dir = exe.parent().context("executable without a folder")?;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace root")?;
        Ok(Programs { essaim: dir.join("essaim"), reference: root.join("tests/interop/server.mjs") })
    }
}

/// A running server.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    /// `ws://127.0.0.1:PORT/sync`.
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `kind` on `data`; returns once it listens.
    pub fn start(kind: Kind, data: &Path, programs: &Programs) -> Result<Server> {
        Server::start_with(kind, data, programs, &[])
    }

    /// [`Server::start`], with more flags for Essaim's relay (the cluster
    /// flags, say).
    pub fn start_with(kind: Kind, data: &Path, programs: &Programs, flags: &[String]) -> Result<Server> {
        let (child, port) = match kind {
            Kind::Essaim => {
                let port = free_port()?;
                let log = std::fs::File::create(data.join("essaim.log")).context("log file")?;
                let child = Command::new(&programs.essaim)
                    .args(["serve", "--open", "--listen", &format!("127.0.0.1:{port}")])
                    .arg("--data")
                    .arg(data)
                    // Every simulated device connects from 127.0.0.1.
                    .args(["--max-connections", "20000", "--max-connections-per-address", "20000"])
                    .args(["--max-http-connections", "22000", "--max-http-connections-per-address", "22000"])
                    .args(flags)
                    .env("RUST_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .with_context(|| format!("cannot start {}", programs.essaim.display()))?;
                wait_listening(port)?;
                (child, port)
            }
            Kind::Reference => {
                let store = data.join("reference");
                std::fs::create_dir_all(&store).context("reference storage folder")?;
                let mut child = Command::new("node")
                    .arg(&programs.reference)
                    .arg(&store)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .context("cannot start node (is Node.js installed?)")?;
                let stdout = child.stdout.take().context("no stdout")?;
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).context("reading the port")?;
                let port = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["port"].as_u64())
                    .with_context(|| format!("the reference server said {line:?}"))?;
                (child, port as u16)
            }
        };
        Ok(Server { kind, url: format!("ws://127.0.0.1:{port}/sync"), child })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, bytes.
    pub fn rss(&self) -> Result<u64> {
        rss(self.pid())
    }

    /// CPU time used so far (user + system).
    pub fn cpu(&self) -> Result<Duration> {
        cpu(&format!("/proc/{}/stat", self.pid()))
    }

    /// Stops it (SIGTERM for the relay, which flushes; the reference exits
    /// when its stdin closes) and waits for the exit.
    pub fn stop(mut self) -> Result<()> {
        match self.kind {
            Kind::Essaim => {
                Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().context("kill")?;
            }
            Kind::Reference => drop(self.child.stdin.take()),
        }
        self.child.wait().context("waiting for the server to exit")?;
        Ok(())
    }
}

impl Server {
    /// Kills it with SIGKILL, as a crash would, and reaps it.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill().context("kill -9")?;
        self.child.wait().context("waiting for the killed server")?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on the port (at most 30 s).
fn wait_listening(port: u16) -> Result<()> {
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < give_up {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!("nothing listens on port {port} after 30 s")
}

/// Resident memory of a process, from `/proc/PID/status`.
pub fn rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS")?;
    Ok(kb * 1024)
}

/// CPU time (user + system) from a `/proc/…/stat` file, in the kernel's
/// USER_HZ (100 per second on Linux).
/// The CPU time this process (the load generator) used so far.
pub fn own_cpu() -> Result<Duration> {
    cpu("/proc/self/stat")
}

pub fn cpu(stat: &str) -> Result<Duration> {
    let text = std::fs::read_to_string(stat).context("reading /proc")?;
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = text.rsplit_once(')').context("odd stat")?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Ok(Duration::from_millis((ticks(11) + ticks(12)) * 10))
}
