//! Residents volunteering over HTTP (`POST`/`DELETE /t/{doc}/volontaires`)
//! against the real relay: applied by the relay as its own change and
//! synced to organisers, withdrawn only with the secret, refused with a
//! French reason and nothing stored when a rule is broken, rate-limited
//! per invitation; residents' websocket sync stays read-only.

use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use serde_json::{Value, json};
use server::invitations::{Invitations, Role};
use sync_core::DocumentId;
use sync_core::agenda::{self, Edit};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ROOT, ReadDoc};
use tempfile::TempDir;

use crate::support::{Relay, WAIT, http_get, http_request, start_relay_with, stored_rows};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// A closed relay (no `--open`) on `data`.
async fn closed_relay(data: TempDir) -> Relay {
    start_relay_with(data, |config| config.open = false).await
}

/// A territory made like `essaim territory create`, with the tokens of an
/// organiser and of `residents` residents.
fn territory(data: &TempDir, residents: u8) -> (DocumentId, String, Vec<String>) {
    let profil = agenda::Profil { nom: "Saint-Essaim".into(), ..agenda::Profil::default() };
    let doc = server::create_territory(data.path(), profil).expect("territory created");
    let invitations = Invitations::open(data.path()).expect("invitations");
    let invite = |role, seed| invitations.create(&doc, role, None, None, now(), [seed; 24]).expect("invitation").1;
    let organiser = invite(Role::Organisateur, 1);
    let residents = (0..residents).map(|i| invite(Role::Habitant, 10 + i)).collect();
    (doc, organiser, residents)
}

async fn connect(relay: &Relay, token: &str) -> Client {
    Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default()).await.expect("connects")
}

fn edit(value: Value) -> Edit {
    serde_json::from_value(value).expect("an edit")
}

/// The organiser's agenda: action `a1` with an open need `b1` and a closed
/// one `b2`; a deleted action `a2` whose need `b3` was open.
async fn agenda_with_needs(organiser: &Client, doc: &DocumentId) {
    organiser.open(doc).await.expect("open");
    organiser.wait_until(doc, WAIT, |am| am.get(ROOT, "actions").ok().flatten().is_some()).await.expect("loaded");
    let besoin = |action: &str, id: &str, statut: &str| {
        edit(json!({"type": "definir_besoin", "action_id": action, "besoin_id": id,
            "besoin": {"type": "benevoles", "description": "Des bras", "statut": statut}}))
    };
    for e in [
        edit(json!({"type": "creer", "collection": "actions", "id": "a1", "valeur": {"titre": "Chantier du jardin"}})),
        besoin("a1", "b1", "ouvert"),
        besoin("a1", "b2", "clos"),
        edit(json!({"type": "creer", "collection": "actions", "id": "a2", "valeur": {"titre": "Ancienne action"}})),
        besoin("a2", "b3", "ouvert"),
        edit(json!({"type": "supprimer", "collection": "actions", "id": "a2"})),
    ] {
        organiser.apply(doc, e).await.expect("organiser's edit");
    }
    let heads = organiser.heads(doc).await.expect("heads");
    organiser.wait_relay_has(doc, heads, WAIT).await.expect("the relay has the agenda");
}

fn proof(secret: &str) -> String {
    agenda::preuve_du_secret(secret)
}

fn proposal(action: &str, besoin: &str, volontaire: &str, nom: &str, secret: &str) -> Value {
    json!({"action": action, "besoin": besoin, "volontaire": volontaire, "nom": nom,
        "message": "J'apporte des gants", "preuve": proof(secret)})
}

async fn propose(relay: &Relay, doc: &DocumentId, token: &str, body: &Value) -> (u16, String) {
    let (status, _, text) =
        http_request(relay.addr, "POST", &format!("/t/{doc}/volontaires"), Some(token), &body.to_string()).await;
    (status, text)
}

async fn withdraw(relay: &Relay, doc: &DocumentId, token: &str, volontaire: &str, secret: &str) -> (u16, String) {
    let body = json!({"action": "a1", "besoin": "b1", "secret": secret}).to_string();
    let (status, _, text) =
        http_request(relay.addr, "DELETE", &format!("/t/{doc}/volontaires/{volontaire}"), Some(token), &body).await;
    (status, text)
}

/// The volunteers of `a1/b1` as `(id, name, message)`, read like the app does.
fn volunteers(am: &Automerge) -> Vec<(String, Option<String>, Option<String>)> {
    let agenda = agenda::lire(am);
    let Some(besoin) = agenda.actions.get("a1").and_then(|a| a.besoins.get("b1")) else { return Vec::new() };
    besoin.volontaires.iter().map(|(id, v)| (id.clone(), v.nom.clone(), v.message.clone())).collect()
}

