//! The public feeds served by the real relay from its SQLite copy: what a
//! public territory shows, what a private one hides without a token, the
//! national views, and conditional requests. The feeds' content itself is
//! checked against Python's icalendar in `flux_oracle.rs`.

use client::{Client, ClientOptions};
use serde_json::json;
use server::invitations::{Invitations, Role};
use sync_core::DocumentId;
use sync_core::agenda::{Collection, Edit, Profil, VisibiliteTerritoire};
use tempfile::TempDir;

use crate::support::{Relay, WAIT, http_get, http_get_with, start_relay_with};

pub(crate) fn territory(data: &TempDir, nom: &str, public: bool) -> DocumentId {
    let visibilite = if public { VisibiliteTerritoire::Public } else { VisibiliteTerritoire::Prive };
    let profil = Profil { nom: nom.into(), visibilite, ..Profil::default() };
    server::create_territory(data.path(), profil).expect("territory")
}

pub(crate) fn token(data: &TempDir, doc: &DocumentId, role: Role, seed: u8) -> String {
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, role, None, None, 0, [seed; 24]).expect("invitation").1
}

pub(crate) fn action(id: &str, titre: &str, visibilite: &str) -> Edit {
    Edit::Creer {
        collection: Collection::Actions,
        id: id.into(),
        valeur: json!({
            "titre": titre,
            "visibilite": visibilite,
            "publication": "publie",
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                        "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-12-29" } },
        }),
    }
}

/// An organiser adds actions through the relay, which stores them.
pub(crate) async fn organise(relay: &Relay, token: &str, doc: &DocumentId, edits: Vec<Edit>) {
    let url = format!("{}?token={token}", relay.url());
    let client = Client::connect(&url, ClientOptions::default()).await.expect("organiser connects");
    client.open(doc).await.expect("open");
    client.wait_until(doc, WAIT, |am| !am.get_heads().is_empty()).await.expect("territory loaded");
    for edit in edits {
        client.apply(doc, edit).await.expect("valid edit");
    }
    let heads = client.heads(doc).await.expect("heads");
    client.wait_relay_has(doc, heads, WAIT).await.expect("relay stored the edits");
}

#[tokio::test]
async fn public_feeds_show_public_actions_private_territories_need_a_token() {
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let private = territory(&data, "Quartier discret", false);
    let organiser_public = token(&data, &public, Role::Organisateur, 1);
    let organiser_private = token(&data, &private, Role::Organisateur, 2);
    let resident_private = token(&data, &private, Role::Habitant, 3);
    let relay = start_relay_with(data, |config| config.open = false).await;
    organise(
        &relay,
        &organiser_public,
        &public,
        vec![action("a1", "Repair café public", "public"), action("a2", "Réunion interne", "membres")],
    )
    .await;
    organise(&relay, &organiser_private, &private, vec![action("b1", "Atelier du quartier", "public")]).await;

    let (status, head, ics) = http_get_with(relay.addr, &format!("/t/{public}/agenda.ics"), &[]).await;
    assert_eq!(status, 200, "{ics}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/calendar"), "{head}");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.contains("RRULE:FREQ=WEEKLY"), "{ics}");
    assert!(ics.contains("Repair café public") && !ics.contains("Réunion interne"), "{ics}");

    // Conditional request: same heads, same hour, 304 and no body.
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: ").or_else(|| l.strip_prefix("ETag: ")))
        .expect("an ETag")
        .to_owned();
    let (status, _, body) =
        http_get_with(relay.addr, &format!("/t/{public}/agenda.ics"), &[("If-None-Match", &etag)]).await;
    assert_eq!((status, body.as_str()), (304, ""));

    for encoding in ["gzip", "br"] {
        let (status, head, _) =
            http_get_with(relay.addr, &format!("/t/{public}/agenda.ics"), &[("Accept-Encoding", encoding)]).await;
        assert_eq!(status, 200);
        assert!(head.to_ascii_lowercase().contains(&format!("content-encoding: {encoding}")), "{head}");
    }

    for file in ["agenda-compat.ics", "agenda.json", "apercu.json", ""] {
        let (status, body) = http_get(relay.addr, &format!("/t/{public}/{file}")).await;
        assert_eq!(status, 200, "{file}: {body}");
        assert!(body.contains("Repair café public") && !body.contains("Réunion interne"), "{file}: {body}");
    }

    // A private territory: 404 without a token, or with another
    // territory's, exactly like a territory that does not exist.
    let missing = DocumentId::from_bytes(&[9; 16]).expect("id");
    let (absent, absent_body) = http_get(relay.addr, &format!("/t/{missing}/agenda.ics")).await;
    assert_eq!(absent, 404);
    for query in [String::new(), format!("?token={organiser_public}")] {
        let (status, body) = http_get(relay.addr, &format!("/t/{private}/agenda.ics{query}")).await;
        assert_eq!((status, &body), (404, &absent_body), "{query}");
    }
    let (status, body) = http_get(relay.addr, &format!("/t/{private}/agenda.ics?token={resident_private}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Atelier du quartier"), "{body}");
    // The first visit's preview is a feed like the others.
    let (status, body) = http_get(relay.addr, &format!("/t/{private}/apercu.json")).await;
    assert_eq!((status, &body), (404, &absent_body));
    let (status, body) = http_get(relay.addr, &format!("/t/{private}/apercu.json?token={resident_private}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Atelier du quartier"), "{body}");

    // National views: public territories only.
    let (status, territoires) = http_get(relay.addr, "/territoires.json").await;
    assert_eq!(status, 200);
    assert!(territoires.contains("Commune ouverte") && !territoires.contains("Quartier discret"), "{territoires}");
    let (status, national) = http_get(relay.addr, "/agenda.ics").await;
    assert_eq!(status, 200);
    assert!(national.contains("Repair café public") && !national.contains("Atelier du quartier"), "{national}");
    let (status, national) = http_get(relay.addr, "/agenda.json").await;
    assert_eq!(status, 200);
    assert!(national.contains("Repair café public") && !national.contains("Atelier du quartier"), "{national}");
    relay.stop().await;
}

