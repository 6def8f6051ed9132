//! Hostile websocket peers against the relay (issue #12, items 6 and 9, and
//! the standing guard on panics): unfinished fragmented messages against
//! the real `essaim` binary, connection slots per invitation and per
//! address, and a panic in the hub reached by one peer's input. Each test
//! checks that the relay stays up and serves another client afterwards.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use futures_util::{SinkExt, StreamExt};
use server::invitations::{Invitations, Role};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::support::{
    WAIT, expect_error_and_close, http_get, metric, raw_join, raw_socket, start_relay, start_relay_with,
    two_clients_on_one_document, wait_metric,
};

/// The real `essaim` binary serving in open mode, killed when dropped.
pub(crate) struct Binary {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) metrics: SocketAddr,
}

impl Binary {
    /// Starts `essaim serve` with `flags` on free ports (metrics apart) and
    /// waits for both addresses in its log; the rest of its log is echoed.
    pub(crate) async fn start(data: &Path, flags: &[&str]) -> Binary {
        let mut child = Command::new(crate::crash::essaim_binary())
            .args(["serve", "--open", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(flags)
            .env("NO_COLOR", "1")
            .env("ESSAIM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn essaim");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let (mut addr, mut metrics) = (None, None);
        let reading = async {
            while let Ok(Some(line)) = lines.next_line().await {
                println!("essaim: {line}");
                let address = line.split("address=").nth(1).and_then(|rest| rest.split_whitespace().next());
                let address = address.and_then(|a| a.parse::<SocketAddr>().ok());
                if line.contains("serving /metrics") {
                    metrics = address;
                } else if line.contains("listening") {
                    addr = address;
                }
                if addr.is_some() && metrics.is_some() {
                    return;
                }
            }
        };
        tokio::time::timeout(WAIT, reading).await.expect("the relay logs its addresses in time");
        // Keep draining the log, so that the pipe never fills.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                println!("essaim: {line}");
            }
        });
        let addr = addr.expect("the relay's address");
        let metrics = metrics.expect("the relay's metrics address");
        crate::support::forget_relay_addresses(&[addr, metrics]);
        Binary { child, addr, metrics }
    }

    /// A field of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`).
    pub(crate) fn status_kib(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("the relay is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{field} missing"))
    }
}

/// Size of each fragment of the attackers' bulk.
const FRAGMENT: usize = 1024 * 1024;

/// How one attacker's connection ended.
#[derive(Debug)]
struct Ending {
    /// The close code, if a close frame arrived (the socket may also be
    /// reset while the attacker writes).
    code: Option<u16>,
    /// From the message's first byte to the end of the connection.
    after: Duration,
    /// Pings the relay sent meanwhile (each answered).
    pings: usize,
}

