//! Access control against the real relay: invitation tokens checked at the
//! websocket upgrade, organisers read-write, residents read-only, other
//! documents unavailable, revocation closing live connections, and failed
//! attempts rate-limited. Real websocket clients, real SQLite files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use futures_util::SinkExt;
use server::invitations::{Invitations, Role};
use sync_core::automerge::sync::SyncDoc;
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ROOT, ReadDoc};
use sync_core::{DocumentId, Message, SyncMessage, agenda};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::{
    Relay, WAIT, expect_error_and_close, http_get, http_get_with, raw_join, start_relay_with, stored_rows,
};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// A territory created the way `essaim territory create` does.
fn territory(data: &TempDir, nom: &str) -> DocumentId {
    let profil = agenda::Profil { nom: nom.into(), ..agenda::Profil::default() };
    server::create_territory(data.path(), profil).expect("territory created")
}

fn invite(data: &TempDir, doc: &DocumentId, role: Role, expires_at: Option<i64>, seed: u8) -> (String, String) {
    let invitations = Invitations::open(data.path()).expect("invitations");
    let (invitation, token) = invitations.create(doc, role, None, expires_at, now(), [seed; 24]).expect("created");
    (invitation.id, token)
}

/// A closed relay (no `--open`) on `data`.
async fn closed_relay(data: TempDir) -> Relay {
    start_relay_with(data, |config| config.open = false).await
}

async fn connect(relay: &Relay, token: &str) -> Result<Client, client::ClientError> {
    Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default()).await
}

/// The HTTP status the upgrade was refused with.
async fn refused_status(relay: &Relay, query: &str) -> u16 {
    match tokio_tungstenite::connect_async(format!("{}{query}", relay.url())).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the relay let a connection in with {query:?}"),
    }
}

fn has_key(key: &'static str) -> impl Fn(&Automerge) -> bool + Send + Sync + 'static {
    move |am| am.get(ROOT, key).ok().flatten().is_some()
}

/// A closed relay with one territory and three of its invitations: the
/// tokens of a valid one, an expired one and a revoked one.
async fn relay_with_three_invitations() -> (Relay, [String; 3]) {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Saint-Essaim");
    let (_, token) = invite(&data, &doc, Role::Organisateur, None, 1);
    let (_, expired) = invite(&data, &doc, Role::Organisateur, Some(now() - 1), 2);
    let (revoked_id, revoked) = invite(&data, &doc, Role::Habitant, None, 3);
    Invitations::open(data.path()).expect("invitations").revoke(&revoked_id, now()).expect("revoked");
    let relay = closed_relay(data).await;
    (relay, [token, expired, revoked])
}

#[tokio::test]
async fn without_a_valid_token_a_closed_relay_answers_401() {
    let (relay, [token, expired, revoked]) = relay_with_three_invitations().await;

    assert_eq!(refused_status(&relay, "").await, 401);
    let (id, secret) = token.split_once('.').expect("two parts");
    let wrong = format!("{id}.{}", secret.chars().rev().collect::<String>());
    assert_eq!(refused_status(&relay, &format!("?token={wrong}")).await, 401);
    assert_eq!(refused_status(&relay, &format!("?token={expired}")).await, 401);
    assert_eq!(refused_status(&relay, &format!("?token={revoked}")).await, 401);
    assert_eq!(refused_status(&relay, "?token=n'importe-quoi").await, 401);

    let organiser = connect(&relay, &token).await.expect("a valid token opens the door");
    organiser.wait_joined(WAIT).await.expect("joined");
    relay.stop().await;
}

/// `/invitation` answers what `/sync` would, and a 401 also says why in
/// the `Essaim-Refusal` header, which the app reads (`web/src/driver/invitations.ts`).
#[tokio::test]
async fn the_invitation_check_says_why_a_token_is_refused_in_a_header() {
    let (relay, [token, expired, revoked]) = relay_with_three_invitations().await;
    let too_many = vec![token.as_str(); 33].join(",");

    let cases = [
        (format!("?token={token}"), 204, None, ""),
        (String::new(), 401, Some("required"), "an invitation token is required: ?token=…\n"),
        (format!("?token={too_many}"), 401, Some("too-many"), "too many invitation tokens\n"),
        ("?token=n'importe-quoi".to_owned(), 401, Some("unknown"), "unknown invitation\n"),
        (format!("?token={revoked}"), 401, Some("revoked"), "this invitation was revoked\n"),
        (format!("?token={expired}"), 401, Some("expired"), "this invitation has expired\n"),
    ];
    for (query, status, refusal, text) in cases {
        let (got, head, body) = http_get_with(relay.addr, &format!("/invitation{query}"), &[]).await;
        let header = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("essaim-refusal").then(|| value.trim().to_owned())
        });
        assert_eq!((got, header.as_deref(), body.as_str()), (status, refusal, text), "/invitation{query}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn failed_attempts_are_rate_limited_per_address() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Saint-Essaim");
    let (_, token) = invite(&data, &doc, Role::Organisateur, None, 1);
    let relay = closed_relay(data).await;
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        statuses.push(refused_status(&relay, &format!("?token=0000000000000000.{attempt:032x}")).await);
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10..], [429; 2]);
    // Even the right token waits for the window to end.
    assert_eq!(refused_status(&relay, &format!("?token={token}")).await, 429);
    relay.stop().await;
}

