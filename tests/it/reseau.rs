//! Poor-network scenarios against the real relay, through the shaping
//! proxy of `shaper.rs`: a 2G-like link of 64 kbit/s each way with a 300 ms
//! round trip.
//!
//! (a) A resident's first download of a realistic 10,000-change territory
//! takes no more than 10% over what the link physically allows.
//! (c) An organiser's 200 offline edits upload over that link and each
//! arrives, and is sent, exactly once.
//! (b) The same link dropping every connection after 15 s: the first
//! download still completes, because it goes chunk by chunk over HTTP
//! with `Range` (`client::download`, as the PWA does) and keeps what
//! arrived across drops; websocket sync then brings what is newer.
//! The figures are printed (`--nocapture`) for `docs/benchmarks.md`.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use bench::territoire::{Territoire, realiste};
use client::download::{Download, DownloadError, download_document};
use client::{Client, ClientOptions, MemoryStore};
use serde_json::json;
use sync_core::DocumentId;
use sync_core::agenda::{self, Collection, Edit};
use sync_core::automerge::{Automerge, ChangeHash};
use tokio::time::Instant;

use crate::shaper::{Link, Shaper};
use crate::support::{Relay, WAIT, start_relay, stored_rows};

/// The poor link: bits per second in each direction.
const BANDWIDTH: u64 = 64_000;
/// Its round trip.
const RTT: Duration = Duration::from_millis(300);

fn poor_link() -> Link {
    Link::default().bandwidth(BANDWIDTH).rtt(RTT)
}

/// Time to serialise `bytes` on the poor link.
fn link_time(bytes: u64) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 8.0 / BANDWIDTH as f64)
}

/// A generous bound for a transfer of `bytes` over the poor link.
fn budget(bytes: u64) -> Duration {
    link_time(bytes) * 2 + Duration::from_secs(30)
}

/// A client of `url` starting from `store` (empty if `None`) and opening `doc`.
async fn connect(url: &str, store: Option<MemoryStore>, doc: &DocumentId) -> Client {
    let options = ClientOptions { store, open: vec![doc.clone()], ..ClientOptions::default() };
    Client::connect(url, options).await.expect("client connects")
}

/// The relay's territory, as a device that has it puts it there: its
/// client opens it from storage and waits until the relay stored it all.
async fn seed(url: &str, territoire: &Territoire) -> Client {
    let device = connect(url, Some(territoire.store()), &territoire.doc).await;
    let heads = territoire.am.get_heads();
    device.wait_relay_has(&territoire.doc, heads, Duration::from_secs(60)).await.expect("the relay has the territory");
    device
}

/// The changes of `doc` in the relay's SQLite file, each chunk loaded once.
fn stored_changes(relay: &Relay, doc: &DocumentId) -> Vec<ChangeHash> {
    let prefix = format!("{doc}/");
    let mut am = Automerge::new();
    for (key, bytes) in stored_rows(relay.data.path()) {
        let chunk =
            key.strip_prefix(&prefix).is_some_and(|k| k.starts_with("snapshot/") || k.starts_with("incremental/"));
        if chunk {
            am.load_incremental(&bytes).expect("the relay's chunks load");
        }
    }
    am.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

/// Round trips the first download needs on the shaped link, each waiting
/// for the previous answer: the HTTP upgrade (request, 101), the handshake
/// (`join`, `peer`), the document (`request`, the relay's `sync` carrying
/// it). The TCP handshake is not shaped by the proxy (a real link adds one).
const DOWNLOAD_ROUND_TRIPS: u32 = 3;

/// The realistic territory of (a) and (b), generated once per run (it takes
/// tens of seconds in a debug build). `ESSAIM_RESEAU_CHANGES` sets its
/// size (default 10,000).
fn grand_territoire() -> &'static Territoire {
    static TERRITOIRE: OnceLock<Territoire> = OnceLock::new();
    TERRITOIRE.get_or_init(|| {
        let changes = std::env::var("ESSAIM_RESEAU_CHANGES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
        realiste(changes, 2026)
    })
}

/// Two worker threads: on one, nothing else moves while the client works on
/// the big message, so the proxy would deliver late, which no link does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_download_over_a_poor_link_takes_what_the_link_allows() {
    let generated = Instant::now();
    let territoire = grand_territoire();
    let changes = territoire.am.get_changes(&[]).len();
    let saved = territoire.am.save().len() as u64;
    let (doc, heads) = (territoire.doc.clone(), territoire.am.get_heads());
    let generated = generated.elapsed();
    let relay = start_relay().await;
    seed(&relay.url(), territoire).await.close().await.expect("the seeding device closes");

    let shaper = Shaper::start(relay.addr, poor_link());
    let budget = budget(saved);
    let started = Instant::now();
    let download = async {
        let resident = connect(&shaper.url(), None, &doc).await;
        let expected = heads.clone();
        resident.wait_until(&doc, budget, move |am| am.get_heads() == expected).await.expect("the territory arrives");
        resident
    };
    let resident = tokio::time::timeout(budget, download).await.expect("the download ends in time");
    let elapsed = started.elapsed();
    let (link, traffic) = (shaper.stats(), resident.traffic());

    // Every byte that crossed the link in either direction, one after the
    // other (each message waits for the previous answer), plus the round
    // trips' latency.
    let physical = link_time(link.bytes_up + link.bytes_down) + RTT * DOWNLOAD_ROUND_TRIPS;
    eprintln!(
        "first download, {changes} changes (saved {saved} bytes, generated in {generated:.1?}) over \
         {} kbit/s and {RTT:?} RTT: {elapsed:.2?}; link {} bytes up, {} down; websocket payloads {} up \
         ({} messages), {} down ({} messages); physical bound {physical:.2?} ({} bytes / bandwidth + \
         {DOWNLOAD_ROUND_TRIPS} RTT); ratio {:.3}",
        BANDWIDTH / 1000,
        link.bytes_up,
        link.bytes_down,
        traffic.bytes_out,
        traffic.messages_out,
        traffic.bytes_in,
        traffic.messages_in,
        link.bytes_up + link.bytes_down,
        elapsed.as_secs_f64() / physical.as_secs_f64(),
    );
    assert!(elapsed <= physical.mul_f64(1.10), "{elapsed:?} for a physical bound of {physical:?}");
    // The link did shape: the download cannot beat its own bytes.
    assert!(elapsed >= link_time(link.bytes_down), "{elapsed:?} is faster than the link");
    assert!(link.bytes_down >= saved, "the territory came whole: {} bytes for {saved} saved", link.bytes_down);
    relay.stop().await;
}

