//! The relay process gives back the memory of the documents it unloads:
//! the real `essaim` binary, documents uploaded through a real websocket,
//! its resident memory read from `/proc`.

use std::time::{Duration, Instant};

use client::{Client, ClientOptions};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;

use crate::crash::Process;
use crate::support::WAIT;

/// Documents uploaded, each holding a text of `TEXT_BYTES`: enough memory
/// (about 60 MiB) for its return to stand out of what the relay keeps
/// anyway (about 11 MiB stayed in trial runs: caches, SQLite's among them).
const DOCUMENTS: usize = 400;
const TEXT_BYTES: usize = 100_000;

/// Resident memory of process `pid`, bytes.
fn resident(pid: u32) -> u64 {
    bench::servers::rss(pid).expect("resident memory from /proc")
}

#[tokio::test]
async fn memory_of_unloaded_documents_goes_back_to_the_system() {
    let data = tempfile::TempDir::new().expect("temp dir");
    let relay = Process::start_with(data.path(), &["--unload-idle-after-secs", "1"]).await;
    let started = resident(relay.pid());

    let client = Client::connect(&relay.url(), ClientOptions::default()).await.expect("connect");
    let mut docs = Vec::with_capacity(DOCUMENTS);
    for i in 0..DOCUMENTS {
        let doc = client.create().await.expect("create");
        let text: String = std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), TEXT_BYTES).collect();
        client.change(&doc, move |tx| tx.put(ROOT, "texte", text).map(|_| ())).await.expect("change");
        docs.push(doc);
    }
    for doc in &docs {
        let heads = client.heads(doc).await.expect("heads");
        client.wait_relay_has(doc, heads, WAIT).await.expect("the relay has the document");
    }
    client.close().await.expect("close");
    let loaded = resident(relay.pid());
    let added = loaded.saturating_sub(started);
    println!("resident: {} KiB at start, {} KiB with the documents", started / 1024, loaded / 1024);
    assert!(added > 8 << 20, "the documents should weigh on the relay's memory (added {added} B)");

    // Unloaded a second after their last use; their pages go back within
    // jemalloc's decay (10 s) once they are free. glibc's allocator kept
    // them all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = resident(relay.pid());
        if now < started + added / 2 {
            println!("resident: {} KiB once the documents were unloaded", now / 1024);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay kept the memory of unloaded documents: {} KiB, {} KiB at start",
            now / 1024,
            started / 1024
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
