//! Shared helpers: a real relay on 127.0.0.1:0 with its data in a temporary
//! directory, raw websocket connections for hostile input, a tiny HTTP GET,
//! and a read-only look at the relay's SQLite file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use client::{Client, ClientOptions};
use futures_util::{SinkExt, StreamExt};
use sync_core::{Message, PeerId, PeerMetadata};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A relay running in this process.
pub struct Relay {
    pub addr: SocketAddr,
    /// Where `/metrics` is served (`--metrics-listen`), apart from `addr`.
    pub metrics_addr: SocketAddr,
    pub data: TempDir,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), server::RunError>>,
}

impl Relay {
    /// The websocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// Stops it gracefully and hands back its data directory.
    pub async fn stop(self) -> TempDir {
        let _ = self.stop.send(());
        let outcome = tokio::time::timeout(WAIT, self.task).await.expect("relay stops in time");
        outcome.expect("relay task").expect("relay stops cleanly");
        self.data
    }

    /// A client connected to this relay.
    pub async fn client(&self) -> Client {
        Client::connect(&self.url(), ClientOptions::default()).await.expect("client connects")
    }
}

/// A relay with default settings on a fresh data directory.
pub async fn start_relay() -> Relay {
    start_relay_with(TempDir::new().expect("temp dir"), |_| {}).await
}

/// A relay on `data` (restarts reuse it), with settings adjusted by `tweak`.
pub async fn start_relay_with(data: TempDir, tweak: impl FnOnce(&mut server::Config)) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind metrics");
    let metrics_addr = metrics.local_addr().expect("metrics address");
    forget_relay_addresses(&[addr, metrics_addr]);
    metrics_addresses().lock().unwrap_or_else(|p| p.into_inner()).insert(addr, metrics_addr);
    let mut config = server::Config::new(data.path());
    config.open = true;
    tweak(&mut config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run_with_metrics(listener, Some(metrics), config, async move {
        let _ = stopped.await;
    }));
    Relay { addr, metrics_addr, data, stop, task }
}

/// Forgets what [`metrics_addresses`] says of ports a new relay now holds:
/// an earlier, stopped relay's public port may come back as another
/// relay's metrics port, which [`metric`] would otherwise send to the dead
/// relay's metrics address.
pub fn forget_relay_addresses(ports: &[SocketAddr]) {
    let mut map = metrics_addresses().lock().unwrap_or_else(|p| p.into_inner());
    for port in ports {
        map.remove(port);
    }
}

/// Each relay's metrics address by its public address, so that [`metric`]
/// and [`wait_metric`] take the relay's address as before.
fn metrics_addresses() -> &'static std::sync::Mutex<BTreeMap<SocketAddr, SocketAddr>> {
    static ADDRESSES: std::sync::OnceLock<std::sync::Mutex<BTreeMap<SocketAddr, SocketAddr>>> =
        std::sync::OnceLock::new();
    ADDRESSES.get_or_init(Default::default)
}

/// `GET path` over HTTP/1.1: (status, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_get_with(addr, path, &[]).await;
    (status, body)
}

/// `GET path` with extra request headers: (status, response head, body).
pub async fn http_get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let (status, head, body) = http_get_bytes(addr, path, headers).await;
    // A compressed body is not text; its head still is.
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// `GET path` with extra request headers: (status, response head, body
/// bytes).
pub async fn http_get_bytes(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read response");
        response
    };
    let response = tokio::time::timeout(WAIT, exchange).await.expect("HTTP answer in time");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, head, response.get(split + 4..).unwrap_or_default().to_vec())
}

/// One HTTP/1.1 request with an optional bearer token and a JSON body:
/// (status, response head, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        // A refused body may not be read whole: the answer still comes.
        let _ = stream.write_all(body.as_bytes()).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        response
    };
    let response = tokio::time::timeout(WAIT, exchange).await.expect("HTTP answer in time");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, head, String::from_utf8_lossy(response.get(split + 4..).unwrap_or_default()).into_owned())
}

/// One unlabelled metric from `GET /metrics` of the relay at `addr`
/// (read from its metrics address).
pub async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let metrics = metrics_addresses().lock().unwrap_or_else(|p| p.into_inner()).get(&addr).copied().unwrap_or(addr);
    let (status, body) = http_get(metrics, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    body.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing from:\n{body}"))
}

