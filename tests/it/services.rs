//! The real services of `bench::services` (PostgreSQL, NATS, HAProxy),
//! shared with the cluster benchmarks, checked here: each works as the
//! cluster tests use it.

pub use bench::services::*;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use postgres::NoTls;

#[test]
fn postgres_schemas_are_isolated() {
    let pg = postgres();
    let (a, b) = (pg.fresh_schema("isolation"), pg.fresh_schema("isolation"));
    assert_ne!(a, b);
    // The relay's way of connecting: the URL as it is.
    let mut in_a = postgres::Client::connect(&a, NoTls).expect("connect with schema a");
    let mut in_b = postgres::Client::connect(&b, NoTls).expect("connect with schema b");
    let search_path: String = in_a.query_one("SHOW search_path", &[]).expect("search_path").get(0);
    assert_eq!(format!("{}?options=-csearch_path%3D{search_path}", pg.url()), a);

    in_a.batch_execute("CREATE TABLE docs (id int PRIMARY KEY); INSERT INTO docs VALUES (1), (2)").expect("table in a");
    let error = in_b.query("SELECT * FROM docs", &[]).expect_err("a's table is not in b");
    assert_eq!(error.code(), Some(&postgres::error::SqlState::UNDEFINED_TABLE), "{error}");
    in_b.batch_execute("CREATE TABLE docs (id int PRIMARY KEY); INSERT INTO docs VALUES (7)").expect("table in b");
    let count = |client: &mut postgres::Client| -> i64 {
        client.query_one("SELECT count(*) FROM docs", &[]).expect("count").get(0)
    };
    assert_eq!((count(&mut in_a), count(&mut in_b)), (2, 1));
    let mut inspect = pg.client(&b);
    assert_eq!(count(&mut inspect), 1);

    // The cluster tests count on durable commits and many connections.
    let fsync: String = inspect.query_one("SHOW fsync", &[]).expect("fsync").get(0);
    assert_eq!(fsync, "on");
    if pg.is_private() {
        let max: String = inspect.query_one("SHOW max_connections", &[]).expect("max_connections").get(0);
        assert_eq!(max, "300");
    }
}

#[tokio::test]
async fn nats_relays_a_message() {
    use futures_util::StreamExt;

    let nats = nats();
    let info = nats_info(nats.addr(), Duration::from_secs(2)).expect("INFO from the NATS server");
    assert!(info.contains("\"server_id\""), "{info}");
    let subject = format!("{}.commits", nats.fresh_prefix("relay"));
    assert_ne!(nats.fresh_prefix("relay"), nats.fresh_prefix("relay"));

    let client = async_nats::connect(nats.url()).await.expect("connect to NATS");
    let mut subscription = client.subscribe(subject.clone()).await.expect("subscribe");
    // The subscription is on the server once a flush has come back.
    client.flush().await.expect("flush");
    client.publish(subject.clone(), "hello".into()).await.expect("publish");
    let message = tokio::time::timeout(crate::support::WAIT, subscription.next())
        .await
        .expect("message in time")
        .expect("subscription open");
    assert_eq!((message.subject.as_str(), &message.payload[..]), (subject.as_str(), &b"hello"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_balances_fails_over_and_tunnels_websockets() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    let backends = [Backend::start("one"), Backend::start("two")];
    let proxy = Haproxy::start(&[backends[0].addr, backends[1].addr]);
    proxy.wait_backend_states(&["UP", "UP"]).await;

    // Round robin without a token, both backends reached.
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let (status, body) = crate::support::http_get(proxy.addr(), "/").await;
        assert_eq!(status, 200, "{body}");
        names.insert(body);
    }
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["one", "two"]);
    // One token, one backend.
    let (_, home) = crate::support::http_get(proxy.addr(), "/?token=alice").await;
    for _ in 0..5 {
        assert_eq!(crate::support::http_get(proxy.addr(), "/?token=alice").await.1, home);
    }

    // A websocket through the proxy, on the same backend as the token.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws?token=alice", proxy.addr()))
        .await
        .expect("websocket through HAProxy");
    ws.send(WsMessage::text("ping")).await.expect("send");
    let echo = tokio::time::timeout(crate::support::WAIT, ws.next()).await.expect("echo in time");
    assert_eq!(echo.expect("open").expect("echo").into_text().expect("text").as_str(), "ping from ".to_owned() + &home);

    // Kill alice's backend: her requests go to the other within seconds,
    // and her websocket, tunnelled to the dead backend, ends.
    let (dead, alive) = if home == "one" { (0, "two") } else { (1, "one") };
    let [first, second] = backends;
    let (mut killed, _kept) = if dead == 0 { (first, second) } else { (second, first) };
    let killed_at = Instant::now();
    killed.kill();
    // No request fails: HAProxy retries a refused connection on another
    // backend at once (`option redispatch 1`; with the default, on the
    // last retry only, after two one-second turn-arounds).
    let (mut answered_in_a_row, mut failures) = (0, 0);
    while answered_in_a_row < 20 {
        assert!(killed_at.elapsed() < Duration::from_secs(5), "no failover after 5 s ({failures} failures)");
        match try_get(proxy.addr(), "/?token=alice").await {
            Some((200, body)) => {
                assert_eq!(body, alive);
                answered_in_a_row += 1;
            }
            _ => {
                failures += 1;
                answered_in_a_row = 0;
            }
        }
    }
    eprintln!("failover: 20 answers in a row after {:.0?}", killed_at.elapsed());
    assert_eq!(failures, 0);
    let ended = tokio::time::timeout(crate::support::WAIT, ws.next()).await.expect("websocket ends in time");
    assert!(!matches!(ended, Some(Ok(WsMessage::Text(_)))), "{ended:?}");

    let mut states = ["UP", "UP"];
    states[dead] = "DOWN";
    proxy.wait_backend_states(&states).await;
}

/// `GET path` through a fresh connection, `None` if it fails: (status,
/// body).
async fn try_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
    };
    tokio::time::timeout(crate::support::WAIT, exchange).await.ok()?
}

/// A tiny relay stand-in for HAProxy: its name on `/`, 200 on `/healthz`, an
/// echo websocket on `/ws`. It runs on a runtime of its own, so that
/// [`Backend::kill`] closes every connection it holds, like a dead process.
struct Backend {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    fn start(name: &'static str) -> Backend {
        use axum::extract::ws::{Message, WebSocketUpgrade};
        use axum::routing::get;

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let echo = move |upgrade: WebSocketUpgrade| async move {
                    upgrade.on_upgrade(move |mut socket| async move {
                        while let Some(Ok(Message::Text(text))) = socket.recv().await {
                            let reply = format!("{} from {name}", text.as_str());
                            if socket.send(Message::text(reply)).await.is_err() {
                                break;
                            }
                        }
                    })
                };
                let app = axum::Router::new()
                    .route("/", get(move || async move { name }))
                    .route("/healthz", get(|| async { "ok" }))
                    .route("/ws", get(echo));
                tokio::select! {
                    served = axum::serve(listener, app) => served.expect("serve"),
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection's task.
            drop(runtime);
        });
        Backend { addr, stop: Some(stop), thread: Some(thread) }
    }

    fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("backend thread");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}
