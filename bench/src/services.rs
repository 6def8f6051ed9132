//! Real services for the cluster tests and benchmarks (issue 19):
//! PostgreSQL, NATS and HAProxy, on 127.0.0.1 only.
//!
//! PostgreSQL and NATS are shared by the whole test binary and started
//! lazily, once: [`postgres`] and [`nats`] use a server already answering on
//! the default port (PostgreSQL only if user `postgres` logs in without a
//! password) and otherwise start a private one on a free port. Tests keep
//! apart through [`Postgres::fresh_schema`] and [`Nats::fresh_prefix`].
//! [`Haproxy`] is started per test in front of the relays it is given.
//!
//! Every private process dies with the test binary, whatever ends it (normal
//! exit, panic, abort, SIGKILL): it is started through util-linux's
//! `setpriv --pdeathsig`, from one thread that lives as long as the process
//! (the kernel sends the parent-death signal when the *thread* that forked
//! exits, and test threads end with their test). PostgreSQL runs under a
//! small `sh` that gets SIGTERM then, stops PostgreSQL (immediate shutdown,
//! so that its shared memory goes too) and deletes its directory; PostgreSQL
//! itself gets SIGKILL if that `sh` dies. The workspace forbids `unsafe`, so
//! there is no `pre_exec`: `setpriv` does the `prctl` and, as root, the
//! switch to user `postgres` (PostgreSQL refuses to run as root).
//!
//! Does not do: TLS, JetStream, several PostgreSQL servers. The
//! `postgres::Client`s handed out block on a runtime of their own, so call
//! them outside tokio (a plain `#[test]`, or `spawn_blocking`).

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use postgres::NoTls;

/// Upper bound of a private PostgreSQL's start (initdb included) on a busy
/// two-core machine.
const PG_START: Duration = Duration::from_secs(90);
/// Upper bound of a NATS server's or HAProxy's start.
const START: Duration = Duration::from_secs(20);
/// Pause between two attempts to reach a starting server.
const RETRY: Duration = Duration::from_millis(25);
/// Upper bound of a wait on HAProxy's view of its backends.
const WAIT: Duration = Duration::from_secs(10);

/// A free TCP port on 127.0.0.1: bound to port 0, read, closed.
/// Another process may take it before it is used; the odds are small.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The process-wide PostgreSQL, started on first use.
pub fn postgres() -> &'static Postgres {
    static POSTGRES: OnceLock<Postgres> = OnceLock::new();
    // The `postgres` crate blocks on a runtime of its own, which panics
    // inside tokio's: do the work on a thread of its own.
    POSTGRES.get_or_init(|| off_runtime(|| Postgres::existing().unwrap_or_else(Postgres::start)))
}

/// A PostgreSQL server on 127.0.0.1 where user `postgres` logs in without a
/// password.
pub struct Postgres {
    port: u16,
    /// The private server's `sh` (see the module's docs), kept for the life
    /// of the process; `None` for a server found running.
    _private: Option<Child>,
}

impl Postgres {
    /// Whether this server was started here (not one already running).
    pub fn is_private(&self) -> bool {
        self._private.is_some()
    }