/// A national instance lists more public territories than the feeds keep
/// read models of: once a national feed is rendered, asking for it again
/// (without `If-None-Match`, as a crawler does) loads no territory again.
#[tokio::test]
async fn national_feed_loads_nothing_once_rendered_with_more_territories_than_the_cache() {
    let data = TempDir::new().expect("temp dir");
    let territoires: Vec<DocumentId> =
        ["Commune une", "Commune deux", "Commune trois"].iter().map(|nom| territory(&data, nom, true)).collect();
    let tokens: Vec<String> =
        territoires.iter().zip(1..).map(|(doc, seed)| token(&data, doc, Role::Organisateur, seed)).collect();
    let relay = start_relay_with(data, |config| {
        config.open = false;
        config.feed_cache_documents = 2;
    })
    .await;
    for (i, (doc, token)) in territoires.iter().zip(&tokens).enumerate() {
        organise(&relay, token, doc, vec![action(&format!("a{i}"), &format!("Atelier numéro {i}"), "public")]).await;
    }
    let read = || crate::support::metric(relay.addr, "essaim_feed_documents_read_total");
    let renders = || crate::support::metric(relay.addr, "essaim_feed_renders_total");
    let (status, first) = http_get(relay.addr, "/agenda.json").await;
    assert_eq!(status, 200, "{first}");
    for i in 0..territoires.len() {
        assert!(first.contains(&format!("Atelier numéro {i}")), "{i} in {first}");
    }
    let (read_once, rendered_once) = (read().await, renders().await);
    assert!(read_once >= 3.0, "each territory read: {read_once}");
    for _ in 0..3 {
        let (status, again) = http_get(relay.addr, "/agenda.json").await;
        assert_eq!((status, &again), (200, &first));
    }
    assert_eq!(read().await, read_once, "a rendered national feed reloads territories");
    assert_eq!(renders().await, rendered_once);
    // A territory that changes is read again and the feed rendered anew.
    organise(&relay, &tokens[1], &territoires[1], vec![action("n1", "Fête des voisins", "public")]).await;
    let (status, changed) = http_get(relay.addr, "/agenda.json").await;
    assert_eq!(status, 200);
    assert!(changed.contains("Fête des voisins"), "{changed}");
    assert_eq!(renders().await, rendered_once + 1.0);
    relay.stop().await;
}