#[tokio::test]
async fn organisers_write_residents_only_read_and_other_documents_do_not_exist() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A");
    let b = territory(&data, "Territoire B");
    let (_, organiser_a) = invite(&data, &a, Role::Organisateur, None, 1);
    let (_, resident_a) = invite(&data, &a, Role::Habitant, None, 2);
    let (_, organiser_b) = invite(&data, &b, Role::Organisateur, None, 3);
    let relay = closed_relay(data).await;

    let organiser = connect(&relay, &organiser_a).await.expect("organiser");
    organiser.open(&a).await.expect("open");
    organiser.change(&a, |tx| tx.put(ROOT, "ecrit_par", "organisateur").map(|_| ())).await.expect("change");
    let heads = organiser.heads(&a).await.expect("heads");
    organiser.wait_relay_has(&a, heads, WAIT).await.expect("the relay took the organiser's change");

    // The resident reads it, and their own change goes nowhere.
    let resident = connect(&relay, &resident_a).await.expect("resident");
    resident.open(&a).await.expect("open");
    resident.wait_until(&a, WAIT, has_key("ecrit_par")).await.expect("the resident reads the territory");
    resident.change(&a, |tx| tx.put(ROOT, "ecrit_par_habitant", "oui").map(|_| ())).await.expect("local change");

    // Territory B, and a document that does not exist, look the same.
    let stranger = connect(&relay, &organiser_b).await.expect("organiser of B");
    stranger.open(&a).await.expect("open");
    let missing = DocumentId::from_bytes(&[42; 16]).expect("id");
    stranger.open(&missing).await.expect("open");
    stranger.wait_unavailable(&a, WAIT).await.expect("A is unavailable to B's organiser");
    stranger.wait_unavailable(&missing, WAIT).await.expect("a missing document is unavailable");
    let a_id = a.clone();
    let seen_a = stranger.query(move |v| v.repo.document(&a_id).map(|d| d.get_heads().len())).await;
    assert!(matches!(seen_a, Ok(None) | Ok(Some(0))), "B's organiser got some of A: {seen_a:?}");

    // A second organiser client converges with the first, never with the
    // resident's change: wait for a later organiser change to arrive first.
    organiser.change(&a, |tx| tx.put(ROOT, "apres", 1).map(|_| ())).await.expect("change");
    let second = connect(&relay, &organiser_a).await.expect("second organiser");
    second.open(&a).await.expect("open");
    second.wait_until(&a, WAIT, has_key("apres")).await.expect("later organiser change arrives");
    for client in [&organiser, &second] {
        let leaked = client.read(&a, |am| am.get(ROOT, "ecrit_par_habitant").ok().flatten().is_some()).await;
        assert_eq!(leaked.expect("read"), Some(false), "a resident's change was relayed");
    }

    // Nor was it stored: not after a restart either.
    let data = relay.stop().await;
    let stored = stored_rows(data.path());
    let relay = closed_relay(data).await;
    let fresh = connect(&relay, &organiser_a).await.expect("organiser after restart");
    fresh.open(&a).await.expect("open");
    fresh.wait_until(&a, WAIT, has_key("apres")).await.expect("territory after restart");
    let leaked = fresh.read(&a, |am| am.get(ROOT, "ecrit_par_habitant").ok().flatten().is_some()).await;
    assert_eq!(leaked.expect("read"), Some(false), "a resident's change was stored");
    assert!(stored.keys().all(|k| !k.contains("ecrit_par_habitant")));
    relay.stop().await;
}

