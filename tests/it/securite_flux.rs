//! Issue 12, items 2 and 13, through the real relay: an organiser writes a
//! raw Automerge change (as any organiser, or anyone in `--open` mode, can)
//! that nests 100,000 maps and adds a record whose id carries CRLF and a
//! whole `VEVENT`; anonymous feed requests must all answer, show nothing
//! injected, and the relay must keep serving.

use std::time::{Duration, Instant};

use client::{Client, ClientOptions};
use server::invitations::{Invitations, Role};
use sync_core::DocumentId;
use sync_core::agenda::{Collection, Edit, Profil, VisibiliteTerritoire};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ObjType, ROOT, ReadDoc};
use tempfile::TempDir;

use crate::support::{WAIT, http_get, memory_kib, start_relay_with};

/// Maps nested by the raw change (a 283 KB message in the issue).
const NIVEAUX: usize = 100_000;

const INJECTION: &str =
    "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:attaquant@evil\r\nURL:https://evil.example\r\nSUMMARY:Faux";

fn territory(data: &TempDir, nom: &str, public: bool) -> DocumentId {
    let visibilite = if public { VisibiliteTerritoire::Public } else { VisibiliteTerritoire::Prive };
    let profil = Profil { nom: nom.into(), visibilite, ..Profil::default() };
    server::create_territory(data.path(), profil).expect("territory")
}

fn token(data: &TempDir, doc: &DocumentId, seed: u8) -> String {
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, Role::Organisateur, None, None, 0, [seed; 24]).expect("invitation").1
}

/// A legal public action, then the raw change: deep nesting under an
/// unknown root key and under a record's unknown field, and a record under
/// an id that injects a `VEVENT`.
async fn poison(relay_url: &str, token: &str, doc: &DocumentId) {
    let client =
        Client::connect(&format!("{relay_url}?token={token}"), ClientOptions::default()).await.expect("connects");
    client.open(doc).await.expect("open");
    client.wait_until(doc, WAIT, |am| !am.get_heads().is_empty()).await.expect("territory loaded");
    let valeur = serde_json::json!({
        "titre": "Repair café",
        "visibilite": "public",
        "publication": "publie",
        "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                    "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2030-12-25" } },
    });
    client.apply(doc, Edit::Creer { collection: Collection::Actions, id: "a1".into(), valeur }).await.expect("edit");
    client
        .change(doc, |tx| {
            for (parent, cle) in [(vec![], "inconnu"), (vec!["actions", "a1"], "champ_inconnu")] {
                let mut obj = ROOT;
                for k in parent {
                    obj = tx.get(&obj, k)?.expect("exists").1;
                }
                let mut courant = tx.put_object(&obj, cle, ObjType::Map)?;
                for _ in 0..NIVEAUX {
                    courant = tx.put_object(&courant, "x", ObjType::Map)?;
                }
            }
            let actions = tx.get(&ROOT, "actions")?.expect("actions").1;
            let a = tx.put_object(&actions, INJECTION, ObjType::Map)?;
            for (k, v) in [("titre", "Injecté"), ("visibilite", "public"), ("publication", "publie")] {
                tx.put(&a, k, v)?;
            }
            let r = tx.put_object(&a, "rythme", ObjType::Map)?;
            tx.put(&r, "debut", "2026-01-08T18:30:00")?;
            tx.put(&r, "duree", "PT2H")?;
            Ok(())
        })
        .await
        .expect("raw change");
    let heads = client.heads(doc).await.expect("heads");
    client.wait_relay_has(doc, heads, Duration::from_secs(60)).await.expect("relay stored the raw change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_02_13_a_poisoned_document_leaves_every_feed_answering_and_injects_nothing() {
    // See: issue #12, items 2 and 13.
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let private = territory(&data, "Quartier discret", false);
    let token_public = token(&data, &public, 1);
    let token_private = token(&data, &private, 2);
    let relay = start_relay_with(data, |config| config.open = false).await;
    poison(&relay.url(), &token_public, &public).await;
    poison(&relay.url(), &token_private, &private).await;

    let rss_avant = memory_kib().1;
    let debut = Instant::now();
    for path in [
        "/agenda.json".to_owned(),
        "/agenda.ics".to_owned(),
        "/territoires.json".to_owned(),
        format!("/t/{public}/agenda.ics"),
        format!("/t/{public}/agenda-compat.ics"),
        format!("/t/{public}/agenda.json"),
        format!("/t/{public}/"),
    ] {
        let (status, body) = tokio::time::timeout(WAIT, http_get(relay.addr, &path)).await.expect("answers in time");
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains("attaquant") && !body.contains("Injecté"), "{path}: {body}");
        if path != "/territoires.json" {
            assert!(body.contains("Repair café"), "{path}: {body}");
        }
    }
    // A private territory, anonymously: the same 404 as a missing one.
    let (status, _) =
        tokio::time::timeout(WAIT, http_get(relay.addr, &format!("/t/{private}/"))).await.expect("answers in time");
    assert_eq!(status, 404);
    let duree = debut.elapsed();
    let croissance_mib = memory_kib().1.saturating_sub(rss_avant) / 1024;
    assert!(duree < Duration::from_secs(20), "the feeds took {duree:?}");
    assert!(croissance_mib < 512, "the feeds grew the process by {croissance_mib} MiB");

    // The relay still serves others.
    let (status, _) = http_get(relay.addr, "/healthz").await;
    assert_eq!(status, 200);
    let client = Client::connect(&format!("{}?token={token_public}", relay.url()), ClientOptions::default())
        .await
        .expect("a new client connects");
    client.open(&public).await.expect("open");
    client.wait_until(&public, WAIT, |am| !am.get_heads().is_empty()).await.expect("syncs the territory");
    relay.stop().await;
}
