//! Documents that belong to a territory (issue 17), against the real
//! relay with real websocket clients: the organisers' notebook opens to
//! the organisers of the territory that lists it and to no one else (a
//! resident, another territory's organiser, anyone for a document no
//! territory lists); one created before its listing reached the relay
//! syncs once it does; removing the entry closes it at once; its contacts
//! never reach a resident by `/sync`, chunk download or any feed.

use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use server::invitations::{Invitations, Role};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ObjType, ROOT, ReadDoc};
use sync_core::{DocumentId, agenda};
use tempfile::TempDir;

use crate::support::{Relay, WAIT, http_get, start_relay_with};

const SENTINELLE_EMAIL: &str = "sentinelle-carnet@example.org";
const SENTINELLE_TEL: &str = "0699887766";

fn territory(data: &TempDir, nom: &str) -> DocumentId {
    let profil = agenda::Profil {
        nom: nom.into(),
        visibilite: agenda::VisibiliteTerritoire::Public,
        ..agenda::Profil::default()
    };
    server::create_territory(data.path(), profil).expect("territory created")
}

fn invite(data: &TempDir, doc: &DocumentId, role: Role, seed: u8) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, role, None, None, now, [seed; 24]).expect("created").1
}

async fn connect(relay: &Relay, token: &str) -> Client {
    Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default()).await.expect("connected")
}

/// Writes a sentinel contact into the notebook, as the core's
/// `EditCarnet::DefinirContact` lays it out.
fn contact(
    tx: &mut sync_core::automerge::transaction::Transaction<'_>,
) -> Result<(), sync_core::automerge::AutomergeError> {
    let contacts = tx.put_object(ROOT, "contacts", ObjType::Map)?;
    let p1 = tx.put_object(&contacts, "p1", ObjType::Map)?;
    tx.put(&p1, "email", SENTINELLE_EMAIL)?;
    tx.put(&p1, "tel", SENTINELLE_TEL)
}

fn a_la_sentinelle(am: &Automerge) -> bool {
    agenda::lire_carnet(am).contacts.get("p1").and_then(|c| c.email.clone()).as_deref() == Some(SENTINELLE_EMAIL)
}

fn has_key(key: &'static str) -> impl Fn(&Automerge) -> bool + Send + Sync + 'static {
    move |am| am.get(ROOT, key).ok().flatten().is_some()
}

/// An organiser of `territoire` makes its notebook with a sentinel contact
/// before the territory lists it: the relay says it is unavailable, then,
/// once the listing arrives, takes it.
async fn notebook(relay: &Relay, token: &str, territoire: &DocumentId) -> (Client, DocumentId) {
    let organiser = connect(relay, token).await;
    organiser.open(territoire).await.expect("open");
    organiser.wait_until(territoire, WAIT, |am| !am.get_heads().is_empty()).await.expect("the territory");
    let carnet = organiser.create().await.expect("notebook");
    organiser.change(&carnet, contact).await.expect("sentinel contact");
    organiser.wait_unavailable(&carnet, WAIT).await.expect("not listed yet: unavailable");
    let attacher =
        agenda::Edit::AttacherDocument { document: carnet.to_string(), genre: agenda::GenreDocument::Carnet };
    organiser.apply(territoire, attacher).await.expect("listed");
    let heads = organiser.heads(&carnet).await.expect("heads");
    organiser.wait_relay_has(&carnet, heads, WAIT).await.expect("the relay took the notebook once listed");
    (organiser, carnet)
}

#[tokio::test]
async fn the_notebook_opens_to_the_territorys_organisers_only_and_closes_when_detached() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A");
    let b = territory(&data, "Territoire B");
    let organiser_a = invite(&data, &a, Role::Organisateur, 1);
    let resident_a = invite(&data, &a, Role::Habitant, 2);
    let organiser_b = invite(&data, &b, Role::Organisateur, 3);
    let relay = start_relay_with(data, |config| config.open = false).await;

    // Made before its listing, synced once listed.
    let (organiser, carnet) = notebook(&relay, &organiser_a, &a).await;

    // Another organiser device reads it.
    let second = connect(&relay, &organiser_a).await;
    second.open(&carnet).await.expect("open");
    second.wait_until(&carnet, WAIT, a_la_sentinelle).await.expect("organisers read the notebook");

    // A resident, another territory's organiser: unavailable, like a
    // document no territory lists.
    let resident = connect(&relay, &resident_a).await;
    let unlisted = DocumentId::from_bytes(&[77; 16]).expect("id");
    for doc in [&a, &carnet, &unlisted] {
        resident.open(doc).await.expect("open");
    }
    resident.wait_until(&a, WAIT, |am| !am.get_heads().is_empty()).await.expect("the resident reads A");
    resident.wait_unavailable(&carnet, WAIT).await.expect("a resident never opens the notebook");
    resident.wait_unavailable(&unlisted, WAIT).await.expect("an unlisted document is unavailable");
    let stranger = connect(&relay, &organiser_b).await;
    stranger.open(&carnet).await.expect("open");
    stranger.wait_unavailable(&carnet, WAIT).await.expect("B's organiser never opens A's notebook");
    for client in [&resident, &stranger] {
        let carnet = carnet.clone();
        let vu = client.query(move |v| v.repo.document(&carnet).map(|d| d.get_heads().len())).await;
        assert!(matches!(vu, Ok(None) | Ok(Some(0))), "the notebook reached someone: {vu:?}");
    }
    let seen = resident.read(&a, |am| format!("{:?}", agenda::lire(am))).await.expect("read").expect("loaded");
    assert!(!seen.contains(SENTINELLE_EMAIL) && !seen.contains(SENTINELLE_TEL));

    // Detached: the live organiser device is told at once, and later
    // changes no longer reach it (a territory change after them is the
    // barrier); a new device cannot open it.
    let detacher = agenda::Edit::DetacherDocument { document: carnet.to_string() };
    organiser.apply(&a, detacher).await.expect("detached");
    second.wait_unavailable(&carnet, WAIT).await.expect("access removed at the next sync");
    organiser.change(&carnet, |tx| tx.put(ROOT, "apres_detachement", true).map(|_| ())).await.expect("change");
    organiser.change(&a, |tx| tx.put(ROOT, "barriere", true).map(|_| ())).await.expect("change");
    second.open(&a).await.expect("open");
    second.wait_until(&a, WAIT, has_key("barriere")).await.expect("the barrier arrives");
    let fuite = second.read(&carnet, |am| has_key("apres_detachement")(am)).await.expect("read");
    assert_eq!(fuite, Some(false), "a detached notebook still synced");
    let nouveau = connect(&relay, &organiser_a).await;
    nouveau.open(&carnet).await.expect("open");
    nouveau.wait_unavailable(&carnet, WAIT).await.expect("a new device cannot open a detached notebook");
    relay.stop().await;
}

