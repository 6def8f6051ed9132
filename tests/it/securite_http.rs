//! Issue 12, the relay's HTTP surface under hostile clients: feed
//! amplification, slowloris, reflected hosts, rate limiting behind a proxy,
//! `/metrics`, caching and file modes, security headers, and the CLI's
//! duration parser. Real relay, real sockets, real SQLite.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use client::{Client, ClientOptions};
use serde_json::json;
use server::invitations::{Invitations, Role};
use sync_core::agenda::{Collection, Edit, Profil, VisibiliteTerritoire};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;
use sync_core::{ChunkKind, DocumentId, StorageKey};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{Relay, WAIT, http_get, http_get_with, memory_kib, metric, start_relay_with, wait_metric};

fn territory(data: &TempDir, nom: &str, public: bool) -> DocumentId {
    let visibilite = if public { VisibiliteTerritoire::Public } else { VisibiliteTerritoire::Prive };
    let profil = Profil { nom: nom.into(), visibilite, ..Profil::default() };
    server::create_territory(data.path(), profil).expect("territory")
}

fn token(data: &TempDir, doc: &DocumentId, role: Role, seed: u8) -> String {
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, role, None, None, 0, [seed; 24]).expect("invitation").1
}

fn action(id: &str, titre: &str) -> Edit {
    Edit::Creer {
        collection: Collection::Actions,
        id: id.into(),
        valeur: json!({
            "titre": titre,
            "visibilite": "public",
            "publication": "publie",
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                        "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-12-29" } },
        }),
    }
}

async fn organise(relay: &Relay, token: &str, doc: &DocumentId, edits: Vec<Edit>) {
    let url = format!("{}?token={token}", relay.url());
    let client = Client::connect(&url, ClientOptions::default()).await.expect("organiser connects");
    client.open(doc).await.expect("open");
    client.wait_until(doc, WAIT, |am| !am.get_heads().is_empty()).await.expect("territory loaded");
    for edit in edits {
        client.apply(doc, edit).await.expect("valid edit");
    }
    let heads = client.heads(doc).await.expect("heads");
    client.wait_relay_has(doc, heads, WAIT).await.expect("relay stored the edits");
}