/// The link drops every connection this long after it opened.
const DROP_EVERY: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_a_first_download_completes_over_a_link_that_drops_every_15_seconds() {
    let territoire = grand_territoire();
    let changes = territoire.am.get_changes(&[]).len();
    let (doc, heads) = (territoire.doc.clone(), territoire.am.get_heads());
    let relay = start_relay().await;
    seed(&relay.url(), territoire).await.close().await.expect("the seeding device closes");

    let shaper = Shaper::start(relay.addr, poor_link().drop_every(DROP_EVERY));
    let base = format!("http://{}", shaper.addr);
    let stored: u64 = stored_rows(relay.data.path())
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{doc}/snapshot/")) || k.starts_with(&format!("{doc}/incremental/")))
        .map(|(_, v)| v.len() as u64)
        .sum();
    // Each connection carries at most DROP_EVERY of the link: enough
    // attempts for the whole document, twice over.
    let max_attempts = 2 * (link_time(stored).as_secs() / DROP_EVERY.as_secs() + 2);
    let budget = budget(stored) * 2;
    let started = Instant::now();

    // The chunks over HTTP, resumed after every drop.
    let mut download = Download::default();
    let mut attempts = 0;
    while !download.is_complete() {
        attempts += 1;
        assert!(attempts <= max_attempts, "no end after {attempts} attempts: {:?}", download.chunks());
        assert!(started.elapsed() < budget, "no end within {budget:?}");
        match download_document(&base, &doc, None, &mut download).await {
            Ok(()) => {}
            Err(DownloadError::Connection(_) | DownloadError::Timeout) => {}
            Err(other) => panic!("the download failed: {other}"),
        }
    }
    let downloaded = started.elapsed();

    // Then websocket sync from the chunks, reconnecting if a drop cuts it.
    let mut store = download.clone().into_store();
    let mut sessions = 0;
    loop {
        sessions += 1;
        assert!(sessions <= 5, "websocket sync did not complete in {sessions} sessions");
        let options = ClientOptions { store: Some(store.clone()), open: vec![doc.clone()], ..ClientOptions::default() };
        // A drop during the upgrade: try again.
        let Ok(client) = Client::connect(&shaper.url(), options).await else { continue };
        let (expected, wanted) = (heads.clone(), doc.clone());
        let synced = client
            .wait_for("the territory, or a drop", DROP_EVERY * 2, move |view| {
                // Synced once the relay's own sync message says it has
                // exactly what the chunks gave (nothing newer to bring).
                let has = view.repo.document(&wanted).is_some_and(|am| am.get_heads() == expected);
                let synced = has && view.observed.relay_heads.get(&wanted) == Some(&expected);
                (synced || !view.observed.connected).then_some(synced)
            })
            .await
            .expect("the client sees the sync end or the link drop");
        let traffic = client.traffic();
        store = client.close().await.expect("the client's storage");
        if synced {
            let elapsed = started.elapsed();
            let link = shaper.stats();
            let physical = link_time(link.bytes_up + link.bytes_down);
            eprintln!(
                "first download, {changes} changes ({stored} bytes stored) over {} kbit/s, {RTT:?} RTT, \
                dropping every {DROP_EVERY:?}: chunks in {downloaded:.2?} ({attempts} attempts, {} requests, \
                {} body bytes for {} bytes of chunks), then websocket sync in session {sessions} ({} bytes \
                up, {} down); done in {elapsed:.2?}; {} drops; link {} bytes up, {} down, {physical:.2?} of \
                serialisation",
                BANDWIDTH / 1000,
                download.requests(),
                download.received_bytes(),
                download.total_bytes(),
                traffic.bytes_out,
                traffic.bytes_in,
                link.drops,
                link.bytes_up,
                link.bytes_down,
            );
            // Progress survived the drops: nothing downloaded twice beyond
            // the listings (a few hundred bytes each).
            assert!(link.drops >= 1, "the link never dropped");
            assert!(
                download.received_bytes() <= download.total_bytes() + 1_024 * attempts,
                "{} body bytes for {} bytes of chunks: progress was lost",
                download.received_bytes(),
                download.total_bytes()
            );
            break;
        }
    }
    relay.stop().await;
}

