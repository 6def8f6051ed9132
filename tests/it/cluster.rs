//! Several relays on one PostgreSQL, announcing their commits on NATS
//! (issue 19), in process: real PostgreSQL and NATS from `services.rs`, a
//! fresh schema and subject prefix per test, real websocket clients.
//! The binaries behind HAProxy, crashes and cuts are in `cluster_ha.rs`.

use std::time::{Duration, Instant};

use client::Client;
use sync_core::DocumentId;
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ROOT, ReadDoc};
use tempfile::TempDir;

use crate::services;
use crate::support::{Relay, WAIT, http_get_with, metric, start_relay_with, wait_metric};

/// Where the relays of one test meet.
pub struct Meeting {
    pub storage: String,
    /// NATS's URL and the test's subject prefix, if the relays use NATS.
    pub nats: Option<(String, String)>,
}

impl Meeting {
    /// A fresh schema; with `nats`, a fresh subject prefix too.
    pub fn new(tag: &str, nats: bool) -> Meeting {
        let storage = services::postgres().fresh_schema(tag);
        let nats = nats.then(|| (services::nats().url(), services::nats().fresh_prefix(tag)));
        Meeting { storage, nats }
    }

    /// A relay in process on that storage, named `name`.
    pub async fn relay(&self, name: &str, repair: Duration) -> Relay {
        let (storage, nats, name) = (self.storage.clone(), self.nats.clone(), name.to_owned());
        start_relay_with(TempDir::new().expect("temp dir"), move |config| {
            config.storage = Some(storage);
            if let Some((url, prefix)) = nats {
                config.nats = Some(url);
                config.cluster_prefix = prefix;
            }
            config.relay_name = Some(name);
            config.repair_interval = repair;
        })
        .await
    }
}

/// A repair interval long enough that a test only passes through NATS.
const NO_REPAIR: Duration = Duration::from_secs(3600);

fn has(key: &'static str) -> impl Fn(&sync_core::automerge::Automerge) -> bool + Send + Sync + 'static {
    move |am| am.get(ROOT, key).ok().flatten().is_some()
}

#[tokio::test]
async fn clients_of_two_relays_converge_through_postgres_and_nats() {
    let meeting = Meeting::new("converge", true);
    let (a, b) = (meeting.relay("a", NO_REPAIR).await, meeting.relay("b", NO_REPAIR).await);
    let (alice, bob) = (a.client().await, b.client().await);
    let doc = alice.create().await.expect("create");
    alice.change(&doc, |tx| tx.put(ROOT, "alice", "Nettoyage du parc").map(drop)).await.expect("change");
    let heads = alice.heads(&doc).await.expect("heads");
    alice.wait_relay_has(&doc, heads, WAIT).await.expect("A stored it");
    // Bob finds it through B, which loads it from PostgreSQL.
    bob.open(&doc).await.expect("open");
    bob.wait_until(&doc, WAIT, has("alice")).await.expect("B serves what A committed");
    // Both now hold it in memory: each edit reaches the other's client
    // through NATS (repairs are an hour apart here).
    bob.change(&doc, |tx| tx.put(ROOT, "bob", "Repair café").map(drop)).await.expect("change");
    alice.wait_until(&doc, WAIT, has("bob")).await.expect("A hears B's commit");
    alice.change(&doc, |tx| tx.put(ROOT, "alice2", "Marché").map(drop)).await.expect("change");
    bob.wait_until(&doc, WAIT, has("alice2")).await.expect("B hears A's commit");
    let heads = alice.heads(&doc).await.expect("heads");
    bob.wait_until(&doc, WAIT, move |am| am.get_heads() == heads).await.expect("same heads");
    assert!(metric(a.addr, "essaim_cluster_announcements_applied_total").await >= 1.0);
    assert!(metric(b.addr, "essaim_cluster_announcements_sent_total").await >= 1.0);
    // Both relays give the cluster's one storage id with the chunks, so a
    // device moving between them keeps its downloaded chunks.
    let path = format!("/d/{doc}/chunks");
    let storage_id = |head: &str| {
        head.lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("essaim-storage-id: ").map(str::to_owned))
            .expect("storage id header")
    };
    let (status_a, head_a, _) = http_get_with(a.addr, &path, &[]).await;
    let (status_b, head_b, _) = http_get_with(b.addr, &path, &[]).await;
    assert_eq!((status_a, status_b), (200, 200));
    assert_eq!(storage_id(&head_a), storage_id(&head_b));
    a.stop().await;
    b.stop().await;
}

/// Relays A and B; Alice on A writes a document that Bob on B opens.
async fn one_document_on_two_relays(meeting: &Meeting, repair: Duration) -> (Relay, Relay, Client, Client, DocumentId) {
    let (a, b) = (meeting.relay("a", repair).await, meeting.relay("b", repair).await);
    let (alice, bob) = (a.client().await, b.client().await);
    let doc = alice.create().await.expect("create");
    alice.change(&doc, |tx| tx.put(ROOT, "alice", 1).map(drop)).await.expect("change");
    let heads = alice.heads(&doc).await.expect("heads");
    alice.wait_relay_has(&doc, heads, WAIT).await.expect("A stored it");
    bob.open(&doc).await.expect("open");
    bob.wait_until(&doc, WAIT, has("alice")).await.expect("B loads it");
    (a, b, alice, bob, doc)
}

#[tokio::test]
async fn without_nats_the_repair_brings_another_relays_commit() {
    let meeting = Meeting::new("repair", false);
    let repair = Duration::from_millis(100);
    let (a, b, alice, bob, doc) = one_document_on_two_relays(&meeting, repair).await;
    let started = Instant::now();
    bob.change(&doc, |tx| tx.put(ROOT, "bob", 2).map(drop)).await.expect("change");
    alice.wait_until(&doc, WAIT, has("bob")).await.expect("A repairs from PostgreSQL");
    assert!(started.elapsed() < Duration::from_secs(5), "a repair pass is 100 ms apart");
    wait_metric(a.addr, "essaim_cluster_repairs_total", |n| n >= 1.0).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn relays_start_and_serve_while_nats_is_down() {
    // Nothing listens there: the relays connect in the background and
    // learn each other's changes from the repair passes.
    let mut meeting = Meeting::new("nats_down", false);
    let prefix = services::nats().fresh_prefix("nats_down");
    meeting.nats = Some((format!("nats://127.0.0.1:{}", services::free_port()), prefix));
    let repair = Duration::from_millis(100);
    let (a, b, alice, bob, doc) = one_document_on_two_relays(&meeting, repair).await;
    bob.change(&doc, |tx| tx.put(ROOT, "bob", 2).map(drop)).await.expect("change");
    alice.wait_until(&doc, WAIT, has("bob")).await.expect("A repairs from PostgreSQL");
    assert_eq!(metric(a.addr, "essaim_cluster_announcements_applied_total").await, 0.0, "nothing came by NATS");
    assert!(metric(a.addr, "essaim_cluster_repairs_total").await >= 1.0);
    a.stop().await;
    b.stop().await;
}