#[tokio::test]
async fn a_revoked_invitation_closes_its_live_connection_within_seconds() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Saint-Essaim");
    let (id, token) = invite(&data, &doc, Role::Organisateur, None, 1);
    let (_, other) = invite(&data, &doc, Role::Organisateur, None, 2);
    let dir = data.path().to_owned();
    let relay = closed_relay(data).await;
    let revoked = connect(&relay, &token).await.expect("connects");
    revoked.wait_joined(WAIT).await.expect("joined");
    let kept = connect(&relay, &other).await.expect("connects");
    kept.wait_joined(WAIT).await.expect("joined");

    // Revoked from another connection to the database, as the CLI does.
    let started = std::time::Instant::now();
    assert!(Invitations::open(&dir).expect("invitations").revoke(&id, now()).expect("revoke"));
    revoked
        .wait_for("the connection to close", Duration::from_secs(5), |v| (!v.observed.connected).then_some(()))
        .await
        .expect("closed within 5 s");
    let errors = revoked.query(|v| v.observed.errors.clone()).await.expect("errors");
    assert!(errors.iter().any(|e| e.contains("revoked")), "{errors:?}");
    eprintln!("revoked connection closed after {:?}", started.elapsed());
    assert!(kept.query(|v| v.observed.connected).await.expect("state"), "another invitation's connection closed");
    assert_eq!(refused_status(&relay, &format!("?token={token}")).await, 401);
    relay.stop().await;
}