/// One attacker: starts a binary message of `bulk` bytes in 1 MiB
/// fragments, then adds a 1 KiB fragment every 200 ms and never finishes
/// it, reading all along so that the relay's pings are answered (tungstenite
/// queues the pong as it reads the ping). Returns how the connection ended,
/// or `None` if it was still open after `give_up`.
async fn unfinished_message(url: String, bulk: usize, give_up: Duration) -> Option<Ending> {
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    let (mut sink, mut stream) = socket.split();
    let started = Instant::now();
    let writing = async move {
        let mut opcode = OpCode::Data(Data::Binary);
        for _ in 0..bulk / FRAGMENT {
            let frame = Frame::message(vec![7u8; FRAGMENT], opcode, false);
            if sink.send(WsMessage::Frame(frame)).await.is_err() {
                return;
            }
            opcode = OpCode::Data(Data::Continue);
        }
        let mut pace = tokio::time::interval(Duration::from_millis(200));
        let steps = give_up.as_millis() / 200 + 1;
        for _ in 0..steps {
            pace.tick().await;
            let frame = Frame::message(vec![7u8; 1024], opcode, false);
            if sink.send(WsMessage::Frame(frame)).await.is_err() {
                return;
            }
        }
    };
    let mut pings = 0;
    let reading = async {
        // Bounded: the timeout below ends it.
        loop {
            match stream.next().await {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(WsMessage::Ping(_))) => pings += 1,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    };
    let reading = tokio::time::timeout(give_up, reading);
    tokio::pin!(writing, reading);
    let code = tokio::select! {
        code = &mut reading => code,
        () = &mut writing => reading.await,
    };
    let after = started.elapsed();
    code.ok().map(|code| Ending { code, after, pings })
}

// See: issue #12, item 6.
#[tokio::test]
async fn r12_06_unfinished_fragmented_messages_are_bounded_and_timed_out() {
    // See: issue #12, item 6. The attack, scaled down: 8
    // connections each send 16 MiB of a fragmented message that never ends
    // (128 MiB in all), answering pings (every second here) so that the
    // keepalive never ends them. The relay may hold 24 MiB of unfinished
    // messages in all and gives a message 2 s. Then two slow connections,
    // each holding 1 MiB and adding to it while answering pings, must be
    // closed by the deadline.
    const ATTACKERS: usize = 8;
    const BULK: usize = 16 * 1024 * 1024;
    const BUDGET: usize = 24 * 1024 * 1024;
    let deadline = Duration::from_secs(2);
    let data = TempDir::new().expect("temp dir");
    let budget = BUDGET.to_string();
    let seconds = deadline.as_secs().to_string();
    let relay = Binary::start(
        data.path(),
        &[
            "--ping-interval-secs",
            "1",
            "--ping-timeout-secs",
            "30",
            "--max-inbound-bytes",
            &budget,
            "--message-timeout-secs",
            &seconds,
        ],
    )
    .await;
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    let url = format!("ws://{}/sync", relay.addr);
    let before = relay.status_kib("VmRSS:");
    let started = Instant::now();
    let give_up = deadline + Duration::from_secs(6);
    let attackers: Vec<_> =
        (0..ATTACKERS).map(|_| tokio::spawn(unfinished_message(url.clone(), BULK, give_up))).collect();
    let mut endings = Vec::new();
    for attacker in attackers {
        endings.push(attacker.await.expect("attacker task"));
    }
    let peak = relay.status_kib("VmHWM:");
    let after = relay.status_kib("VmRSS:");
    println!(
        "{ATTACKERS} x {} MiB unfinished: relay RSS {} MiB before, peak {} MiB, {} MiB after, in {:.1} s; endings {endings:?}",
        BULK >> 20,
        before >> 10,
        peak >> 10,
        after >> 10,
        started.elapsed().as_secs_f64()
    );
    // Every connection was closed by the relay, by the deadline at the
    // latest (a margin for a loaded machine), with "relay busy, retry
    // later" (1013) or "message too slow" (1008).
    for ending in &endings {
        let ending = ending.as_ref().expect("the relay closed the unfinished message's connection");
        assert!(ending.after < deadline + Duration::from_secs(4), "{ending:?}");
        assert!(matches!(ending.code, None | Some(1008) | Some(1013)), "{ending:?}");
    }
    // The relay held what the budget allows, not what the attackers sent.
    let grew = peak.saturating_sub(before) >> 10;
    assert!(grew < 64, "the relay's peak RSS grew by {grew} MiB for {} MiB of unfinished messages", BUDGET >> 20);
    wait_metric(relay.metrics, "essaim_inbound_unfinished_bytes", |bytes| bytes == 0.0).await;
    // Slow messages within the budget: pongs do not save them.
    let slow: Vec<_> = (0..2).map(|_| tokio::spawn(unfinished_message(url.clone(), FRAGMENT, give_up))).collect();
    for slow in slow {
        let ending = slow.await.expect("slow task").expect("the relay closed the slow message's connection");
        println!("slow message: {ending:?}");
        assert_eq!(ending.code, Some(1008), "{ending:?}");
        assert!(ending.pings >= 1, "{ending:?}");
        assert!(ending.after >= deadline && ending.after < deadline + Duration::from_secs(4), "{ending:?}");
    }
    wait_metric(relay.metrics, "essaim_inbound_unfinished_bytes", |bytes| bytes == 0.0).await;
    // Another client syncs afterwards.
    let client = Client::connect(&url, ClientOptions::default()).await.expect("client connects");
    let doc = client.create().await.expect("create");
    client.change(&doc, |tx| tx.put(ROOT, "apres", 1)).await.expect("change");
    let heads = client.heads(&doc).await.expect("heads");
    client.wait_relay_has(&doc, heads, WAIT).await.expect("the relay took the change");
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    let _ = client.close().await;
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// A websocket upgrade to `relay` from the local address `from` (any of
/// 127.0.0.0/8 is ours on Linux) with `token`, and extra request headers:
/// the socket, or the refusal's status and body.
async fn connect_from(
    from: IpAddr,
    relay: SocketAddr,
    token: &str,
    headers: &[(&'static str, &str)],
) -> Result<WebSocketStream<TcpStream>, (u16, String)> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind a loopback address");
    let stream = socket.connect(relay).await.expect("connect");
    let mut request = format!("ws://{relay}/sync?token={token}").into_client_request().expect("request");
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().expect("header value"));
    }
    let upgrade = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(request, stream));
    match upgrade.await.expect("upgrade answered in time") {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

// See: issue #12, item 9.
#[tokio::test]
async fn r12_09_one_invitation_or_address_cannot_hold_every_slot() {
    // See: issue #12, item 9. Eight connection slots in all; an invitation
    // may hold 3, an address 4. The resident link, handed out widely, tries
    // to take every slot.
    let data = TempDir::new().expect("temp dir");
    let profil = sync_core::agenda::Profil { nom: "Territoire".into(), ..Default::default() };
    let doc = server::create_territory(data.path(), profil).expect("territory created");
    let invitations = Invitations::open(data.path()).expect("invitations");
    let token = |role, seed| invitations.create(&doc, role, None, None, now(), [seed; 24]).expect("invitation").1;
    let (organiser, shared, other, third, fourth) = (
        token(Role::Organisateur, 1),
        token(Role::Habitant, 2),
        token(Role::Habitant, 3),
        token(Role::Habitant, 4),
        token(Role::Habitant, 5),
    );
    let proxy: IpAddr = "127.0.0.4".parse().expect("ip");
    let relay = start_relay_with(data, |config| {
        config.open = false;
        config.max_connections = 12;
        config.max_connections_per_invitation = 3;
        config.max_connections_per_address = 4;
        config.trusted_proxies = vec![proxy];
    })
    .await;
    let (first, second): (IpAddr, IpAddr) = ("127.0.0.2".parse().expect("ip"), "127.0.0.3".parse().expect("ip"));
    // The shared link gets its share, then 429, long before the slots run out.
    let mut held = Vec::new();
    let mut refusal = None;
    for _ in 0..13 {
        match connect_from(first, relay.addr, &shared, &[]).await {
            Ok(socket) => held.push(socket),
            Err(refused) => {
                refusal = Some(refused);
                break;
            }
        }
    }
    let (status, body) = refusal.expect("a refusal");
    assert_eq!(held.len(), 3, "one invitation held {} of 12 slots before a refusal ({status} {body})", held.len());
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("invitation"), "{body}");
    // Another invitation from that address: one more, then the address is full.
    held.push(connect_from(first, relay.addr, &other, &[]).await.expect("another invitation connects"));
    let (status, body) = connect_from(first, relay.addr, &third, &[]).await.expect_err("the address is full");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("address"), "{body}");
    // Another address is served.
    held.push(connect_from(second, relay.addr, &third, &[]).await.expect("another address connects"));
    // Behind the trusted proxy, each client counts under its own address.
    for _ in 0..3 {
        let socket = connect_from(proxy, relay.addr, &fourth, &[("x-forwarded-for", "198.51.100.7")]).await;
        held.push(socket.expect("a client behind the proxy connects"));
    }
    let behind = [("x-forwarded-for", "198.51.100.7")];
    held.push(connect_from(proxy, relay.addr, &other, &behind).await.expect("its fourth connection"));
    let (status, body) = connect_from(proxy, relay.addr, &third, &behind).await.expect_err("that client is full");
    assert_eq!(status, 429, "{body}");
    let elsewhere = [("x-forwarded-for", "198.51.100.8")];
    held.push(connect_from(proxy, relay.addr, &third, &elsewhere).await.expect("another client behind the proxy"));
    assert_eq!(metric(relay.addr, "essaim_connections_refused_per_invitation_total").await, 1.0);
    assert_eq!(metric(relay.addr, "essaim_connections_refused_per_address_total").await, 2.0);
    // The organiser still connects and syncs.
    let url = format!("{}?token={organiser}", relay.url());
    let client = Client::connect(&url, ClientOptions::default()).await.expect("organiser connects");
    client.open(&doc).await.expect("open");
    client.change(&doc, |tx| tx.put(ROOT, "apres", 1)).await.expect("change");
    let heads = client.heads(&doc).await.expect("heads");
    client.wait_relay_has(&doc, heads, WAIT).await.expect("the relay took the change");
    // A slot given back is free again.
    let open = metric(relay.addr, "essaim_connections").await;
    drop(held.remove(0));
    wait_metric(relay.addr, "essaim_connections", |n| n < open).await;
    held.push(connect_from(first, relay.addr, &shared, &[]).await.expect("a freed slot is taken again"));
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    let _ = client.close().await;
    drop(held);
    relay.stop().await;
}

