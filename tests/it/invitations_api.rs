//! The invitations API (`/t/{id}/invitations`) against the real relay:
//! organisers create, list and revoke a territory's invitations over HTTP;
//! residents, other territories' tokens, bad input and the limits are
//! refused with nothing stored; a revoked link's websocket closes. And the
//! open-mode regression of issue 14 (problem 2): on an `--open` relay, a
//! connection that carries tokens still reads and writes every document.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use server::invitations::{Invitations, Role};
use server::invitations_api::{MAX_LIVE, MAX_PER_HOUR};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ROOT, ReadDoc};
use sync_core::{DocumentId, agenda};
use tempfile::TempDir;

use crate::support::{Relay, WAIT, http_request, start_relay_with};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

fn territory(data: &TempDir, nom: &str) -> DocumentId {
    let profil = agenda::Profil { nom: nom.into(), ..agenda::Profil::default() };
    server::create_territory(data.path(), profil).expect("territory created")
}

fn invite(data: &TempDir, doc: &DocumentId, role: Role, seed: u8) -> String {
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, role, None, None, now(), [seed; 24]).expect("created").1
}

/// [`http_request`], without the response head.
async fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let (status, _, body) = http_request(addr, method, path, token, body).await;
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The invitations of `doc` the relay's SQLite file holds.
fn stored(dir: &std::path::Path, doc: &DocumentId) -> usize {
    Invitations::open(dir).expect("invitations").list(doc).expect("list").len()
}

#[tokio::test]
async fn organisers_create_list_and_revoke_invitations_over_http() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Commune de Plessé");
    let organiser = invite(&data, &doc, Role::Organisateur, 1);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let path = format!("/t/{doc}/invitations");

    let body = r#"{"role":"habitant","libelle":"Conseil municipal","expire_dans_jours":30}"#;
    let (status, created) = request(relay.addr, "POST", &path, Some(&organiser), body).await;
    assert_eq!(status, 201, "{created}");
    let created = json(&created);
    let invitation = &created["invitation"];
    let id = invitation["id"].as_str().expect("id").to_owned();
    let jeton = created["jeton"].as_str().expect("token").to_owned();
    assert!(jeton.starts_with(&format!("{id}.")), "{created}");
    assert_eq!(invitation["role"], "habitant");
    assert_eq!(invitation["libelle"], "Conseil municipal");
    assert_eq!(invitation["etat"], "valide");
    let expiry = invitation["expire_le"].as_i64().expect("expiry") - invitation["cree_le"].as_i64().expect("created");
    assert_eq!(expiry, 30 * 86_400_000);

    // The token opens the territory, read-only.
    let resident =
        Client::connect(&format!("{}?token={jeton}", relay.url()), ClientOptions::default()).await.expect("connects");
    resident.open(&doc).await.expect("open");
    resident
        .wait_until(&doc, WAIT, |am| agenda::lire(am).profil.is_some_and(|p| p.nom == "Commune de Plessé"))
        .await
        .expect("the new link opens the territory");

    let (status, listed) = request(relay.addr, "GET", &path, Some(&organiser), "").await;
    assert_eq!(status, 200, "{listed}");
    let listed = json(&listed);
    let roles: Vec<(&str, &str)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| (i["role"].as_str().expect("role"), i["etat"].as_str().expect("state")))
        .collect();
    assert_eq!(roles, [("organisateur", "valide"), ("habitant", "valide")]);
    assert!(!listed.to_string().contains(jeton.split('.').nth(1).expect("secret")), "a secret is listed");

    // An organiser's link too.
    let (status, second) = request(relay.addr, "POST", &path, Some(&organiser), r#"{"role":"organisateur"}"#).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(json(&second)["invitation"]["expire_le"], serde_json::Value::Null);

    // Revoked: the live connection closes within seconds, the list says so.
    let (status, answer) = request(relay.addr, "DELETE", &format!("{path}/{id}"), Some(&organiser), "").await;
    assert_eq!((status, answer.as_str()), (204, ""));
    resident
        .wait_for("the revoked link's connection to close", Duration::from_secs(5), |v| {
            (!v.observed.connected).then_some(())
        })
        .await
        .expect("closed within 5 s");
    let (_, listed) = request(relay.addr, "GET", &path, Some(&organiser), "").await;
    let revoked = json(&listed).as_array().expect("a list").iter().find(|i| i["id"] == id.as_str()).cloned();
    let revoked = revoked.expect("still listed");
    assert_eq!(revoked["etat"], "revoquee");
    assert!(revoked["revoquee_le"].is_i64());
    let (status, _) = request(relay.addr, "GET", &format!("/invitation?token={jeton}"), None, "").await;
    assert_eq!(status, 401);
    relay.stop().await;
}