/// Reads a metric every 20 ms until `condition` holds; panics after [`WAIT`].
pub async fn wait_metric(addr: SocketAddr, name: &str, condition: impl Fn(f64) -> bool) {
    let mut every = tokio::time::interval(Duration::from_millis(20));
    let waiting = async {
        loop {
            every.tick().await;
            let value = metric(addr, name).await;
            if condition(value) {
                return;
            }
        }
    };
    tokio::time::timeout(WAIT, waiting).await.unwrap_or_else(|_| panic!("{name} never met the condition in {WAIT:?}"));
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw websocket to the relay, for input no well-behaved client sends.
pub async fn raw_socket(relay: &Relay) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(relay.url()).await.expect("websocket connects");
    socket
}

/// A raw websocket to a closed relay, with an invitation's token.
pub async fn raw_socket_with(relay: &Relay, token: &str) -> Socket {
    let url = format!("{}?token={token}", relay.url());
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    socket
}

/// This test process's memory (the relay runs in it), in KiB: the peak
/// (`VmHWM`) and the current resident set (`VmRSS`).
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("a memory figure")
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A `join` from `peer`, speaking `versions`.
pub fn join(peer: &str, versions: &[&str]) -> Vec<u8> {
    Message::Join {
        sender: peer.parse().expect("peer id"),
        metadata: PeerMetadata { storage_id: Some("raw-test-store".parse().expect("storage id")), is_ephemeral: false },
        supported_versions: Some(versions.iter().map(|v| (*v).to_owned()).collect()),
    }
    .encode()
}

/// Joins as `peer` and returns the relay's peer id.
pub async fn raw_join(socket: &mut Socket, peer: &str) -> PeerId {
    socket.send(WsMessage::Binary(join(peer, &["1"]).into())).await.expect("send join");
    match next_message(socket).await {
        Some(Message::Peer { sender, .. }) => sender,
        other => panic!("expected `peer`, got {other:?}"),
    }
}

/// The next protocol message; `None` when the relay closed the socket.
pub async fn next_message(socket: &mut Socket) -> Option<Message> {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next()).await.expect("a frame in time");
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => return Some(Message::decode(&bytes).expect("relay frames decode")),
            Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Reads until the relay closes; returns the `error` message it sent