/// `essaim` run as the CLI, in its own process, on `data`; its stdout.
pub(crate) fn cli(data: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(crate::crash::essaim_binary())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run essaim");
    assert!(output.status.success(), "essaim {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The relay and the CLI in their own processes, as in production.
/// SQLite's locks are POSIX locks, which a process loses on all of a file
/// when it closes any descriptor of it: had the relay opened and closed its
/// database file outside SQLite, the CLI would take itself for the last
/// user, checkpoint and delete the WAL under the relay, whose connections
/// would then read a stale snapshot (a revocation never seen) or fail with
/// "disk I/O error".
#[tokio::test]
async fn the_cli_in_its_own_process_leaves_the_running_relay_s_database_whole() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Saint-Essaim");
    let (id, token) = invite(&data, &doc, Role::Habitant, None, 1);
    let relay = crate::crash::Process::start(data.path()).await;
    let url = |token: &str| format!("{}?token={token}", relay.url());
    let resident = Client::connect(&url(&token), ClientOptions::default()).await.expect("connects");
    resident.wait_joined(WAIT).await.expect("joined");

    let created = cli(data.path(), &["territory", "create", "--name", "Autre commune", "--kind", "commune"]);
    let other: DocumentId = created
        .lines()
        .find_map(|l| l.strip_prefix("territoire: "))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no territory in {created}"));
    let organiser = created
        .lines()
        .find(|l| l.starts_with("lien organisateurs: "))
        .and_then(|l| l.rsplit('/').next())
        .unwrap_or_else(|| panic!("no organisers' link in {created}"))
        .to_owned();
    // SQLite keeps the WAL while a connection is open: the relay's are.
    let wal = data.path().join(format!("{}-wal", server::DATABASE_FILE));
    assert!(wal.exists(), "the CLI deleted the WAL of the running relay");
    cli(data.path(), &["revoke", &id]);

    resident
        .wait_for("the revoked connection to close", Duration::from_secs(5), |v| (!v.observed.connected).then_some(()))
        .await
        .expect("the relay saw the revocation written by another process");
    // And it reads what the CLI wrote.
    let fresh = Client::connect(&url(&organiser), ClientOptions::default()).await.expect("connects");
    fresh.open(&other).await.expect("open");
    fresh
        .wait_until(&other, WAIT, |am| agenda::lire(am).profil.is_some_and(|p| p.nom == "Autre commune"))
        .await
        .expect("the relay serves the territory the CLI created");
    let (status, body) = http_get(relay.addr(), &format!("/d/{other}/chunks?token={organiser}")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_cli_works_on_a_running_relay_and_expiry_closes_live_connections() {
    let data = TempDir::new().expect("temp dir");
    let dir = data.path().to_owned();
    let relay = closed_relay(data).await;

    // Created while the relay runs, as `essaim territory create` does.
    let profil = agenda::Profil { nom: "Créé à chaud".into(), ..agenda::Profil::default() };
    let doc = server::create_territory(&dir, profil).expect("territory created on a running relay");
    let invitations = Invitations::open(&dir).expect("invitations");
    let (_, token) =
        invitations.create(&doc, Role::Habitant, None, Some(now() + 3_000), now(), [5; 24]).expect("created");
    let resident = connect(&relay, &token).await.expect("connects before expiry");
    resident.open(&doc).await.expect("open");
    resident
        .wait_until(&doc, WAIT, |am| sync_core::agenda::lire(am).profil.is_some_and(|p| p.nom == "Créé à chaud"))
        .await
        .expect("the relay serves a territory created while it runs");

    // Past its expiry the connection closes, with no revocation.
    resident
        .wait_for("the connection to close", Duration::from_secs(8), |v| (!v.observed.connected).then_some(()))
        .await
        .expect("closed within seconds of expiry");
    assert_eq!(refused_status(&relay, &format!("?token={token}")).await, 401);
    relay.stop().await;
}

#[tokio::test]
async fn one_connection_carries_the_invitations_of_several_territories() {
    let data = TempDir::new().expect("temp dir");
    let commune = territory(&data, "Commune");
    let quartier = territory(&data, "Quartier");
    let (resident_id, resident) = invite(&data, &commune, Role::Habitant, None, 1);
    let (_, organiser) = invite(&data, &quartier, Role::Organisateur, None, 2);
    let dir = data.path().to_owned();
    let relay = closed_relay(data).await;

    let both = connect(&relay, &format!("{resident},{organiser}")).await.expect("two tokens");
    for doc in [&commune, &quartier] {
        both.open(doc).await.expect("open");
        both.wait_until(doc, WAIT, |am| !am.get_heads().is_empty()).await.expect("both territories load");
    }
    both.change(&quartier, |tx| tx.put(ROOT, "note", "ok").map(|_| ())).await.expect("change");
    let heads = both.heads(&quartier).await.expect("heads");
    both.wait_relay_has(&quartier, heads, WAIT).await.expect("the organiser's territory takes writes");

    // One bad token refuses the whole request; revoking one closes the
    // connection, and the other alone still opens the door.
    assert_eq!(refused_status(&relay, &format!("?token={organiser},0000000000000000.{:032x}", 7)).await, 401);
    Invitations::open(&dir).expect("invitations").revoke(&resident_id, now()).expect("revoked");
    both.wait_for("the connection to close", Duration::from_secs(8), |v| (!v.observed.connected).then_some(()))
        .await
        .expect("closed after a revocation");
    let remaining = connect(&relay, &organiser).await.expect("the other invitation still holds");
    remaining.open(&quartier).await.expect("open");
    remaining.wait_until(&quartier, WAIT, has_key("note")).await.expect("loaded");
    relay.stop().await;
}

#[tokio::test]
async fn a_forged_sender_under_an_invitation_is_refused_and_changes_nothing() {
    let data = TempDir::new().expect("temp dir");
    let doc = territory(&data, "Saint-Essaim");
    let (_, token) = invite(&data, &doc, Role::Organisateur, None, 1);
    let relay = closed_relay(data).await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}?token={token}", relay.url())).await.expect("connects");
    let relay_peer = raw_join(&mut socket, "mallory").await;

    let mut evil = Automerge::new();
    let mut tx = evil.transaction();
    tx.put(ROOT, "evil", true).expect("put");
    tx.commit();
    let mut state = sync_core::automerge::sync::State::new();
    let data = SyncDoc::generate_sync_message(&evil, &mut state).expect("a first message").encode();
    let forged = Message::Sync(SyncMessage {
        sender: "alice-impostor".parse().expect("peer"),
        target: relay_peer,
        document: doc.clone(),
        data,
    });
    socket.send(WsMessage::Binary(forged.encode().into())).await.expect("send");
    let (error, _) = expect_error_and_close(&mut socket).await;
    assert!(error.contains("protocol violation"), "{error}");

    let organiser = connect(&relay, &token).await.expect("organiser");
    organiser.open(&doc).await.expect("open");
    organiser.wait_until(&doc, WAIT, |am| !am.get_heads().is_empty()).await.expect("loaded");
    let evil_absent = organiser.read(&doc, |am| am.get(ROOT, "evil").ok().flatten().is_none()).await;
    assert_eq!(evil_absent.expect("read"), Some(true), "a forged change was applied");
    relay.stop().await;
}
