//! A document's chunks over HTTP (`/d/{doc}/chunks…`) from the real relay
//! and its SQLite file: the listing, byte ranges, access like `/sync`, and
//! `client::download` resuming after a cut link and after compaction, then
//! websocket sync bringing only what is newer, cheaply: the download leaves
//! a sync state with the relay's store (named by `Essaim-Storage-Id`).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use client::download::{Download, DownloadError, download_document};
use client::{Client, ClientOptions, MemoryStore};
use server::invitations::{Invitations, Role};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ChangeHash, ROOT, sync};
use sync_core::{ChunkKind, DocumentId, StorageId, StorageKey, agenda};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{Relay, Rng, WAIT, http_get_bytes, start_relay, start_relay_with, stored_rows};

/// A response header's value (names are case-insensitive).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// Text that Automerge's deflate cannot shrink much.
fn noise(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|_| char::from_digit(rng.below(16) as u32, 16).expect("hex digit")).collect()
}

/// The document's chunks in SQLite, as the listing should show them.
fn stored_chunks(data: &std::path::Path, doc: &DocumentId) -> BTreeSet<(String, String, usize)> {
    stored_rows(data)
        .into_iter()
        .filter_map(|(key, value)| {
            let mut parts = key.split('/');
            (parts.next() == Some(doc.to_string().as_str())).then_some(())?;
            let (kind, name) = (parts.next()?, parts.next()?);
            (!kind.starts_with("sync-state")).then(|| (kind.to_owned(), name.to_owned(), value.len()))
        })
        .collect()
}

async fn listing(addr: SocketAddr, doc: &DocumentId, query: &str) -> (u16, BTreeSet<(String, String, usize)>) {
    let (status, head, body) = http_get_bytes(addr, &format!("/d/{doc}/chunks{query}"), &[]).await;
    if status != 200 {
        return (status, BTreeSet::new());
    }
    assert_eq!(header(&head, "cache-control").as_deref(), Some("no-cache"), "{head}");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&body).expect("a JSON list");
    let entry = |e: &serde_json::Value| {
        let text = |k: &str| e[k].as_str().expect("text").to_owned();
        (text("type"), text("name"), e["bytes"].as_u64().expect("size") as usize)
    };
    (status, listed.iter().map(entry).collect())
}

/// Changes `doc` through `client` and waits until the relay stored it.
async fn put(client: &Client, doc: &DocumentId, key: &'static str, value: String) -> Vec<ChangeHash> {
    client.change(doc, move |tx| tx.put(ROOT, key, value)).await.expect("change");
    let heads = client.heads(doc).await.expect("heads");
    client.wait_relay_has(doc, heads.clone(), WAIT).await.expect("the relay stored it");
    heads
}

/// The heads of the document made of a store's chunks, after checking
/// that each is byte for byte what the relay stores under the same key,
/// and that the only other entry is a sync state with the relay's store
/// sharing those heads.
fn check_store(store: &MemoryStore, doc: &DocumentId, data: &std::path::Path) -> Vec<ChangeHash> {
    let rows = stored_rows(data);
    let relay_store: StorageId =
        String::from_utf8(rows["storage-adapter-id"].clone()).expect("text").parse().expect("a storage id");
    let mut am = Automerge::new();
    let mut seeded = None;
    for (key, bytes) in store.entries() {
        if *key == StorageKey::sync_state(doc, &relay_store) {
            seeded = Some(sync::State::decode(bytes).expect("a sync state").shared_heads);
            continue;
        }
        let (kind, name) = key.as_chunk().expect("only chunks and the sync state");
        assert_eq!(*key, StorageKey::chunk(doc, kind, name));
        if let Some(stored) = rows.get(&key.to_string()) {
            assert_eq!(stored.as_slice(), bytes, "{key}");
        }
        am.load_incremental(bytes).expect("a downloaded chunk loads");
    }
    assert_eq!(seeded, Some(am.get_heads()), "a sync state with the relay, at the downloaded heads");
    am.get_heads()
}