/// Edits an organiser makes offline: `actions` new actions, each then
/// retitled, summarised, described, given a need with two volunteers and a
/// cancelled occurrence (8 edits per action).
fn offline_edits(actions: usize) -> Vec<Edit> {
    let mut edits = Vec::new();
    for k in 0..actions {
        let id = format!("hl{k}");
        let modifier = |champ: &str, texte: String| Edit::Modifier {
            collection: Collection::Actions,
            id: id.clone(),
            champs: [(champ.to_owned(), json!(texte))].into_iter().collect(),
        };
        edits.push(Edit::Creer {
            collection: Collection::Actions,
            id: id.clone(),
            valeur: json!({
                "titre": format!("Atelier hors ligne {k}"),
                "portes_entree": ["alimentation_agriculture"],
                "visibilite": "public",
                "publication": "publie",
                "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                            "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-12-29" } },
            }),
        });
        edits.push(modifier("titre", format!("Atelier hors ligne {k}, salle B")));
        edits.push(modifier("resume", format!("Préparé dans le train, sans réseau ({k}).")));
        edits.push(modifier("description", format!("Apportez vos graines. Accueil dès 18 h ({k}).")));
        edits.push(Edit::DefinirBesoin {
            action_id: id.clone(),
            besoin_id: format!("hb{k}"),
            besoin: serde_json::from_value(
                json!({ "type": "benevoles", "description": format!("Des bras {k}"), "quantite": 2 }),
            )
            .expect("a valid need"),
        });
        for (suffixe, nom) in [("a", "Camille"), ("b", "Sacha")] {
            edits.push(Edit::AjouterVolontaire {
                action_id: id.clone(),
                besoin_id: format!("hb{k}"),
                volontaire_id: format!("hv{k}{suffixe}"),
                volontaire: serde_json::from_value(json!({ "nom": nom, "date": "2026-03-02" })).expect("a volunteer"),
            });
        }
        edits.push(Edit::ModifierOccurrence {
            collection: Collection::Actions,
            id: id.clone(),
            origine: "2026-02-04T18:30:00".into(),
            exception: serde_json::from_value(json!({ "etat": "annule", "motif": format!("Neige {k}") }))
                .expect("a valid exception"),
        });
    }
    edits
}

/// Every offline edit's content is in `am`.
fn shows_offline_edits(am: &Automerge, actions: usize) -> Result<(), String> {
    let lu = agenda::lire(am);
    for k in 0..actions {
        let action = lu.actions.get(&format!("hl{k}")).ok_or(format!("action hl{k} missing"))?;
        let besoin = action.besoins.get(&format!("hb{k}")).ok_or(format!("need hb{k} missing"))?;
        let exception = action.rythme.as_ref().and_then(|r| r.exceptions.get("2026-02-04T18:30:00"));
        let seen = [
            action.titre == format!("Atelier hors ligne {k}, salle B"),
            action.resume == format!("Préparé dans le train, sans réseau ({k})."),
            action.description == format!("Apportez vos graines. Accueil dès 18 h ({k})."),
            besoin.description == format!("Des bras {k}"),
            besoin.volontaires.len() == 2,
            exception.and_then(|e| e.motif.as_deref()) == Some(&format!("Neige {k}")),
        ];
        if seen.contains(&false) {
            return Err(format!("action hl{k} lacks an edit ({seen:?}): {action:?}"));
        }
    }
    Ok(())
}

/// Round trips of the upload, each waiting for the previous answer: the
/// HTTP upgrade, the handshake, the sync states (the organiser's heads and
/// Bloom filter of what it has, the relay's), then the changes and the
/// relay's acknowledgement, sent once they are durable.
const UPLOAD_ROUND_TRIPS: u32 = 4;