/// A response head's headers, lower-cased names, without `date`.
fn header_lines(head: &str) -> Vec<String> {
    let mut lines: Vec<String> =
        head.lines().skip(1).map(|l| l.to_ascii_lowercase()).filter(|l| !l.starts_with("date:")).collect();
    lines.sort();
    lines
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// See: issue #12, item 4.
#[tokio::test]
async fn r12_04_concurrent_feed_requests_load_a_territory_once() {
    let data = TempDir::new().expect("temp dir");
    let relay = start_relay_with(data, |_| {}).await;
    // Once it answers, its storage (the `kv` table) is there.
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    // One large territory (3,000 changes), public, stored as one snapshot.
    let mut territoire = bench::territoire::realiste(3_000, 4);
    let mut champs = serde_json::Map::new();
    champs.insert("visibilite".into(), json!("public"));
    sync_core::agenda::appliquer(&mut territoire.am, 1_767_603_600_000, "essai", Edit::ModifierProfil { champs })
        .expect("public");
    let doc = territoire.doc.clone();
    {
        let conn = rusqlite::Connection::open(relay.data.path().join(server::DATABASE_FILE)).expect("sqlite");
        conn.busy_timeout(WAIT).expect("busy timeout");
        let key = StorageKey::chunk(&doc, ChunkKind::Snapshot, "grand").to_string();
        conn.execute("INSERT INTO kv (key, value) VALUES (?1, ?2)", rusqlite::params![key, territoire.am.save()])
            .expect("stored");
        Invitations::open(relay.data.path()).expect("invitations").add_territory(&doc, 0).expect("territory");
    }
    drop(territoire);
    let (_, rss_before) = memory_kib();
    let started = Instant::now();
    let requests: Vec<_> = (0..16).map(|_| tokio::spawn(http_get_with(relay.addr, "/agenda.json", &[]))).collect();
    let mut etag = None;
    for request in requests {
        let (status, head, body) = request.await.expect("request task");
        assert!(status == 200 || status == 503, "{status} {body}");
        if status == 200 {
            assert!(body.contains("\"@type\""), "{body}");
            etag = header(&head, "etag").map(str::to_owned);
        } else {
            assert!(header(&head, "retry-after").is_some(), "{head}");
        }
    }
    let wall = started.elapsed();
    let (peak, rss_after) = memory_kib();
    println!(
        "16 concurrent /agenda.json: {:.2} s, RSS {} -> {} MiB (process peak {} MiB)",
        wall.as_secs_f64(),
        rss_before / 1024,
        rss_after / 1024,
        peak / 1024
    );
    // One load and one render served all sixteen.
    assert_eq!(metric(relay.addr, "essaim_feed_documents_read_total").await, 1.0);
    assert_eq!(metric(relay.addr, "essaim_feed_renders_total").await, 1.0);
    // A conditional request loads nothing.
    let etag = etag.expect("an ETag");
    let started = Instant::now();
    let (status, _, _) = http_get_with(relay.addr, "/agenda.json", &[("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    println!("304: {:.3} s", started.elapsed().as_secs_f64());
    assert_eq!(metric(relay.addr, "essaim_feed_documents_read_total").await, 1.0);
    // The relay serves everyone else meanwhile.
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    relay.stop().await;
}

/// Opens a TCP connection to `to` from the source address `from`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

// See: issue #12, item 5.
#[tokio::test]
async fn r12_05_half_open_connections_are_capped_and_timed_out() {
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let relay = start_relay_with(data, |c| {
        c.header_read_timeout = Duration::from_secs(1);
        c.http_idle_timeout = Duration::from_secs(1);
        c.max_http_connections_per_address = 50;
    })
    .await;
    // 300 half-open connections from one address: half send nothing, half
    // start a request and never finish its headers.
    let attacker: IpAddr = "127.0.0.2".parse().expect("ip");
    let mut held = Vec::new();
    for i in 0..300 {
        let Ok(mut stream) = connect_from(attacker, relay.addr).await else { continue };
        if i % 2 == 1 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
        }
        held.push(stream);
    }
    assert!(metric(relay.addr, "essaim_http_connections").await <= 50.0 + 2.0);
    // Another client is served: health, a feed, and sync.
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    assert_eq!(http_get(relay.addr, &format!("/t/{public}/agenda.ics")).await.0, 200);
    let client = relay.client().await;
    let doc = client.create().await.expect("create");
    client.change(&doc, |tx| tx.put(ROOT, "x", 1)).await.expect("change");
    client.wait_relay_has(&doc, client.heads(&doc).await.expect("heads"), WAIT).await.expect("synced");
    // The half-open ones are closed by the timeouts: each reads the end.
    let closing = async {
        for stream in &mut held {
            let mut buf = [0u8; 512];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    };
    tokio::time::timeout(WAIT, closing).await.expect("half-open connections closed by the timeout");
    // Only the client's websocket is left, and the metrics request itself.
    wait_metric(relay.addr, "essaim_http_connections", |n| n <= 2.0).await;
    let _ = client.close().await;
    relay.stop().await;
}

// See: issue #12, item 14.
#[tokio::test]
async fn r12_14_feed_links_never_reflect_a_bad_host() {
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let organiser = token(&data, &public, Role::Organisateur, 1);
    let relay = start_relay_with(data, |c| c.open = false).await;
    organise(&relay, &organiser, &public, vec![action("a1", "Repair café")]).await;
    let path = format!("/t/{public}/agenda.json");
    // A forged Host and scheme: ignored, and the answer is private.
    let (status, head, body) = http_get_bytes_host(relay.addr, &path, "evil.example\"><x", "javascript").await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("evil") && !body.contains("javascript"), "{body}");
    assert!(body.contains(&format!("http://{}/t/{public}/", relay.addr)), "{body}");
    assert!(header(&head, "cache-control").is_some_and(|c| c.starts_with("private")), "{head}");
    // A valid one is used, still not publicly cacheable.
    let (_, head, body) = http_get_bytes_host(relay.addr, &path, "agenda.example.org", "https").await;
    assert!(body.contains(&format!("https://agenda.example.org/t/{public}/")), "{body}");
    assert!(header(&head, "cache-control").is_some_and(|c| c.starts_with("private")), "{head}");
    let data = relay.stop().await;
    // With --url, links use it whatever the request says, and are public.
    let relay = start_relay_with(data, |c| c.public_url = Some("https://essaim.example.net/".into())).await;
    let (_, head, body) = http_get_bytes_host(relay.addr, &path, "evil.example", "http").await;
    assert!(body.contains(&format!("https://essaim.example.net/t/{public}/")) && !body.contains("evil"), "{body}");
    assert!(header(&head, "cache-control").is_some_and(|c| c.starts_with("public")), "{head}");
    relay.stop().await;
}

/// `GET path` with a given `Host` and `X-Forwarded-Proto`.
async fn http_get_bytes_host(addr: SocketAddr, path: &str, host: &str, proto: &str) -> (u16, String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: {proto}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        response
    };
    let response = tokio::time::timeout(WAIT, exchange).await.expect("answer in time");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, head.to_owned(), body.to_owned())
}

/// `GET path` as a client behind a proxy: `X-Forwarded-For: client`.
async fn get_forwarded(addr: SocketAddr, path: &str, client: &str) -> (u16, String, String) {
    http_get_with(addr, path, &[("X-Forwarded-For", client)]).await
}

// See: issue #12, item 16.
#[tokio::test]
async fn r12_16_private_views_are_not_failed_logins_and_429_stays_429() {
    let data = TempDir::new().expect("temp dir");
    let private = territory(&data, "Quartier discret", false);
    let resident = token(&data, &private, Role::Habitant, 3);
    let relay = start_relay_with(data, |c| {
        c.open = false;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    let missing = DocumentId::from_bytes(&[9; 16]).expect("id");
    // Anonymous: a private territory is exactly a missing one, and many
    // views lock nobody out.
    let (absent, absent_head, absent_body) = http_get_with(relay.addr, &format!("/t/{missing}/agenda.ics"), &[]).await;
    assert_eq!(absent, 404);
    for _ in 0..15 {
        let (status, head, body) = http_get_with(relay.addr, &format!("/t/{private}/agenda.ics"), &[]).await;
        assert_eq!((status, &body), (404, &absent_body));
        assert_eq!(header_lines(&head), header_lines(&absent_head));
    }
    let with_token = format!("/t/{private}/agenda.ics?token={resident}");
    let (status, head, body) = http_get_with(relay.addr, &with_token, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(header(&head, "cache-control").is_some_and(|c| c.starts_with("private")), "{head}");
    // Ten bad tokens from one client behind the proxy: that client gets
    // 429 (not 404), with its valid token too; another client does not.
    let bad = format!("/t/{private}/agenda.ics?token=0123456789abcdef.00");
    for _ in 0..10 {
        assert_eq!(get_forwarded(relay.addr, &bad, "198.51.100.1").await.0, 401);
    }
    let (status, head, _) = get_forwarded(relay.addr, &with_token, "198.51.100.1").await;
    assert_eq!(status, 429);
    assert!(header(&head, "retry-after").is_some(), "{head}");
    assert_eq!(get_forwarded(relay.addr, &with_token, "198.51.100.2").await.0, 200);
    // A forged earlier hop changes nothing: the proxy's last one counts.
    assert_eq!(get_forwarded(relay.addr, &with_token, "198.51.100.2, 198.51.100.1").await.0, 429);
    assert_eq!(get_forwarded(relay.addr, &with_token, "198.51.100.1, 198.51.100.2").await.0, 200);
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    relay.stop().await;
}

// See: issue #12, item 17.
#[tokio::test]
async fn r12_17_metrics_are_not_on_the_public_port() {
    let relay = start_relay_with(TempDir::new().expect("temp dir"), |_| {}).await;
    let (status, body) = http_get(relay.addr, "/metrics").await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("essaim_"), "{body}");
    let (status, body) = http_get(relay.metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("essaim_connections "), "{body}");
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    relay.stop().await;
}

// See: issue #12, item 18.
#[tokio::test]
async fn r12_18_private_feeds_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let data = TempDir::new().expect("temp dir");
    let nested = data.path().join("donnees");
    let private = {
        let profil = Profil { nom: "Quartier".into(), ..Profil::default() };
        server::create_territory(&nested, profil).expect("territory")
    };
    let resident = {
        let invitations = Invitations::open(&nested).expect("invitations");
        invitations.create(&private, Role::Habitant, None, None, 0, [5; 24]).expect("invitation").1
    };
    let relay = start_relay_with(data, |c| {
        c.open = false;
        c.data_dir = c.data_dir.join("donnees");
    })
    .await;
    let (status, head, _) = http_get_with(relay.addr, &format!("/t/{private}/?token={resident}"), &[]).await;
    assert_eq!(status, 200);
    let cache = header(&head, "cache-control").expect("cache-control");
    assert!(cache.starts_with("private") && !cache.contains("public"), "{cache}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&nested), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let file = nested.join(format!("{}{suffix}", server::DATABASE_FILE));
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    relay.stop().await;
}

// See: issue #12, item 12 (the relay's headers).
#[tokio::test]
async fn r12_12_every_response_carries_security_headers() {
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let relay = start_relay_with(data, |_| {}).await;
    for path in ["/healthz".to_owned(), format!("/t/{public}/"), format!("/t/{public}/agenda.ics"), "/nope".into()] {
        let (_, head, _) = http_get_with(relay.addr, &path, &[]).await;
        let csp = header(&head, "content-security-policy").unwrap_or_else(|| panic!("{path}: {head}"));
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{path}: {csp}");
        assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(header(&head, "referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(header(&head, "x-frame-options"), Some("DENY"), "{path}");
    }
    let (_, head, _) = http_get_with(relay.addr, &format!("/t/{public}/"), &[]).await;
    assert!(header(&head, "content-security-policy").is_some_and(|c| c.starts_with("default-src 'none'")), "{head}");
    relay.stop().await;
}

// See: issue #12, item 21.
#[test]
fn r12_21_invite_expires_gives_clear_errors() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Commune", false);
    for expires in ["3é", "999999999999999d", "é", "0d", "12x"] {
        let output = std::process::Command::new(crate::crash::essaim_binary())
            .args(["invite", "--territory", &doc.to_string(), "--role", "resident", "--expires", expires, "--data"])
            .arg(data.path())
            .output()
            .expect("run essaim");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{expires}: {stderr}");
        assert_eq!(output.status.code(), Some(1), "{expires}: {stderr}");
        assert!(stderr.contains("invalid duration") && !stderr.contains("panicked"), "{expires}: {stderr}");
    }
    assert!(Invitations::open(data.path()).expect("invitations").list(&doc).expect("list").is_empty());
    let output = std::process::Command::new(crate::crash::essaim_binary())
        .args(["invite", "--territory", &doc.to_string(), "--role", "resident", "--expires", "30d", "--data"])
        .arg(data.path())
        .output()
        .expect("run essaim");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