#[tokio::test]
async fn residents_other_territories_bad_input_and_limits_are_refused_with_nothing_stored() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Commune de Plessé");
    let other = territory(&data, "Quartier du Bourg");
    let organiser = invite(&data, &doc, Role::Organisateur, 1);
    let resident = invite(&data, &doc, Role::Habitant, 2);
    let foreign = invite(&data, &other, Role::Organisateur, 3);
    let foreign_id = foreign.split('.').next().expect("id").to_owned();
    let dir = data.path().to_owned();
    let relay = start_relay_with(data, |config| config.open = false).await;
    let path = format!("/t/{doc}/invitations");
    let create = r#"{"role":"habitant"}"#;

    // Who asks.
    let (status, body) = request(relay.addr, "POST", &path, Some(&resident), create).await;
    assert_eq!((status, body.as_str()), (403, "Seuls les organisateurs gèrent les invitations.\n"));
    let (status, _) = request(relay.addr, "GET", &path, Some(&resident), "").await;
    assert_eq!(status, 403);
    for token in [Some(foreign.as_str()), None, Some("0000000000000000.00000000000000000000000000000000")] {
        let (status, body) = request(relay.addr, "POST", &path, token, create).await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }
    let (status, _) = request(relay.addr, "GET", "/t/pas-un-document/invitations", Some(&organiser), "").await;
    assert_eq!(status, 401);
    // Another territory's invitation is not this territory's to revoke.
    let (status, body) = request(relay.addr, "DELETE", &format!("{path}/{foreign_id}"), Some(&organiser), "").await;
    assert_eq!((status, body.as_str()), (404, "Aucune invitation de ce territoire ne porte cet identifiant.\n"));
    let (status, _) = request(relay.addr, "DELETE", &format!("{path}/pas-un-id"), Some(&organiser), "").await;
    assert_eq!(status, 404);
    let (status, _) = request(relay.addr, "GET", &format!("/invitation?token={foreign}"), None, "").await;
    assert_eq!(status, 204, "the foreign invitation was revoked");

    // What is sent.
    let huge = format!(r#"{{"role":"habitant","libelle":"{}"}}"#, "a".repeat(20_000));
    let long = format!(r#"{{"role":"habitant","libelle":"{}"}}"#, "é".repeat(81));
    let cases = [
        ("", 400),
        ("pas du JSON", 400),
        (r#"{"role":"resident"}"#, 400),
        (r#"{"role":"habitant","expire_dans_jours":0}"#, 400),
        (r#"{"role":"habitant","expire_dans_jours":3651}"#, 400),
        (r#"{"role":"habitant","jeton":"choisi"}"#, 400),
        (long.as_str(), 400),
        (huge.as_str(), 413),
    ];
    for (body, expected) in cases {
        let (status, answer) = request(relay.addr, "POST", &path, Some(&organiser), body).await;
        assert_eq!(status, expected, "{}: {answer}", &body[..body.len().min(60)]);
        assert!(!answer.is_empty() && !answer.contains("serde"), "{answer}");
    }
    assert_eq!(stored(&dir, &doc), 2, "a refused request stored an invitation");

    // Creations per hour (the two above count), then valid invitations per
    // territory.
    for n in 2..MAX_PER_HOUR as usize {
        let (status, body) = request(relay.addr, "POST", &path, Some(&organiser), create).await;
        assert_eq!(status, 201, "creation {n}: {body}");
    }
    let (status, body) = request(relay.addr, "POST", &path, Some(&organiser), create).await;
    assert_eq!((status, body.as_str()), (429, "Trop d'invitations créées en une heure\u{a0}: réessayez plus tard.\n"));
    assert_eq!(stored(&dir, &doc), MAX_PER_HOUR as usize);

    let full = Invitations::open(&dir).expect("invitations");
    let two_hours_ago = now() - 2 * 3_600_000;
    for n in 0..MAX_LIVE {
        let mut random = [0u8; 24];
        random[..8].copy_from_slice(&(n + 1).to_be_bytes());
        random[8] = 0xee;
        full.create(&other, Role::Habitant, None, None, two_hours_ago, random).expect("created");
    }
    let other_path = format!("/t/{other}/invitations");
    let other_organiser = invite_on(&dir, &other, two_hours_ago);
    let (status, body) = request(relay.addr, "POST", &other_path, Some(&other_organiser), create).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("1000 invitations valides"), "{body}");
    relay.stop().await;
}

/// An organiser's token of `doc` created at `at`, straight in the table.
fn invite_on(dir: &std::path::Path, doc: &DocumentId, at: i64) -> String {
    let invitations = Invitations::open(dir).expect("invitations");
    invitations.create(doc, Role::Organisateur, None, None, at, [0xab; 24]).expect("created").1
}

// See: issue 14, problem 2. A device that joined a territory by
// invitation kept syncing nothing else on an `--open` relay: its tokens
// turned open mode off for its whole connection.
#[tokio::test]
async fn r14_2_on_an_open_relay_a_connection_with_tokens_still_writes_every_document() {
    let data = TempDir::new().expect("temp dir");
    let joined = territory(&data, "Commune de Plessé");
    let resident = invite(&data, &joined, Role::Habitant, 1);
    let relay: Relay = start_relay_with(data, |config| config.open = true).await;

    let device = Client::connect(&format!("{}?token={resident}", relay.url()), ClientOptions::default())
        .await
        .expect("connects");
    let own = device.create().await.expect("a document of its own");
    device.change(&own, |tx| tx.put(ROOT, "note", "créé sur l'appareil").map(|_| ())).await.expect("change");
    let heads = device.heads(&own).await.expect("heads");
    device.wait_relay_has(&own, heads, WAIT).await.expect("the relay took the change of a device holding a token");
    device.open(&joined).await.expect("open");
    device
        .wait_until(&joined, WAIT, |am| agenda::lire(am).profil.is_some())
        .await
        .expect("the joined territory syncs too");

    let other = relay.client().await;
    other.open(&own).await.expect("open");
    other
        .wait_until(&own, WAIT, |am| am.get(ROOT, "note").ok().flatten().is_some())
        .await
        .expect("another device gets the edit");
    relay.stop().await;
}