/// A TCP proxy to `target` for one connection: requests pass whole, but
/// only the first `budget` bytes of the responses, then the link is cut
/// both ways (a phone losing its network mid-download).
async fn cut_after(target: SocketAddr, budget: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let (mut near, _) = listener.accept().await.expect("accept");
        let mut far = TcpStream::connect(target).await.expect("connect to the relay");
        let (mut near_read, mut near_write) = near.split();
        let (mut far_read, mut far_write) = far.split();
        let up = tokio::io::copy(&mut near_read, &mut far_write);
        let down = async {
            let (mut left, mut buffer) = (budget, vec![0u8; 4096]);
            while left > 0 {
                let n = far_read.read(&mut buffer[..left.min(4096)]).await?;
                if n == 0 {
                    break;
                }
                near_write.write_all(&buffer[..n]).await?;
                left -= n;
            }
            Ok::<_, std::io::Error>(())
        };
        tokio::select! {
            _ = up => {}
            _ = down => {}
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn chunks_are_listed_and_served_with_byte_ranges() {
    let relay = start_relay().await;
    let client = relay.client().await;
    let doc = client.create().await.expect("create");
    let mut rng = Rng::new(7);
    put(&client, &doc, "a", noise(&mut rng, 6000)).await;
    put(&client, &doc, "b", noise(&mut rng, 2000)).await;

    // The listing is the stored rows, sync states left out.
    let stored = stored_chunks(relay.data.path(), &doc);
    let kinds: Vec<&str> = stored.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, ["incremental", "snapshot"], "a snapshot and an incremental: {stored:?}");
    // The client's sync state is written within a period of the relay's
    // (sync states alone are held back).
    let prefix = format!("{doc}/sync-state/");
    let started = std::time::Instant::now();
    let rows = loop {
        let rows = stored_rows(relay.data.path());
        if rows.keys().any(|k| k.starts_with(&prefix)) {
            break rows;
        }
        assert!(started.elapsed() < WAIT, "no sync state stored");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let sync_state = rows.keys().find(|k| k.starts_with(&prefix)).expect("a sync state");
    assert_eq!(listing(relay.addr, &doc, "").await, (200, stored.clone()));
    // With the relay's storage id, as in its `peer` message.
    let (_, head, _) = http_get_bytes(relay.addr, &format!("/d/{doc}/chunks"), &[]).await;
    let storage_id = String::from_utf8(rows["storage-adapter-id"].clone()).expect("text");
    assert_eq!(header(&head, "essaim-storage-id"), Some(storage_id), "{head}");

    let (_, name, len) = stored.iter().find(|(k, _, _)| k == "snapshot").expect("snapshot").clone();
    let path = format!("/d/{doc}/chunks/snapshot/{name}");
    let bytes = rows[&format!("{doc}/snapshot/{name}")].clone();
    let etag = format!("\"{name}\"");

    // Whole, never compressed even when asked.
    let (status, head, body) = http_get_bytes(relay.addr, &path, &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!((status, body.len()), (200, len), "{head}");
    assert_eq!(body, bytes);
    assert_eq!(header(&head, "etag"), Some(etag.clone()), "{head}");
    assert_eq!(header(&head, "accept-ranges").as_deref(), Some("bytes"), "{head}");
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    assert!(header(&head, "cache-control").is_some_and(|v| v.contains("immutable")), "{head}");

    // Ranges: open-ended (with a matching If-Range), bounded, suffix.
    for (range, if_range, first, last) in [
        ("bytes=100-", Some(etag.as_str()), 100, len - 1),
        ("bytes=5-9", None, 5, 9),
        ("bytes=-10", None, len - 10, len - 1),
    ] {
        let mut headers = vec![("Range", range), ("Accept-Encoding", "gzip")];
        headers.extend(if_range.map(|v| ("If-Range", v)));
        let (status, head, body) = http_get_bytes(relay.addr, &path, &headers).await;
        assert_eq!(status, 206, "{range}: {head}");
        assert_eq!(header(&head, "content-range"), Some(format!("bytes {first}-{last}/{len}")), "{head}");
        assert_eq!(body, bytes[first..=last], "{range}");
    }
    // If-Range naming another version: the whole chunk.
    let (status, _, body) =
        http_get_bytes(relay.addr, &path, &[("Range", "bytes=100-"), ("If-Range", "\"other\"")]).await;
    assert_eq!((status, body.len()), (200, len));
    // Past the end.
    let past = format!("bytes={len}-");
    let (status, head, _) = http_get_bytes(relay.addr, &path, &[("Range", &past)]).await;
    assert_eq!(status, 416, "{head}");
    assert_eq!(header(&head, "content-range"), Some(format!("bytes */{len}")), "{head}");

    // Nothing else is served: other names, kinds, documents.
    let (_, incremental, _) = stored.iter().find(|(k, _, _)| k == "incremental").expect("incremental").clone();
    let unknown_doc = DocumentId::from_bytes(&[9; 16]).expect("id");
    let sync_state_name = sync_state.rsplit('/').next().expect("name");
    for path in [
        format!("/d/{doc}/chunks/snapshot/{}", "0".repeat(64)),
        format!("/d/{doc}/chunks/snapshot/{incremental}"),
        format!("/d/{doc}/chunks/sync-state/{sync_state_name}"),
        format!("/d/{unknown_doc}/chunks"),
        format!("/d/{unknown_doc}/chunks/snapshot/{name}"),
        "/d/not-a-document/chunks".to_owned(),
        format!("/d/{doc}/chunks/snapshot/..%2F..%2Fx"),
    ] {
        let (status, _, _) = http_get_bytes(relay.addr, &path, &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn chunks_need_the_same_invitations_as_sync() {
    let data = TempDir::new().expect("temp dir");
    let territory = |nom: &str| {
        let profil = agenda::Profil { nom: nom.into(), ..agenda::Profil::default() };
        server::create_territory(data.path(), profil).expect("territory")
    };
    let (ours, theirs) = (territory("Plessé"), territory("Redon"));
    let invitations = Invitations::open(data.path()).expect("invitations");
    let token =
        |doc: &DocumentId, role, seed| invitations.create(doc, role, None, None, 0, [seed; 24]).expect("invite").1;
    let resident = token(&ours, Role::Habitant, 1);
    let organiser = token(&ours, Role::Organisateur, 2);
    let elsewhere = token(&theirs, Role::Organisateur, 3);
    drop(invitations);
    let relay = start_relay_with(data, |config| config.open = false).await;

    let stored = stored_chunks(relay.data.path(), &ours);
    assert!(!stored.is_empty());
    for query in [format!("?token={resident}"), format!("?token={organiser}"), format!("?token={elsewhere},{resident}")]
    {
        assert_eq!(listing(relay.addr, &ours, &query).await, (200, stored.clone()), "{query}");
    }
    let (_, name, _) = stored.first().expect("a chunk").clone();
    let (status, _, _) =
        http_get_bytes(relay.addr, &format!("/d/{ours}/chunks/snapshot/{name}?token={resident}"), &[]).await;
    assert_eq!(status, 200);

    // Another territory's invitation: the same 404 as no document at all.
    let unknown = DocumentId::from_bytes(&[9; 16]).expect("id");
    let (status, _, absent) = http_get_bytes(relay.addr, &format!("/d/{unknown}/chunks?token={elsewhere}"), &[]).await;
    assert_eq!(status, 404);
    for path in
        [format!("/d/{ours}/chunks?token={elsewhere}"), format!("/d/{ours}/chunks/snapshot/{name}?token={elsewhere}")]
    {
        let (status, _, body) = http_get_bytes(relay.addr, &path, &[]).await;
        assert_eq!((status, &body), (404, &absent), "{path}");
    }
    // No token, or a bad one: 401 like `/sync`, counted toward its limit.
    let bad = format!("{}.{}", "0".repeat(16), "0".repeat(32));
    for query in [String::new(), format!("?token={bad}"), format!("?token={resident},{bad}")] {
        let (status, _, _) = http_get_bytes(relay.addr, &format!("/d/{ours}/chunks{query}"), &[]).await;
        assert_eq!(status, 401, "{query:?}");
    }
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(http_get_bytes(relay.addr, &format!("/d/{ours}/chunks?token={bad}"), &[]).await.0);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    relay.stop().await;
}

/// A document of `changes` small changes, pushed to the relay by a client
/// that made it offline; returns its id and heads.
async fn push_big_document(relay: &Relay, changes: usize) -> (DocumentId, Vec<ChangeHash>) {
    let mut rng = Rng::new(42);
    let mut am = Automerge::new();
    for i in 0..changes {
        let mut tx = am.transaction();
        let value = format!("rendez-vous {i} {}", noise(&mut rng, 8));
        tx.put(ROOT, format!("k{}", i % 300), value).expect("put");
        tx.commit();
    }
    let doc = DocumentId::from_bytes(&[0x5a; 16]).expect("id");
    let mut store = MemoryStore::default();
    store.put(StorageKey::chunk(&doc, ChunkKind::Snapshot, "offline"), am.save());
    let options = ClientOptions { store: Some(store), open: vec![doc.clone()], ..ClientOptions::default() };
    let client = Client::connect(&relay.url(), options).await.expect("connect");
    let heads = am.get_heads();
    client.wait_relay_has(&doc, heads.clone(), WAIT * 3).await.expect("the relay stored it");
    client.close().await.expect("close");
    (doc, heads)
}

/// A client opening `doc` from `store` until it and the relay agree on
/// `heads`; the websocket bytes it took.
async fn sync_from(relay: &Relay, doc: &DocumentId, store: MemoryStore, heads: Vec<ChangeHash>) -> u64 {
    let options = ClientOptions { store: Some(store), open: vec![doc.clone()], ..ClientOptions::default() };
    let client = Client::connect(&relay.url(), options).await.expect("connect");
    let doc = doc.clone();
    client
        .wait_for("the same heads on both sides", WAIT * 3, move |view| {
            let mine = view.repo.document(&doc)?.get_heads();
            let relay = view.observed.relay_heads.get(&doc)?;
            (mine == heads && *relay == heads).then_some(())
        })
        .await
        .expect("in sync");
    let bytes = client.traffic().bytes();
    client.close().await.expect("close");
    bytes
}

#[tokio::test]
async fn a_cut_download_resumes_and_websocket_sync_then_costs_little() {
    let relay = start_relay().await;
    let (doc, heads) = push_big_document(&relay, 10_000).await;
    let stored = stored_chunks(relay.data.path(), &doc);
    let size: usize = stored.iter().map(|(_, _, len)| len).sum();
    let base = format!("http://{}", relay.addr);

    // The link drops halfway through the body.
    let (cut, proxy) = cut_after(relay.addr, size / 2).await;
    let mut download = Download::default();
    let first = download_document(&cut, &doc, None, &mut download).await;
    assert!(matches!(first, Err(DownloadError::Connection(_))), "{first:?}");
    proxy.await.expect("proxy");
    let kept = download.held_bytes();
    assert!(kept > 0 && (kept as usize) < size, "kept {kept} of {size} bytes");
    assert!(!download.is_complete());

    // Resumed: only the missing end comes.
    let before = download.received_bytes();
    download_document(&base, &doc, None, &mut download).await.expect("resumed");
    assert!(download.is_complete());
    let second = download.received_bytes() - before;
    assert!((second as usize) < size - kept as usize + 1000, "the resume fetched {second} bytes");

    let store = download.into_store();
    assert_eq!(check_store(&store, &doc, relay.data.path()), heads);
    let mut unseeded = store.clone();
    unseeded.forget_sync_states();
    let after_download = sync_from(&relay, &doc, store, heads.clone()).await;
    let without_sync_state = sync_from(&relay, &doc, unseeded, heads.clone()).await;
    let from_scratch = sync_from(&relay, &doc, MemoryStore::default(), heads).await;
    println!(
        "10,000 changes: {} chunk(s), {size} bytes stored; cut after {kept} bytes, resumed with {second}; \
         websocket sync after the download: {after_download} bytes (without the sync state it leaves: \
         {without_sync_state}); without the download: {from_scratch} bytes",
        stored.len()
    );
    // The Bloom filter over 10,000 changes alone is about 12.5 KB.
    assert!(after_download < 2_000, "{after_download} bytes of sync for a {size}-byte document");
    assert!(without_sync_state > 10_000, "{without_sync_state} bytes without the sync state");
    assert!(from_scratch > size as u64);
    relay.stop().await;
}

#[tokio::test]
async fn a_chunk_compacted_away_is_listed_again_and_completed_chunks_are_kept() {
    let relay = start_relay().await;
    let client = relay.client().await;
    let doc = client.create().await.expect("create");
    let mut rng = Rng::new(11);
    put(&client, &doc, "a", noise(&mut rng, 8000)).await;
    put(&client, &doc, "b", noise(&mut rng, 4000)).await;
    let before = stored_chunks(relay.data.path(), &doc);
    let sizes: Vec<(&str, usize)> = before.iter().map(|(k, _, len)| (k.as_str(), *len)).collect();
    let [("incremental", incremental), ("snapshot", snapshot)] = sizes[..] else { panic!("{before:?}") };
    let (_, old_snapshot, _) = before.iter().find(|(k, _, _)| k == "snapshot").expect("snapshot").clone();

    // Cut in the middle of the second chunk (the incremental): the
    // snapshot is complete, the incremental half there.
    let (cut, proxy) = cut_after(relay.addr, 1500 + snapshot + incremental / 2).await;
    let mut download = Download::default();
    assert!(download_document(&cut, &doc, None, &mut download).await.is_err());
    proxy.await.expect("proxy");
    let progress: Vec<(ChunkKind, bool)> =
        download.chunks().iter().map(|c| (c.kind, c.received > 0 && c.received == c.size)).collect();
    assert_eq!(progress, [(ChunkKind::Snapshot, true), (ChunkKind::Incremental, false)]);

    // Compaction: enough incremental bytes, then one more change, and the
    // relay replaces every chunk with one new snapshot.
    put(&client, &doc, "c", noise(&mut rng, 8000)).await;
    let heads = put(&client, &doc, "d", "fin".to_owned()).await;
    let after = stored_chunks(relay.data.path(), &doc);
    assert!(after.len() == 1 && after.iter().all(|(k, n, _)| k == "snapshot" && *n != old_snapshot), "{after:?}");

    // The resume finds its incremental gone (404), lists again, keeps the
    // completed old snapshot and fetches the new one.
    let requests = download.requests();
    download_document(&format!("http://{}", relay.addr), &doc, None, &mut download).await.expect("resumed");
    assert_eq!(download.requests() - requests, 3, "the 404, the new listing, the new snapshot");
    let names: BTreeSet<String> = download.chunks().into_iter().map(|c| c.name).collect();
    let expected: BTreeSet<String> = after.iter().map(|(_, n, _)| n.clone()).chain([old_snapshot]).collect();
    assert_eq!(names, expected);
    let store = download.into_store();
    assert_eq!(store.len(), 3, "two chunks and the sync state with the relay");
    assert_eq!(check_store(&store, &doc, relay.data.path()), heads);
    client.close().await.expect("close");
    relay.stop().await;
}