    /// The server's URL, database `postgres`, default search path.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates an empty schema of its own and returns a URL whose
    /// connections use it (`search_path`), for one relay or one test.
    pub fn fresh_schema(&self, tag: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .take(30)
            .collect();
        let schema = format!("t_{tag}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        off_runtime(|| {
            let mut admin = postgres::Client::connect(&self.url(), NoTls).expect("connect to PostgreSQL");
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create schema");
        });
        format!("{}?options=-csearch_path%3D{schema}", self.url())
    }

    /// A connection to `url` ([`Postgres::url`] or a
    /// [`Postgres::fresh_schema`]), to look into tables. Blocking: use it
    /// outside tokio.
    pub fn client(&self, url: &str) -> postgres::Client {
        postgres::Client::connect(url, NoTls).expect("connect to PostgreSQL")
    }

    /// The server on 5432, if one answers and trusts user `postgres`.
    fn existing() -> Option<Postgres> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 5432));
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
        let config = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2";
        let mut client = postgres::Client::connect(config, NoTls).ok()?;
        client.simple_query("SELECT 1").ok()?;
        Some(Postgres { port: 5432, _private: None })
    }

    /// A private server in a temporary directory (see the module's docs).
    fn start() -> Postgres {
        let started = Instant::now();
        let bin = postgres_bin_dir();
        let root = is_root();
        // As root the server runs as another user, who must reach the
        // directory: /tmp is open to all, whatever TMPDIR says.
        let base = if root { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = tempfile::Builder::new().prefix("essaim-pg-").tempdir_in(&base).expect("temp dir").keep();
        let mut drop_root = Vec::new();
        if root {
            let (uid, gid) = server_account();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the PostgreSQL directory");
            drop_root = vec![format!("--reuid={uid}"), format!("--regid={gid}"), "--clear-groups".to_owned()];
        }
        let port = free_port();
        let log = tempfile::tempfile().expect("log file");
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "TERM", "--", "sh", "-c", POSTGRES_SH, "essaim-postgres"])
            .arg(&dir)
            .arg(&bin)
            .arg(port.to_string())
            .args(&drop_root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("log file"));
        let mut child = spawn_for_life(command);
        let url = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2");
        loop {
            if let Some(status) = child.try_wait().expect("wait for PostgreSQL") {
                panic!("private PostgreSQL ({}) exited, {status}:\n{}", dir.display(), read_log(&log));
            }
            if let Ok(mut client) = postgres::Client::connect(&url, NoTls)
                && client.simple_query("SELECT 1").is_ok()
            {
                break;
            }
            assert!(started.elapsed() < PG_START, "private PostgreSQL not up after {PG_START:?}:\n{}", read_log(&log));
            std::thread::sleep(RETRY);
        }
        eprintln!("services: private PostgreSQL on 127.0.0.1:{port} in {:.1?}", started.elapsed());
        Postgres { port, _private: Some(child) }
    }
}

/// The private PostgreSQL's `sh`: `$1` directory, `$2` binaries, `$3` port,
/// then `setpriv`'s options to leave root. It initialises the cluster,
/// runs the server and, on SIGTERM (the test binary's death) or when the
/// server dies, stops it and deletes the directory. The server's own
/// parent-death signal covers this `sh` being killed.
const POSTGRES_SH: &str = r#"
dir=$1 bin=$2 port=$3
shift 3
pid= sig=KILL
stop() {
    if [ -n "$pid" ]; then kill -"$sig" "$pid" 2>/dev/null; wait "$pid"; fi
    rm -rf "$dir"
    exit 0
}
trap stop TERM HUP INT
setpriv --pdeathsig KILL "$@" -- "$bin/initdb" --pgdata="$dir/data" --username=postgres \
    --auth=trust --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 &
pid=$!
if ! wait "$pid"; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    exit 1
fi
setpriv --pdeathsig KILL "$@" -- "$bin/postgres" -D "$dir/data" -p "$port" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" \
    -c max_connections=300 -c shared_buffers=32MB -c fsync=on \
    >"$dir/postgres.log" 2>&1 &
pid=$! sig=QUIT
wait "$pid"
echo "postgres exited ($?)" >&2
tail -n 40 "$dir/postgres.log" >&2
rm -rf "$dir"
exit 1
"#;

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian), else the
/// directory of `pg_config --bindir`.
fn postgres_bin_dir() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest {
        return bin;
    }
    let output = Command::new("pg_config").arg("--bindir").output();
    match output {
        Ok(output) if output.status.success() => PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()),
        _ => panic!("no PostgreSQL server binaries: run ./scripts/setup-tests.sh (Debian's `postgresql`)"),
    }
}

/// `name` from the `PATH`, or from the `sbin` directories, which a user's
/// `PATH` lacks on Debian (where `nats-server` and `haproxy` are).
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|program| program.is_file())
        .unwrap_or_else(|| panic!("no {name}: run ./scripts/setup-tests.sh (Debian's `{name}`)"))
}

fn is_root() -> bool {
    command_output(Command::new("id").arg("-u")) == "0"
}