fn changes(am: &Automerge) -> usize {
    am.get_changes(&[]).len()
}

#[tokio::test]
async fn a_resident_volunteers_over_http_and_withdraws_with_the_secret_only() {
    let data = TempDir::new().expect("temp dir");
    let (doc, organiser_token, residents) = territory(&data, 1);
    let resident_token = &residents[0];
    let relay = closed_relay(data).await;
    let organiser = connect(&relay, &organiser_token).await;
    agenda_with_needs(&organiser, &doc).await;
    organiser.close().await.expect("closed");
    // The relay restarts: the territory is no longer in its memory, and
    // the request loads it.
    let relay = closed_relay(relay.stop().await).await;

    let secret = "5e".repeat(32);
    let (status, body) = propose(&relay, &doc, resident_token, &proposal("a1", "b1", "v1", " Camille ", &secret)).await;
    assert_eq!((status, body.as_str()), (201, r#"{"volontaire":"v1"}"#));

    // The resident's own websocket change goes nowhere, as before.
    let resident = connect(&relay, resident_token).await;
    resident.open(&doc).await.expect("open");
    resident.wait_until(&doc, WAIT, |am| !volunteers(am).is_empty()).await.expect("the resident reads the entry");
    resident.change(&doc, |tx| tx.put(ROOT, "ecrit_par_habitant", "oui").map(|_| ())).await.expect("local change");

    let organiser = connect(&relay, &organiser_token).await;
    organiser.open(&doc).await.expect("open");
    let camille = ("v1".to_owned(), Some("Camille".to_owned()), Some("J'apporte des gants".to_owned()));
    let expected = vec![camille.clone()];
    organiser.wait_until(&doc, WAIT, move |am| volunteers(am) == expected).await.expect("the organiser sees Camille");
    let before = organiser.read(&doc, changes).await.expect("read").expect("loaded");

    // The same volunteering again (a retry): 200, no new change.
    let (status, _) = propose(&relay, &doc, resident_token, &proposal("a1", "b1", "v1", "Camille", &secret)).await;
    assert_eq!(status, 200);
    // Withdrawing with a wrong secret: refused.
    let (status, body) = withdraw(&relay, &doc, resident_token, "v1", &"00".repeat(32)).await;
    assert_eq!((status, body.as_str()), (400, "Ce secret ne correspond pas à cette proposition\n"));
    // With the right one: gone, in one change.
    let (status, _) = withdraw(&relay, &doc, resident_token, "v1", &secret).await;
    assert_eq!(status, 204);
    organiser.wait_until(&doc, WAIT, |am| volunteers(am).is_empty()).await.expect("the organiser sees it withdrawn");
    let after = organiser.read(&doc, changes).await.expect("read").expect("loaded");
    assert_eq!(after, before + 1, "the retry and the refusal wrote nothing");
    // Withdrawn already: nothing to do.
    assert_eq!(withdraw(&relay, &doc, resident_token, "v1", &secret).await.0, 204);

    let leaked = organiser.read(&doc, |am| am.get(ROOT, "ecrit_par_habitant").ok().flatten().is_some()).await;
    assert_eq!(leaked.expect("read"), Some(false), "a resident's websocket change was relayed");
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    let data = relay.stop().await;
    assert!(stored_rows(data.path()).keys().all(|k| !k.contains("ecrit_par_habitant")));
}

#[tokio::test]
async fn refused_requests_get_a_french_reason_and_change_nothing() {
    let data = TempDir::new().expect("temp dir");
    let (doc, organiser_token, residents) = territory(&data, 2);
    let other = {
        let profil = agenda::Profil { nom: "Ailleurs".into(), ..agenda::Profil::default() };
        let other = server::create_territory(data.path(), profil).expect("territory");
        let invitations = Invitations::open(data.path()).expect("invitations");
        invitations.create(&other, Role::Habitant, None, None, now(), [99; 24]).expect("invitation").1
    };
    let relay = closed_relay(data).await;
    let organiser = connect(&relay, &organiser_token).await;
    agenda_with_needs(&organiser, &doc).await;
    let before = organiser.read(&doc, changes).await.expect("read").expect("loaded");
    let resident = residents[0].as_str();
    let secret = "ab".repeat(32);
    let path = format!("/t/{doc}/volontaires");

    let long_name = "x".repeat(81);
    let long_message = json!({"action": "a1", "besoin": "b1", "volontaire": "v2", "nom": "Camille",
        "message": "m".repeat(501), "preuve": proof(&secret)});
    let cases: Vec<(Value, &str)> = vec![
        (proposal("a1", "b2", "v2", "Camille", &secret), "Ce besoin est clos\n"),
        (proposal("a2", "b3", "v2", "Camille", &secret), "Action inconnue\n"),
        (proposal("a9", "b1", "v2", "Camille", &secret), "Action inconnue\n"),
        (proposal("a1", "b9", "v2", "Camille", &secret), "Besoin inconnu\n"),
        (
            proposal("a1", "b1", "v2", "  ", &secret),
            "Nom invalide\u{a0}: de 1 à 80 caractères, sans caractère de contrôle\n",
        ),
        (
            proposal("a1", "b1", "v2", &long_name, &secret),
            "Nom invalide\u{a0}: de 1 à 80 caractères, sans caractère de contrôle\n",
        ),
        (
            proposal("a1", "b1", "v2", "Ca\u{1b}mille", &secret),
            "Nom invalide\u{a0}: de 1 à 80 caractères, sans caractère de contrôle\n",
        ),
        (long_message, "Message invalide\u{a0}: 500 caractères au plus, sans caractère de contrôle\n"),
        (proposal("a1", "b1", "v 2", "Camille", &secret), "Identifiant de volontaire invalide\n"),
        (
            json!({"action": "a1", "besoin": "b1", "volontaire": "v2", "nom": "Camille", "preuve": proof(&secret),
                "acteur_id": "x1", "confirme": true}),
            "Demande illisible\u{a0}: un objet JSON avec les champs attendus, et eux seuls\n",
        ),
    ];
    for (body, reason) in &cases {
        let (status, text) = propose(&relay, &doc, resident, body).await;
        assert_eq!((status, text.as_str()), (400, *reason), "{body}");
    }
    let (status, _, text) = http_request(relay.addr, "POST", &path, Some(resident), "pas du JSON").await;
    assert_eq!(
        (status, text.as_str()),
        (400, "Demande illisible\u{a0}: un objet JSON avec les champs attendus, et eux seuls\n")
    );
    let huge = json!({"action": "a1", "besoin": "b1", "volontaire": "v2", "nom": "Camille", "preuve": proof(&secret),
        "message": "m".repeat(5_000)});
    let (status, _, text) = http_request(relay.addr, "POST", &path, Some(resident), &huge.to_string()).await;
    assert_eq!((status, text.as_str()), (413, "Demande trop grande\u{a0}: 4 Kio au plus\n"));
    // No token, another territory's token, a broken document id.
    let valid = proposal("a1", "b1", "v2", "Camille", &secret).to_string();
    assert_eq!(http_request(relay.addr, "POST", &path, None, &valid).await.0, 401);
    assert_eq!(http_request(relay.addr, "POST", &path, Some(&other), &valid).await.0, 401);
    let (status, _, text) =
        http_request(relay.addr, "POST", "/t/pas-un-document/volontaires", Some(resident), &valid).await;
    assert_eq!((status, text.as_str()), (404, "Territoire inconnu\n"));

    // The quota: every request of an invitation counts, the 21st in the
    // hour is refused, whatever it asks; another invitation still passes.
    let spender = residents[1].as_str();
    for _ in 0..20 {
        assert_eq!(propose(&relay, &doc, spender, &proposal("a1", "b2", "v3", "Sacha", &secret)).await.0, 400);
    }
    let (status, head, text) = http_request(relay.addr, "POST", &path, Some(spender), &valid).await;
    assert_eq!(status, 429);
    assert!(text.starts_with("Trop de demandes avec cette invitation\u{a0}: réessayez dans "), "{text}");
    let retry = head.lines().find_map(|l| l.strip_prefix("retry-after: ")).and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s > 3_500 && s <= 3_600), "{head}");

    // Then one valid request: exactly one change reaches the organiser.
    assert_eq!(propose(&relay, &doc, resident, &proposal("a1", "b1", "v2", "Camille", &secret)).await.0, 201);
    organiser.wait_until(&doc, WAIT, |am| volunteers(am).len() == 1).await.expect("the organiser sees Camille");
    let after = organiser.read(&doc, changes).await.expect("read").expect("loaded");
    assert_eq!(after, before + 1, "a refused request wrote something");
    assert_eq!(http_get(relay.addr, "/healthz").await.0, 200);
    relay.stop().await;
}
