//! The relay process gives back the memory of the documents it unloads
//! (issue 20): the real `essaim` binary, documents uploaded through a real
//! websocket, its resident memory read from `/proc`.

use std::time::{Duration, Instant};

use client::{Client, ClientOptions};
use sync_core::automerge::ROOT;
use sync_core::automerge::transaction::Transactable;

use crate::securite_ws::Binary;
use crate::support::{WAIT, wait_metric};

/// Documents uploaded, each holding a text of `TEXT_BYTES`: enough memory
/// (about 60 MiB) for its return to stand out of what the relay keeps
/// anyway (about 10 MiB stayed in trial runs: caches, SQLite's among them).
const DOCUMENTS: usize = 400;
const TEXT_BYTES: usize = 100_000;

#[tokio::test]
async fn memory_of_unloaded_documents_goes_back_to_the_system() {
    let data = tempfile::TempDir::new().expect("temp dir");
    let relay = Binary::start(data.path(), &["--unload-idle-after-secs", "1"]).await;
    let started = relay.status_kib("VmRSS:");

    let url = format!("ws://{}/sync", relay.addr);
    let client = Client::connect(&url, ClientOptions::default()).await.expect("connect");
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
    // The peak, not the memory now: on a slow machine the first documents
    // are unloaded, and their memory returned, before the last arrive.
    let peak = relay.status_kib("VmHWM:");
    let added = peak.saturating_sub(started);
    println!("resident: {started} KiB at start, {peak} KiB at the peak");
    assert!(added > 8 << 10, "the documents should weigh on the relay's memory (added {added} KiB)");

    // Unloaded a second after their last use; jemalloc, built with no
    // decay, gives their pages back as they are freed. glibc's allocator
    // kept them.
    wait_metric(relay.metrics, "essaim_documents_in_memory", |n| n == 0.0).await;
    let bar = started + added / 2;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = relay.status_kib("VmRSS:");
        if now < bar {
            println!("resident: {now} KiB once the documents were unloaded (under {bar} KiB)");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay kept the memory of unloaded documents: {now} KiB, {started} KiB at start, \
             {peak} KiB at the peak, {bar} KiB expected at most"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