/// The account a private PostgreSQL runs as when we are root: `postgres`
/// (created by Debian's package), else `nobody`.
fn server_account() -> (u32, u32) {
    let account = ["postgres", "nobody"]
        .into_iter()
        .find(|name| Command::new("id").arg("-u").arg(name).stdout(Stdio::null()).status().is_ok_and(|s| s.success()))
        .expect("neither user postgres nor nobody exists");
    let id = |flag: &str| {
        let id = command_output(Command::new("id").arg(flag).arg(account));
        id.parse().unwrap_or_else(|_| panic!("id {flag} {account}: {id}"))
    };
    (id("-u"), id("-g"))
}

/// The process-wide NATS server, started on first use.
pub fn nats() -> &'static Nats {
    static NATS: OnceLock<Nats> = OnceLock::new();
    NATS.get_or_init(|| {
        let default = SocketAddr::from((Ipv4Addr::LOCALHOST, 4222));
        if nats_info(default, Duration::from_millis(500)).is_some() {
            return Nats { addr: default, _private: None };
        }
        Nats::start()
    })
}

/// A NATS server on 127.0.0.1, without authentication nor JetStream.
pub struct Nats {
    addr: SocketAddr,
    /// The private server, kept for the life of the process; `None` for a
    /// server found running.
    _private: Option<Child>,
}

impl Nats {
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A subject prefix no other test uses (tokens of letters, digits, `_`
    /// and `-`), such as `essaim.t_cluster_1234_0`.
    pub fn fresh_prefix(&self, tag: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag: String =
            tag.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(30).collect();
        format!("essaim.t_{tag}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn start() -> Nats {
        let started = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let log = tempfile::tempfile().expect("log file");
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "KILL", "--"])
            .arg(program("nats-server"))
            .args(["-a", "127.0.0.1", "-p"])
            .arg(addr.port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("log file"));
        let mut child = spawn_for_life(command);
        while nats_info(addr, Duration::from_millis(500)).is_none() {
            if let Some(status) = child.try_wait().expect("wait for nats-server") {
                panic!("nats-server exited, {status}:\n{}", read_log(&log));
            }
            assert!(started.elapsed() < START, "nats-server not up after {START:?}:\n{}", read_log(&log));
            std::thread::sleep(RETRY);
        }
        eprintln!("services: private NATS on {addr} in {:.1?}", started.elapsed());
        Nats { addr, _private: Some(child) }
    }
}

/// The `INFO` line a NATS server sends first, if one answers at `addr`.
pub fn nats_info(addr: SocketAddr, timeout: Duration) -> Option<String> {
    let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut line = String::new();
    BufReader::new(stream).take(64 * 1024).read_line(&mut line).ok()?;
    line.starts_with("INFO {").then_some(line)
}

/// An HAProxy in front of `backends`, for one test; killed when dropped.
///
/// Without a `token` query parameter it balances round robin; with one, a
/// given token goes to the same backend while that backend is up
/// (consistent hashing). `/healthz` is checked every 200 ms and two failures
/// take a backend out; a failed connection is retried on another backend.
pub struct Haproxy {
    addr: SocketAddr,
    stats_addr: SocketAddr,
    child: Child,
}