// See: issue #12, "a relay task must not take the process down because of
// one document or one peer" (panic containment).
#[tokio::test]
async fn r12_panic_in_one_peers_input_closes_only_that_connection() {
    // See: issue #12, standing guard on panics. The test-only fault
    // injection (`server::fault`) makes the hub panic on one frame, as a
    // bug reached by peer input would.
    let relay = start_relay().await;
    let (alice, bob, doc) = two_clients_on_one_document(&relay.url(), "avant", 1).await;
    let mut fauteur = raw_socket(&relay).await;
    raw_join(&mut fauteur, "fauteur").await;
    fauteur.send(WsMessage::Binary(server::fault::PANIC_FRAME.to_vec().into())).await.expect("send");
    let (message, code) = expect_error_and_close(&mut fauteur).await;
    assert_eq!(code, Some(1011), "{message}");
    assert!(message.contains("internal error"), "{message}");
    // The others keep syncing through the same hub.
    alice.change(&doc, |tx| tx.put(ROOT, "apres", 2)).await.expect("change");
    let heads = alice.heads(&doc).await.expect("heads");
    bob.wait_until(&doc, WAIT, move |am| am.get_heads() == heads).await.expect("bob gets alice's change");
    // A new client connects and gets the document.
    let carol = relay.client().await;
    carol.open(&doc).await.expect("open");
    let heads = alice.heads(&doc).await.expect("heads");
    carol.wait_until(&doc, WAIT, move |am| am.get_heads() == heads).await.expect("carol gets the document");
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    assert_eq!(metric(relay.addr, "essaim_errors_total{kind=\"internal\"}").await, 1.0);
    let _ = alice.close().await;
    let _ = bob.close().await;
    let _ = carol.close().await;
    // The hub is still running: the relay stops cleanly.
    relay.stop().await;
}