#[tokio::test]
async fn a_residents_token_never_downloads_the_notebook_and_no_feed_shows_a_contact() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A");
    let organiser_a = invite(&data, &a, Role::Organisateur, 4);
    let resident_a = invite(&data, &a, Role::Habitant, 5);
    let relay = start_relay_with(data, |config| config.open = false).await;

    let (_organiser, carnet) = notebook(&relay, &organiser_a, &a).await;

    // Chunks: the notebook's listing is a 404 for a resident, as for anyone
    // without a token (organisers get it over the websocket).
    let (status, _) = http_get(relay.addr, &format!("/d/{carnet}/chunks?token={resident_a}")).await;
    assert_eq!(status, 404);
    let (status, _) = http_get(relay.addr, &format!("/d/{carnet}/chunks")).await;
    assert_ne!(status, 200);
    let mut download = client::download::Download::default();
    let base = format!("http://{}", relay.addr);
    let refus = client::download::download_document(&base, &carnet, Some(&resident_a), &mut download).await;
    assert!(refus.is_err() && download.held_bytes() == 0, "{refus:?}");
    // Every feed of the territory, and the national ones.
    for path in [
        format!("/t/{a}/"),
        format!("/t/{a}/agenda.ics"),
        format!("/t/{a}/agenda-compat.ics"),
        format!("/t/{a}/agenda.json"),
        format!("/t/{a}/apercu.json"),
        "/agenda.ics".to_owned(),
        "/agenda.json".to_owned(),
        "/territoires.json".to_owned(),
        "/territoires/".to_owned(),
        "/agenda/".to_owned(),
    ] {
        let (_, body) = http_get(relay.addr, &path).await;
        assert!(!body.contains(SENTINELLE_EMAIL) && !body.contains(SENTINELLE_TEL), "{path}");
    }
    relay.stop().await;
}

/// A notebook names its territory (as `Repo::creer_carnet` makes it): an
/// organiser of another territory who lists its id there (the id is in
/// the territory's document, which its residents read) opens nothing;
/// the territory's own organisers still do.
#[tokio::test]
async fn another_territory_listing_a_notebook_that_names_its_own_opens_nothing() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A");
    let b = territory(&data, "Territoire B");
    let organiser_a = invite(&data, &a, Role::Organisateur, 5);
    let organiser_b = invite(&data, &b, Role::Organisateur, 6);
    let relay = start_relay_with(data, |config| config.open = false).await;

    let organiser = connect(&relay, &organiser_a).await;
    organiser.open(&a).await.expect("open");
    organiser.wait_until(&a, WAIT, |am| !am.get_heads().is_empty()).await.expect("the territory");
    let carnet = organiser.create().await.expect("notebook");
    let nomme = a.to_string();
    organiser
        .change(&carnet, move |tx| {
            contact(tx)?;
            tx.put(ROOT, "territoire", nomme.as_str())
        })
        .await
        .expect("sentinel contact, naming A");
    let attacher =
        agenda::Edit::AttacherDocument { document: carnet.to_string(), genre: agenda::GenreDocument::Carnet };
    organiser.apply(&a, attacher.clone()).await.expect("listed by A");
    let heads = organiser.heads(&carnet).await.expect("heads");
    organiser.wait_relay_has(&carnet, heads, WAIT).await.expect("the relay took the notebook");

    // B's organiser lists A's notebook in B, then asks for it.
    let intrus = connect(&relay, &organiser_b).await;
    intrus.open(&b).await.expect("open");
    intrus.wait_until(&b, WAIT, |am| !am.get_heads().is_empty()).await.expect("B");
    intrus.apply(&b, attacher).await.expect("listed by B");
    let heads = intrus.heads(&b).await.expect("heads");
    intrus.wait_relay_has(&b, heads, WAIT).await.expect("the relay has B's listing");
    intrus.open(&carnet).await.expect("open");
    intrus.wait_unavailable(&carnet, WAIT).await.expect("B's listing alone does not open A's notebook");
    let vu = {
        let carnet = carnet.clone();
        intrus.query(move |v| v.repo.document(&carnet).map(|d| d.get_heads().len())).await
    };
    assert!(matches!(vu, Ok(None) | Ok(Some(0))), "A's notebook reached B's organiser: {vu:?}");

    // A's organisers still read it.
    let second = connect(&relay, &organiser_a).await;
    second.open(&carnet).await.expect("open");
    second.wait_until(&carnet, WAIT, a_la_sentinelle).await.expect("A's organisers read their notebook");
    relay.stop().await;
}