/// A territory's stored chunks change while its heads do not (another
/// relay of a cluster, or a restore, wrote its changes in a chunk of its
/// own): the national feed keeps its `ETag` and is not rendered again.
#[tokio::test]
async fn national_feed_is_rendered_once_per_heads_not_per_chunks() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Commune des têtes", true);
    let token = token(&data, &doc, Role::Organisateur, 1);
    let path = data.path().to_owned();
    let relay = start_relay_with(data, |config| config.open = false).await;
    organise(&relay, &token, &doc, vec![action("a1", "Atelier vélo", "public")]).await;
    let renders = || crate::support::metric(relay.addr, "essaim_feed_renders_total");
    let (status, head, body) = http_get_with(relay.addr, "/agenda.json", &[]).await;
    assert_eq!(status, 200, "{body}");
    let etag = header(&head, "etag").expect("an ETag");
    let rendered = renders().await;

    // The same changes again, in a chunk of another name.
    let rows = crate::support::stored_rows(&path);
    let chunks: Vec<Vec<u8>> =
        rows.iter().filter(|(key, _)| key.starts_with(&format!("{doc}/"))).map(|(_, v)| v.clone()).collect();
    let mut am = sync_core::automerge::Automerge::new();
    for chunk in &chunks {
        am.load_incremental(chunk).expect("a stored chunk loads");
    }
    let again = am.save();
    let key = sync_core::StorageKey::chunk(&doc, sync_core::ChunkKind::Incremental, &"e".repeat(64));
    let conn = rusqlite::Connection::open(path.join(server::DATABASE_FILE)).expect("the relay's database");
    conn.busy_timeout(WAIT).expect("busy timeout");
    conn.execute("INSERT INTO kv (key, value) VALUES (?1, ?2)", rusqlite::params![key.to_string(), again])
        .expect("insert");

    let (status, head, same) = http_get_with(relay.addr, "/agenda.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "etag").as_deref(), Some(etag.as_str()), "same heads, same ETag");
    assert_eq!(same, body);
    assert_eq!(renders().await, rendered, "same heads, nothing rendered again");
    let (status, _, _) = http_get_with(relay.addr, "/agenda.json", &[("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    relay.stop().await;
}

/// The national agenda is large: it is compressed once per `ETag` and
/// encoding, then served from what was kept; what a client decompresses
/// is the feed itself.
#[tokio::test]
async fn a_large_national_feed_is_compressed_once() {
    use std::io::Read;
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Commune bavarde", true);
    let token = token(&data, &doc, Role::Organisateur, 1);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let edits = (0..40).map(|i| action(&format!("a{i}"), &format!("Atelier hebdomadaire numéro {i}"), "public"));
    organise(&relay, &token, &doc, edits.collect()).await;
    let compressions = || crate::support::metric(relay.addr, "essaim_feed_compressions_total");
    let (status, _, plain) = crate::support::http_get_bytes(relay.addr, "/agenda.json", &[]).await;
    assert_eq!(status, 200);
    assert!(plain.len() >= 64 * 1024, "a large feed: {} bytes", plain.len());
    for _ in 0..3 {
        let (status, head, gzip) =
            crate::support::http_get_bytes(relay.addr, "/agenda.json", &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(status, 200);
        assert_eq!(header(&head, "content-encoding").as_deref(), Some("gzip"));
        assert_eq!(header(&head, "content-length"), Some(gzip.len().to_string()), "the compressed length");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut unzipped).expect("gzip");
        assert_eq!(unzipped, plain, "the same feed");
        assert!(gzip.len() * 5 < plain.len(), "{} bytes compressed", gzip.len());
    }
    assert_eq!(compressions().await, 1.0, "compressed once for three requests");
    let (status, head, _) =
        crate::support::http_get_bytes(relay.addr, "/agenda.json", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!((status, header(&head, "content-encoding").as_deref()), (200, Some("br")));
    assert_eq!(compressions().await, 2.0, "once more for brotli");
    relay.stop().await;
}

/// A response header's value (names are case-insensitive).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}