/// before closing and the close code.
pub async fn expect_error_and_close(socket: &mut Socket) -> (String, Option<u16>) {
    let mut error = None;
    for _ in 0..100 {
        let frame = tokio::time::timeout(WAIT, socket.next()).await.expect("the relay answers in time");
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => {
                if let Ok(Message::Error { message, .. }) = Message::decode(&bytes) {
                    error = Some(message);
                }
            }
            Some(Ok(WsMessage::Close(frame))) => {
                let message = error.expect("an `error` message before the close");
                return (message, frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket failed before a close frame: {e}"),
            None => panic!("socket ended without a close frame"),
        }
    }
    panic!("no close after 100 frames")
}

/// A CBOR map of text keys to text or byte values, written by hand so that
/// tests can send what `sync-core`'s encoder never would.
pub fn cbor_map(entries: &[(&str, CborValue<'_>)]) -> Vec<u8> {
    fn head(out: &mut Vec<u8>, major: u8, len: usize) {
        match len {
            0..=23 => out.push(major << 5 | len as u8),
            24..=255 => out.extend([major << 5 | 24, len as u8]),
            256..=65535 => {
                out.push(major << 5 | 25);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(major << 5 | 26);
                out.extend((len as u32).to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    head(&mut out, 5, entries.len());
    for (key, value) in entries {
        head(&mut out, 3, key.len());
        out.extend(key.as_bytes());
        match value {
            CborValue::Text(text) => {
                head(&mut out, 3, text.len());
                out.extend(text.as_bytes());
            }
            CborValue::Bytes(bytes) => {
                head(&mut out, 2, bytes.len());
                out.extend(*bytes);
            }
        }
    }
    out
}

/// A value of [`cbor_map`].
pub enum CborValue<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// Every row of the relay's database, read through a separate read-only
/// connection (WAL lets it read while the relay writes).
pub fn stored_rows(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let path = data.join(server::DATABASE_FILE);
    let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the relay's database");
    let mut stmt = conn.prepare("SELECT key, value FROM kv").expect("prepare");
    stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .expect("query")
        .map(|row| row.expect("row"))
        .collect()
}

/// A small deterministic generator (xorshift64*), seeded by the test.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A websocket opened by hand on a raw TCP stream: frames are read as
/// bytes, so nothing answers the relay's pings (a dead peer).
pub async fn silent_socket(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /sync HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write upgrade");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(WAIT, stream.read_u8()).await.expect("upgrade answer in time");
        head.push(byte.expect("read upgrade answer"));
        assert!(head.len() < 4096, "upgrade answer too long");
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    stream
}

/// Reads raw server frames (unmasked, short) until a close frame; returns
/// its code and reason, and how many pings came before it.
pub async fn raw_frames_until_close(stream: &mut TcpStream) -> (u16, String, usize) {
    let mut pings = 0;
    for _ in 0..1000 {
        let mut header = [0u8; 2];
        tokio::time::timeout(WAIT, stream.read_exact(&mut header)).await.expect("a frame in time").expect("read");
        let opcode = header[0] & 0x0f;
        let len = usize::from(header[1] & 0x7f);
        assert!(len < 126, "only short control frames expected here");
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).await.expect("read payload");
        match opcode {
            0x9 => pings += 1,
            0x8 => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8_lossy(&payload[2..]).into_owned(), pings);
            }
            other => panic!("unexpected opcode {other}"),
        }
    }
    panic!("no close frame after 1000 frames")
}

/// Two clients of the relay at `url` on one document: the first creates it
/// holding `key = value`, the second opens it by id and waits until it has
/// the first's heads.
pub(crate) async fn two_clients_on_one_document(
    url: &str,
    key: &'static str,
    value: impl Into<sync_core::automerge::ScalarValue>,
) -> (Client, Client, sync_core::DocumentId) {
    use sync_core::automerge::ROOT;
    use sync_core::automerge::transaction::Transactable;
    let first = Client::connect(url, ClientOptions::default()).await.expect("first client connects");
    let second = Client::connect(url, ClientOptions::default()).await.expect("second client connects");
    let doc = first.create().await.expect("create");
    let value = value.into();
    first.change(&doc, move |tx| tx.put(ROOT, key, value)).await.expect("change");
    second.open(&doc).await.expect("open");
    let heads = first.heads(&doc).await.expect("heads");
    second.wait_until(&doc, WAIT, move |am| am.get_heads() == heads).await.expect("the second client has it");
    (first, second, doc)
}

/// Alice and Bob each write their own key and the same key `both`, at once:
/// neither has heard of the other's change when making its own.
pub(crate) async fn edit_concurrently(alice: &Client, bob: &Client, doc: &sync_core::DocumentId) {
    use sync_core::automerge::ROOT;
    use sync_core::automerge::transaction::Transactable;
    let (a, b) = tokio::join!(
        alice.change(doc, |tx| {
            tx.put(ROOT, "alice", 1)?;
            tx.put(ROOT, "both", "a")
        }),
        bob.change(doc, |tx| {
            tx.put(ROOT, "bob", 2)?;
            tx.put(ROOT, "both", "b")
        }),
    );
    a.expect("alice's change");
    b.expect("bob's change");
}

/// Runs a Python oracle script of this directory with `input` as JSON on
/// stdin and returns the JSON it prints. The interpreter is `ESSAIM_PYTHON`,
/// else the venv `scripts/setup.sh` makes under `target/`, else `python3`.
pub fn python_oracle(script: &str, input: &serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    let python = match std::env::var_os("ESSAIM_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/rythme-oracle-venv/bin/python3");
            if venv.exists() { venv } else { PathBuf::from("python3") }
        }
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("it").join(script);
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): install Python 3 and run scripts/setup.sh", python.display()));
    // An oracle that exits early (missing packages) closes its stdin: its
    // exit status and message, checked below, say why.
    let written = child.stdin.take().expect("piped stdin").write_all(&serde_json::to_vec(input).expect("json"));
    let output = child.wait_with_output().expect("oracle finishes");
    assert!(
        output.status.success(),
        "the oracle failed ({}) with {}:\n{}",
        output.status,
        python.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    written.expect("write the input to the oracle");
    serde_json::from_slice(&output.stdout).expect("oracle writes JSON")
}