impl Haproxy {
    pub fn start(backends: &[SocketAddr]) -> Haproxy {
        let started = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let stats_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let servers: String =
            backends.iter().enumerate().map(|(i, backend)| format!("    server b{i} {backend}\n")).collect();
        let config = format!(
            "global\n    maxconn 4096\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    \
             timeout tunnel 1h\n    timeout check 1s\n    option redispatch 1\n    retries 3\n\
             frontend front\n    bind {addr}\n    default_backend relays\n\
             backend relays\n    balance url_param token\n    hash-type consistent\n    option httpchk GET /healthz\n    \
             default-server check inter 200ms fall 2 rise 1\n{servers}\
             listen stats\n    bind {stats_addr}\n    stats enable\n    stats uri /stats\n"
        );
        let log = tempfile::tempfile().expect("log file");
        let mut command = Command::new("setpriv");
        // The configuration comes on stdin: no file to leave behind.
        command
            .args(["--pdeathsig", "KILL", "--"])
            .arg(program("haproxy"))
            .args(["-db", "-f", "/dev/stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("log file"));
        let mut child = spawn_for_life(command);
        let mut stdin = child.stdin.take().expect("haproxy's stdin");
        stdin.write_all(config.as_bytes()).expect("write haproxy's configuration");
        drop(stdin);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
            if let Some(status) = child.try_wait().expect("wait for haproxy") {
                panic!("haproxy exited, {status}:\n{}\n{config}", read_log(&log));
            }
            assert!(started.elapsed() < START, "haproxy not up after {START:?}:\n{}", read_log(&log));
            std::thread::sleep(RETRY);
        }
        Haproxy { addr, stats_addr, child }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Each backend's state as HAProxy sees it, in the order given to
    /// [`Haproxy::start`]: `"UP"`, `"DOWN"`, `"UP 1/2"` (going down or, at
    /// start, not yet checked), `"DOWN 1/1"` (going up)…
    pub async fn backend_states(&self) -> Vec<String> {
        let csv = self.stats_csv().await;
        let header = csv.lines().next().unwrap_or_default().trim_start_matches("# ");
        let column = |name: &str| header.split(',').position(|c| c == name);
        let (Some(proxy), Some(server), Some(status)) = (column("pxname"), column("svname"), column("status")) else {
            panic!("unexpected HAProxy stats:\n{csv}");
        };
        let mut states: Vec<(usize, String)> = csv
            .lines()
            .skip(1)
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|fields| fields.get(proxy) == Some(&"relays"))
            .filter_map(|fields| {
                let index = fields.get(server)?.strip_prefix('b')?.parse().ok()?;
                Some((index, fields.get(status)?.to_string()))
            })
            .collect();
        states.sort();
        states.into_iter().map(|(_, state)| state).collect()
    }

    /// Reads [`Haproxy::backend_states`] every 25 ms until they are
    /// `expected`; panics after 10 s.
    pub async fn wait_backend_states(&self, expected: &[&str]) {
        let deadline = Instant::now() + WAIT;
        loop {
            let states = self.backend_states().await;
            if states == expected {
                return;
            }
            assert!(Instant::now() < deadline, "HAProxy's backends are {states:?}, not {expected:?}");
            tokio::time::sleep(RETRY).await;
        }
    }

    /// HAProxy's statistics as CSV (`/stats;csv` on a port of their own).
    async fn stats_csv(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(self.stats_addr).await.expect("connect to HAProxy's stats");
            stream.write_all(b"GET /stats;csv HTTP/1.0\r\n\r\n").await.expect("ask HAProxy's stats");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read HAProxy's stats");
            response
        };
        let response = tokio::time::timeout(WAIT, exchange).await.expect("HAProxy's stats in time");
        // HAProxy 2.6 sends the body in chunks, even to HTTP/1.0.
        let (_, mut chunks) = response.split_once("\r\n\r\n").expect("HTTP response");
        let mut body = String::new();
        while let Some((size, rest)) = chunks.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
            let Some(chunk) = rest.get(..size).filter(|_| size > 0) else { break };
            body.push_str(chunk);
            chunks = rest[size..].trim_start_matches("\r\n");
        }
        body
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` from a thread that lives as long as the process, so
/// that a `--pdeathsig` child gets its signal when the process ends, not
/// when the calling test's thread does.
fn spawn_for_life(command: Command) -> Child {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("services-spawner".into())
            .spawn(move || {
                // Never ends: the sender lives in a static.
                for (mut command, reply) in incoming {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawn the spawner thread");
        requests
    });
    let program = format!("{command:?}");
    let (reply, spawned) = mpsc::channel();
    spawner.send((command, reply)).expect("spawner thread alive");
    spawned.recv().expect("spawner thread alive").unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

/// Runs `work` on a thread of its own and waits for it: out of any tokio
/// runtime, for the blocking `postgres` crate.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn command_output(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What a child wrote into its (unnamed, temporary) log file.
fn read_log(mut log: &std::fs::File) -> String {
    let mut text = String::new();
    let _ = log.rewind();
    let _ = log.read_to_string(&mut text);
    text
}
