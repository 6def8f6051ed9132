//! Creating a territory from the app against the real relay, by its
//! `--creation` policy: `ouverte` registers the device's document (then
//! uploaded over the websocket with the device's own organiser token, and
//! served by the feeds once public), `sur-candidature` records a
//! candidature accepted or refused by the CLI's functions, `fermee`
//! refuses. Every bad input is answered in French and stores nothing.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions, MemoryStore};
use serde_json::{Value, json};
use server::Creation;
use sha2::{Digest, Sha256};
use sync_core::agenda::{Collection, Edit, Profil, TypeTerritoire, VisibiliteTerritoire};
use sync_core::automerge::ActorId;
use sync_core::{DocumentId, Output, Repo, UnixMillis};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Relay, WAIT, http_get, start_relay_with};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// A relay without `--open`, with this creation policy.
async fn relay(policy: Creation) -> Relay {
    start_relay_with(TempDir::new().expect("temp dir"), |config| {
        config.open = false;
        config.creation = policy;
    })
    .await
}

/// A device's new organiser secret (32 hex) and its `cle` (hex SHA-256 of
/// the secret's text), as the app makes them.
fn secret_and_cle(seed: u8) -> (String, String) {
    let secret: String = (0..16).map(|i| format!("{:02x}", seed.wrapping_add(i))).collect();
    let cle = Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    (secret, cle)
}

/// A territory made on a device, as the app makes it: its id and the
/// device's storage holding it.
fn device_territory(profil: Profil, edits: Vec<Edit>) -> (DocumentId, MemoryStore) {
    let config = sync_core::Config::new("appareil".parse().expect("peer"), ActorId::from([7u8; 16]), "s".into());
    let (mut repo, started) = Repo::start(config, None, [3; 16]).expect("repo");
    let mut outputs = started;
    let (doc, created) =
        repo.create_territory(UnixMillis(now() as u64), &[5; 16], "appareil", profil).expect("created");
    outputs.extend(created);
    for edit in edits {
        outputs.extend(repo.apply(UnixMillis(now() as u64), &doc, "appareil", edit).expect("edit"));
    }
    let mut store = MemoryStore::default();
    for output in outputs {
        if let Output::Write(write) = output {
            for (key, bytes) in write.put {
                store.put(key, bytes);
            }
        }
    }
    store.forget_sync_states();
    (doc, store)
}

/// `POST path` with a content type and a body: (status, head, body).
async fn http_post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> (u16, String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        // The relay may answer (413) before reading everything.
        let _ = stream.write_all(body).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        response
    };
    let response = tokio::time::timeout(WAIT, exchange).await.expect("HTTP answer in time");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, head.to_owned(), body.to_owned())
}