const OFFLINE_ACTIONS: usize = 25;
const OFFLINE_EDITS: usize = OFFLINE_ACTIONS * 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisers_offline_edits_upload_once_over_a_poor_link() {
    let territoire = realiste(500, 2027);
    let doc = territoire.doc.clone();
    let relay = start_relay().await;

    // The organiser's phone has the territory and syncs it over a link
    // (unshaped for now), then loses the link: closing the proxy closes its
    // connections. The Rust client needs a socket to start, and
    // `MemoryStore` can only be read back by the client, so driving a
    // `sync_core::Repo` alone cannot produce the store; a client whose
    // socket died is what a phone in a tunnel is anyway.
    let phone_link = Shaper::start(relay.addr, Link::default());
    let organiser = seed(&phone_link.url(), &territoire).await;
    drop(phone_link);
    organiser
        .wait_for("the link to go", WAIT, |view| (!view.observed.connected).then_some(()))
        .await
        .expect("the client sees its link go");
    let before = organiser.heads(&doc).await.expect("heads");
    let sent_online = organiser.traffic();
    for edit in offline_edits(OFFLINE_ACTIONS) {
        organiser.apply(&doc, edit).await.expect("a valid edit");
    }
    assert_eq!(organiser.traffic(), sent_online, "nothing was sent offline");
    let after = organiser.heads(&doc).await.expect("heads");
    let since = before;
    let (offline, encoded) = organiser
        .read(&doc, move |am| {
            let hashes: Vec<ChangeHash> = am.get_changes(&since).iter().map(|c| c.hash()).collect();
            (hashes, am.save_after(&since).len() as u64)
        })
        .await
        .expect("read")
        .expect("the territory is loaded");
    assert_eq!(offline.len(), OFFLINE_EDITS, "one change per edit");
    let store = organiser.close().await.expect("the organiser's storage");
    let stored_before = stored_changes(&relay, &doc);
    assert_eq!(stored_before.len(), 500);

    // Back online, over the poor link.
    let shaper = Shaper::start(relay.addr, poor_link());
    let budget = budget(encoded);
    let started = Instant::now();
    let upload = async {
        let organiser = connect(&shaper.url(), Some(store), &doc).await;
        organiser.wait_relay_has(&doc, after.clone(), budget).await.expect("the relay has every offline edit");
        organiser
    };
    let organiser = tokio::time::timeout(budget, upload).await.expect("the upload ends in time");
    let elapsed = started.elapsed();
    let (link, traffic) = (shaper.stats(), organiser.traffic());
    let physical = link_time(link.bytes_up + link.bytes_down) + RTT * UPLOAD_ROUND_TRIPS;
    eprintln!(
        "{OFFLINE_EDITS} offline edits ({encoded} bytes encoded) over {} kbit/s and {RTT:?} RTT: {elapsed:.2?}; \
         link {} bytes up, {} down; websocket payloads {} up ({} messages), {} down ({} messages); \
         physical bound {physical:.2?} ({} bytes / bandwidth + {UPLOAD_ROUND_TRIPS} RTT); ratio {:.3}",
        BANDWIDTH / 1000,
        link.bytes_up,
        link.bytes_down,
        traffic.bytes_out,
        traffic.messages_out,
        traffic.bytes_in,
        traffic.messages_in,
        link.bytes_up + link.bytes_down,
        elapsed.as_secs_f64() / physical.as_secs_f64(),
    );
    // No round trip per change: the changes go together.
    assert!(elapsed <= physical.mul_f64(1.10), "{elapsed:?} for a physical bound of {physical:?}");

    // Sent once: a second copy of even a tenth of them would not fit. The
    // slack is the HTTP upgrade, the handshake, heads, a Bloom filter and
    // websocket framing.
    let allowed = encoded + encoded / 10 + 4_096;
    assert!(link.bytes_up <= allowed, "{} bytes uploaded for {encoded} bytes of changes", link.bytes_up);
    // Stored once each, all of them.
    let stored = stored_changes(&relay, &doc);
    assert_eq!(stored.len(), stored_before.len() + OFFLINE_EDITS);
    let stored: HashSet<ChangeHash> = stored.into_iter().collect();
    assert!(offline.iter().all(|h| stored.contains(h)), "an offline change is missing on the relay");
    // And another device sees every edit.
    let other = connect(&relay.url(), None, &doc).await;
    other.wait_until(&doc, WAIT, move |am| am.get_heads() == after).await.expect("another device syncs");
    let shown = other.read(&doc, |am| shows_offline_edits(am, OFFLINE_ACTIONS)).await.expect("read");
    assert_eq!(shown, Some(Ok(())));
    relay.stop().await;
}