async fn post_json(relay: &Relay, body: &Value) -> (u16, String, String) {
    http_post(relay.addr, "/territoires", "application/json", body.to_string().as_bytes()).await
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Rows of the tables a creation writes: territories, invitations,
/// candidatures, and the kv entries.
fn counts(data: &Path) -> [i64; 4] {
    let conn = rusqlite::Connection::open_with_flags(
        data.join(server::DATABASE_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the relay's database");
    ["territories", "invitations", "candidatures", "kv"]
        .map(|table| conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).expect("count"))
}

fn demande(document: Option<&DocumentId>, cle: &str) -> Value {
    let mut body = json!({
        "cle": cle,
        "nom": "Saint-Essaim-sur-Loire",
        "type": "commune",
        "insee": ["44109"],
        "portes_entree": ["energie", "mobilite"],
        "reseaux": ["colibris"],
        "contact": "mairie@example.org",
        "motivation": "Nos associations veulent un agenda commun.",
    });
    if let Some(doc) = document {
        body["document"] = json!(doc.to_string());
    }
    body
}

async fn connect_with(relay: &Relay, token: &str, store: Option<MemoryStore>, doc: &DocumentId) -> Client {
    let url = format!("{}?token={token}", relay.url());
    let options = ClientOptions { store, open: vec![doc.clone()], ..ClientOptions::default() };
    Client::connect(&url, options).await.expect("the device's token opens the door")
}

#[tokio::test]
async fn the_policy_is_said_and_a_closed_one_refuses_in_french() {
    for (policy, word) in
        [(Creation::Ouverte, "ouverte"), (Creation::SurCandidature, "sur-candidature"), (Creation::Fermee, "fermee")]
    {
        let relay = relay(policy).await;
        let (status, body) = http_get(relay.addr, "/territoires/creation").await;
        assert_eq!((status, json_of(&body)), (200, json!({ "politique": word })));
        relay.stop().await;
    }
    let relay = relay(Creation::Fermee).await;
    let (_, cle) = secret_and_cle(1);
    let doc = DocumentId::from_bytes(&[4; 16]).expect("id");
    let (status, _, body) = post_json(&relay, &demande(Some(&doc), &cle)).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        "Ce relais ne permet pas de créer un territoire depuis l'application\u{a0}: demandez à son équipe.\n"
    );
    assert_eq!(counts(relay.data.path())[..3], [0, 0, 0]);
    relay.stop().await;
}

#[tokio::test]
async fn ouverte_registers_the_devices_document_which_it_uploads_and_the_feeds_serve() {
    let relay = relay(Creation::Ouverte).await;
    let profil = Profil {
        nom: "Saint-Essaim-sur-Loire".into(),
        type_territoire: TypeTerritoire::Commune,
        visibilite: VisibiliteTerritoire::Public,
        ..Profil::default()
    };
    let action = Edit::Creer {
        collection: Collection::Actions,
        id: "a1".into(),
        valeur: json!({
            "titre": "Repair café de la Loire",
            "publication": "publie",
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                        "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-12-29" } },
        }),
    };
    let (doc, store) = device_territory(profil, vec![action]);
    let (secret, cle) = secret_and_cle(1);

    let (status, _, body) = post_json(&relay, &demande(Some(&doc), &cle)).await;
    assert_eq!(status, 201, "{body}");
    let answer = json_of(&body);
    assert_eq!((answer["etat"].as_str(), answer["territoire"].as_str()), (Some("acceptee"), Some(&*doc.to_string())));
    let invitation = answer["invitation"].as_str().expect("an invitation id").to_owned();
    // Sent again (the answer was lost): the same answer, nothing new.
    let before = counts(relay.data.path());
    let (status, _, again) = post_json(&relay, &demande(Some(&doc), &cle)).await;
    assert_eq!((status, json_of(&again)), (200, answer.clone()));
    assert_eq!(counts(relay.data.path()), before);
    // The same document with another cle: someone else's.
    let (_, other_cle) = secret_and_cle(2);
    let (status, _, body) = post_json(&relay, &demande(Some(&doc), &other_cle)).await;
    assert_eq!((status, body.as_str()), (409, "ce territoire existe déjà sur ce relais\n"));
    assert_eq!(counts(relay.data.path()), before);

    // Registered like `essaim territory create` registers: `essaim invite` accepts it.
    let invitations = server::invitations::Invitations::open(relay.data.path()).expect("invitations");
    assert!(invitations.territories().expect("territories").contains(&doc));
    let listed = invitations.list(&doc).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].label.as_deref()), (invitation.as_str(), Some("créateur")));

    // The device uploads its document with its own token.
    let token = format!("{invitation}.{secret}");
    let device = connect_with(&relay, &token, Some(store), &doc).await;
    let heads = device.heads(&doc).await.expect("heads");
    assert!(!heads.is_empty());
    device.wait_relay_has(&doc, heads, WAIT).await.expect("the relay stored the device's document");

    // Stored, the document is taken: a new registration of it is refused.
    let (_, third_cle) = secret_and_cle(3);
    let (status, _, _) = post_json(&relay, &demande(Some(&doc), &third_cle)).await;
    assert_eq!(status, 409);

    for path in [format!("/t/{doc}/"), format!("/t/{doc}/agenda.ics")] {
        let (status, body) = http_get(relay.addr, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("Repair café de la Loire"), "{path}: {body}");
    }
    let (status, territoires) = http_get(relay.addr, "/territoires.json").await;
    assert_eq!(status, 200);
    assert!(territoires.contains(&doc.to_string()) && territoires.contains("Saint-Essaim-sur-Loire"), "{territoires}");
    relay.stop().await;
}

#[tokio::test]
async fn a_candidature_accepted_makes_the_applicant_organiser_and_one_refused_creates_nothing() {
    let relay = relay(Creation::SurCandidature).await;
    let data = relay.data.path().to_owned();
    let (secret, cle) = secret_and_cle(1);

    let (status, _, body) = post_json(&relay, &demande(None, &cle)).await;
    assert_eq!(status, 202, "{body}");
    let answer = json_of(&body);
    assert_eq!(answer["etat"], "en-attente");
    let id = answer["candidature"].as_str().expect("an id").to_owned();
    let (status, _, again) = post_json(&relay, &demande(None, &cle)).await;
    assert_eq!((status, json_of(&again)), (202, answer));
    assert_eq!(counts(&data)[..3], [0, 0, 1]);
    let (status, body) = http_get(relay.addr, &format!("/candidatures/{id}")).await;
    assert_eq!((status, json_of(&body)), (200, json!({ "etat": "en-attente" })));
    assert_eq!(http_get(relay.addr, "/candidatures/0123456789abcdef").await.0, 404);
    assert_eq!(http_get(relay.addr, "/candidatures/pas-un-id").await.0, 404);

    let pending = server::candidatures::Candidatures::open(&data).expect("table").pending().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].demande.insee, ["44109"]);
    let (_, territoires) = http_get(relay.addr, "/territoires.json").await;
    assert!(!territoires.contains("Saint-Essaim"), "nothing public before acceptance: {territoires}");

    let (doc, invitation) =
        server::candidatures::accept(&data, &server::Storage::Sqlite(data.clone()), &id, true, now())
            .expect("accepted");
    assert!(matches!(
        server::candidatures::accept(&data, &server::Storage::Sqlite(data.clone()), &id, true, now()),
        Err(server::candidatures::DecisionError::Decided(_))
    ));
    let (status, body) = http_get(relay.addr, &format!("/candidatures/{id}")).await;
    let expected = json!({ "etat": "acceptee", "territoire": doc.to_string(), "invitation": invitation });
    assert_eq!((status, json_of(&body)), (200, expected));

    // The applicant's device downloads it with its own token, and edits.
    let device = connect_with(&relay, &format!("{invitation}.{secret}"), None, &doc).await;
    let read = doc.clone();
    let nom = device
        .wait_for("the accepted territory", WAIT, move |view| {
            let profil = sync_core::agenda::lire(view.repo.document(&read)?).profil?;
            Some((profil.nom, profil.codes.insee, profil.portes_entree.len()))
        })
        .await
        .expect("the territory reaches the applicant");
    assert_eq!(nom, ("Saint-Essaim-sur-Loire".to_owned(), vec!["44109".to_owned()], 2));
    let edit = Edit::Creer {
        collection: Collection::Actions,
        id: "a1".into(),
        valeur: json!({ "titre": "Première réunion", "publication": "publie",
                        "rythme": { "debut": "2026-03-07T18:30:00", "duree": "PT2H" } }),
    };
    device.apply(&doc, edit).await.expect("an organiser edits");
    let heads = device.heads(&doc).await.expect("heads");
    device.wait_relay_has(&doc, heads, WAIT).await.expect("the relay took the organiser's edit");
    let (_, territoires) = http_get(relay.addr, "/territoires.json").await;
    assert!(territoires.contains(&doc.to_string()), "{territoires}");

    // Refused: the reason is said, and nothing is created.
    let (_, cle) = secret_and_cle(2);
    let mut other = demande(None, &cle);
    other["nom"] = json!("Hameau refusé");
    let (_, _, body) = post_json(&relay, &other).await;
    let refused = json_of(&body)["candidature"].as_str().expect("an id").to_owned();
    let before = counts(&data);
    server::candidatures::refuse(&data, &refused, "Territoire hors de notre région.", now()).expect("refused");
    assert_eq!(counts(&data), before);
    let (status, body) = http_get(relay.addr, &format!("/candidatures/{refused}")).await;
    assert_eq!(
        (status, json_of(&body)),
        (200, json!({ "etat": "refusee", "motif": "Territoire hors de notre région." }))
    );
    let (_, territoires) = http_get(relay.addr, "/territoires.json").await;
    assert!(!territoires.contains("Hameau refusé"), "{territoires}");
    assert!(server::candidatures::Candidatures::open(&data).expect("table").pending().expect("pending").is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn bad_creations_are_refused_in_french_and_store_nothing() {
    let relay = relay(Creation::Ouverte).await;
    let data = relay.data.path().to_owned();
    let (_, cle) = secret_and_cle(1);
    let doc = DocumentId::from_bytes(&[4; 16]).expect("id");
    let good = demande(Some(&doc), &cle);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body.to_string().into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not JSON", b"{\"cle\": ".to_vec(), 400, "demande illisible"),
        ("not an object", b"[1, 2]".to_vec(), 400, "demande illisible"),
        ("unknown field", with("admin", json!(true)), 400, "demande illisible"),
        ("too large", with("motivation", json!("x".repeat(17 * 1024))), 413, "demande trop volumineuse"),
        ("upper-case cle", with("cle", json!(cle.to_uppercase())), 400, "`cle` doit faire 64 caractères"),
        ("short cle", with("cle", json!(&cle[..62])), 400, "`cle` doit faire 64 caractères"),
        ("no document", with("document", Value::Null), 400, "`document` est obligatoire"),
        ("bad document", with("document", json!("pas-un-document")), 400, "`document` n'est pas"),
        ("empty name", with("nom", json!("   ")), 400, "`nom` ne peut pas être vide"),
        ("long name", with("nom", json!("é".repeat(121))), 400, "`nom` dépasse 120 caractères"),
        (
            "unknown kind",
            with("type", json!("royaume")),
            400,
            "type de territoire inconnu\u{a0}: «\u{a0}royaume\u{a0}»",
        ),
        ("bad insee", with("insee", json!(["4410"])), 400, "code INSEE invalide\u{a0}: «\u{a0}4410\u{a0}»"),
        ("insee 20", with("insee", json!(["20004"])), 400, "code INSEE invalide\u{a0}:"),
        ("too many insee", with("insee", json!(vec!["44109"; 51])), 400, "50 codes INSEE au plus"),
        (
            "unknown door",
            with("portes_entree", json!(["magie"])),
            400,
            "porte d'entrée inconnue\u{a0}: «\u{a0}magie\u{a0}»",
        ),
        ("unknown network", with("reseaux", json!(["secret"])), 400, "réseau inconnu\u{a0}: «\u{a0}secret\u{a0}»"),
        ("long contact", with("contact", json!("c".repeat(201))), 400, "`contact` dépasse 200 caractères"),
        ("long motivation", with("motivation", json!("m".repeat(2001))), 400, "`motivation` dépasse 2000"),
        ("control character", with("nom", json!("Saint\u{7}")), 400, "`nom` contient un caractère de contrôle"),
    ];
    for (case, body, status, text) in cases {
        let (got, _, answer) = http_post(relay.addr, "/territoires", "application/json", &body).await;
        assert_eq!(got, status, "{case}: {answer}");
        assert!(answer.starts_with(text), "{case}: {answer}");
    }
    let (got, _, answer) = http_post(relay.addr, "/territoires", "text/plain", good.to_string().as_bytes()).await;
    assert_eq!(got, 415, "{answer}");
    assert_eq!(counts(&data)[..3], [0, 0, 0], "a refused creation stored something");

    // An address creates ten territories an hour, then waits.
    for seed in 0..10u8 {
        let (_, cle) = secret_and_cle(seed);
        let doc = DocumentId::from_bytes(&[seed + 10; 16]).expect("id");
        let (status, _, body) = post_json(&relay, &demande(Some(&doc), &cle)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, cle) = secret_and_cle(99);
    let (status, head, body) =
        post_json(&relay, &demande(Some(&DocumentId::from_bytes(&[99; 16]).expect("id")), &cle)).await;
    assert_eq!(status, 429, "{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
    assert_eq!(body, "trop de créations de territoire depuis cette adresse\u{a0}: réessayez plus tard\n");
    assert_eq!(counts(&data)[..3], [10, 10, 0]);
    relay.stop().await;
}

#[tokio::test]
async fn candidatures_are_rate_limited_per_address() {
    let relay = relay(Creation::SurCandidature).await;
    for seed in 0..10u8 {
        let (_, cle) = secret_and_cle(seed);
        assert_eq!(post_json(&relay, &demande(None, &cle)).await.0, 202);
    }
    let (_, cle) = secret_and_cle(99);
    let (status, _, body) = post_json(&relay, &demande(None, &cle)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(counts(relay.data.path())[..3], [0, 0, 10]);
    relay.stop().await;
}

/// A document some device already uploaded is not anyone's to register;
/// on an `--open` relay, where every device writes every document anyway,
/// a territory synced the moment it was created still registers.
#[tokio::test]
async fn a_document_already_stored_registers_only_on_an_open_relay() {
    let relay = start_relay_with(TempDir::new().expect("temp dir"), |config| config.creation = Creation::Ouverte).await;
    let device = relay.client().await;
    let mut docs = Vec::new();
    for _ in 0..2 {
        let doc = device.create().await.expect("created");
        device
            .change(&doc, |tx| {
                sync_core::automerge::transaction::Transactable::put(tx, sync_core::automerge::ROOT, "nom", "x")
            })
            .await
            .expect("changed");
        let heads = device.heads(&doc).await.expect("heads");
        device.wait_relay_has(&doc, heads, WAIT).await.expect("stored");
        docs.push(doc);
    }
    let (_, cle) = secret_and_cle(1);
    let (status, _, body) = post_json(&relay, &demande(Some(&docs[0]), &cle)).await;
    assert_eq!(status, 201, "{body}");
    drop(device);
    let data = relay.stop().await;

    let relay = start_relay_with(data, |config| {
        config.open = false;
        config.creation = Creation::Ouverte;
    })
    .await;
    let before = counts(relay.data.path());
    let (_, cle) = secret_and_cle(2);
    let (status, _, body) = post_json(&relay, &demande(Some(&docs[1]), &cle)).await;
    assert_eq!((status, body.as_str()), (409, "ce territoire existe déjà sur ce relais\n"));
    assert_eq!(counts(relay.data.path()), before);
    relay.stop().await;
}
