//! Territories and invitations on a cluster's PostgreSQL (issue 19): the
//! table's behaviour written once and checked on SQLite and on PostgreSQL
//! (`Invitations::open_for`), then the CLI with `--storage` against two
//! relays in process sharing one schema: a token it makes opens `/sync` on
//! both, its revocation closes the connections on both, and a public
//! territory it creates is served by both, a demonstration opened by both. Real PostgreSQL from
//! `services.rs`, a fresh schema per test.

use std::time::Duration;

use client::{Client, ClientOptions};
use server::Storage;
use server::invitations::{Grant, Invitations, Role, TokenError};
use sync_core::{DocumentId, agenda};
use tempfile::TempDir;

use crate::services;
use crate::support::{Relay, WAIT, http_get, start_relay_with};

fn doc(n: u8) -> DocumentId {
    DocumentId::from_bytes(&[n; 16]).expect("valid id")
}

/// Runs `check` on fresh tables in SQLite, then in a fresh PostgreSQL
/// schema. Blocking: PostgreSQL's client must not run on a tokio thread.
fn on_both(tag: &str, check: impl Fn(&Invitations)) {
    let dir = TempDir::new().expect("temp dir");
    check(&Invitations::open(dir.path()).expect("SQLite tables"));
    let storage = Storage::open(Some(&services::postgres().fresh_schema(tag)), dir.path()).expect("PostgreSQL");
    check(&Invitations::open_for(&storage).expect("PostgreSQL tables"));
}

#[test]
fn a_token_opens_its_territory_until_revoked_or_expired_on_both_databases() {
    on_both("inv-token", |inv| {
        let (organiser, token) =
            inv.create(&doc(1), Role::Organisateur, Some("mairie"), None, 10, [7; 24]).expect("create");
        let grant = inv.check(&token, 20).expect("read").expect("valid");
        assert_eq!(grant, Grant { invitation: organiser.id.clone(), territory: doc(1), role: Role::Organisateur });

        let (_, expiring) = inv.create(&doc(1), Role::Habitant, None, Some(100), 10, [8; 24]).expect("create");
        assert!(inv.check(&expiring, 99).expect("read").is_ok());
        assert_eq!(inv.check(&expiring, 100).expect("read"), Err(TokenError::Expired));

        assert!(inv.revoke(&organiser.id, 30).expect("revoke"));
        assert!(inv.revoke(&organiser.id, 35).expect("revoked again"), "a revoked invitation is still there");
        assert_eq!(inv.check(&token, 40).expect("read"), Err(TokenError::Revoked));
        assert!(!inv.revoke("0000000000000000", 30).expect("revoke"));
        let mut gone = inv.no_longer_valid(100).expect("list");
        gone.sort();
        let mut expected = vec![organiser.id.clone(), expiring.split('.').next().expect("id").to_owned()];
        expected.sort();
        assert_eq!(gone, expected);
        // The first revocation's time stays.
        let listed = inv.list(&doc(1)).expect("list");
        assert_eq!(listed.iter().find(|i| i.id == organiser.id).and_then(|i| i.revoked_at), Some(30));
    });
}

#[test]
fn wrong_or_malformed_tokens_open_nothing_on_both_databases() {
    on_both("inv-wrong", |inv| {
        let (_, token) = inv.create(&doc(1), Role::Organisateur, None, None, 10, [7; 24]).expect("create");
        let (id, secret) = token.split_once('.').expect("two parts");
        let mut flipped = secret.to_owned();
        flipped.replace_range(31.., if secret.ends_with('0') { "1" } else { "0" });
        for bad in [
            "",
            "nodot",
            &format!("{id}.{flipped}"),
            &format!("{id}."),
            &format!(".{secret}"),
            &format!("{id}.{secret}x"),
            &format!("{}.{secret}", "f".repeat(16)),
        ] {
            assert_eq!(inv.check(bad, 20).expect("read"), Err(TokenError::Unknown), "{bad:?}");
        }
    });
}

#[test]
fn territories_demonstrations_and_listings_read_alike_on_both_databases() {
    on_both("inv-lists", |inv| {
        // Oldest first, then by id in byte order (COLLATE "C" in PostgreSQL).
        let mut tied = [doc(1), doc(2)];
        tied.sort_by_key(ToString::to_string);
        inv.add_territory(&tied[1], 5).expect("add");
        inv.add_territory(&tied[0], 5).expect("add");
        inv.add_territory(&tied[1], 1).expect("again: ignored, it keeps its time");
        inv.add_demonstration(&doc(3), 7).expect("demonstration");
        inv.add_demonstration(&tied[1], 9).expect("an existing territory becomes one, at its time");
        assert_eq!(inv.territories().expect("list"), vec![tied[0].clone(), tied[1].clone(), doc(3)]);
        assert_eq!(inv.demonstrations().expect("list"), vec![tied[1].clone(), doc(3)]);

        let (first, _) = inv.create(&doc(1), Role::Habitant, Some("école"), Some(50), 10, [1; 24]).expect("create");
        let (second, _) = inv.create(&doc(1), Role::Organisateur, None, None, 20, [2; 24]).expect("create");
        let (elsewhere, _) = inv.create(&doc(2), Role::Organisateur, None, None, 15, [3; 24]).expect("create");
        assert_eq!(inv.list(&doc(1)).expect("list"), vec![first.clone(), second.clone()]);
        assert_eq!(first.label.as_deref(), Some("école"));
        // At 40 both are valid, and one was made after 15.
        assert_eq!(inv.counts(&doc(1), 40, 15).expect("counts"), (2, 1));
        assert_eq!(inv.counts(&doc(1), 60, 0).expect("counts"), (1, 2), "the first expired at 50");

        assert!(!inv.revoke_of(&doc(1), &elsewhere.id, 30).expect("revoke"), "another territory's invitation");
        assert!(inv.revoke_of(&doc(2), &elsewhere.id, 30).expect("revoke"));
        assert_eq!(inv.list(&doc(2)).expect("list")[0].revoked_at, Some(30));

        let hash: Vec<u8> = vec![9; 32];
        let new = server::invitations::NewInvitation {
            territory: &doc(3),
            role: Role::Organisateur,
            label: None,
            expires_at: None,
            now: 70,
        };
        let made = inv.create_from_hash(new, [4; 8], &hash).expect("create from hash");
        assert_eq!(inv.find_by_hash(&doc(3), &hash).expect("find"), Some(made.id));
        assert_eq!(inv.find_by_hash(&doc(1), &hash).expect("find"), None);
    });
}

#[test]
fn postgresql_stores_only_the_secret_s_hash() {
    let url = services::postgres().fresh_schema("inv-hash");
    let dir = TempDir::new().expect("temp dir");
    let storage = Storage::open(Some(&url), dir.path()).expect("PostgreSQL");
    let inv = Invitations::open_for(&storage).expect("tables");
    let (_, token) = inv.create(&doc(1), Role::Organisateur, None, None, 10, [9; 24]).expect("create");
    let secret = token.split_once('.').expect("two parts").1;
    let mut client = services::postgres().client(&url);
    let rows = client.query("SELECT row_to_json(i)::text, secret_sha256 FROM invitations i", &[]).expect("rows");
    assert_eq!(rows.len(), 1);
    let (text, hash): (String, Vec<u8>) = (rows[0].get(0), rows[0].get(1));
    assert!(!text.contains(secret), "the secret is stored in clear: {text}");
    assert_eq!(hash.len(), 32, "a SHA-256");
    let kind: String = client
        .query_one(
            "SELECT data_type FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'invitations' AND column_name = 'secret_sha256'",
            &[],
        )
        .expect("column")
        .get(0);
    assert_eq!(kind, "bytea");
}

/// `essaim <args> --storage <storage>` in its own process, with an empty
/// `--data` that must stay empty; its stdout.
async fn essaim(storage: &str, args: &[&str]) -> String {
    let (storage, args): (String, Vec<String>) = (storage.to_owned(), args.iter().map(|a| a.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let data = TempDir::new().expect("temp dir");
        let output = std::process::Command::new(crate::crash::essaim_binary())
            .args(&args)
            .arg("--storage")
            .arg(&storage)
            .arg("--data")
            .arg(data.path())
            .output()
            .expect("run essaim");
        assert!(output.status.success(), "essaim {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let left: Vec<_> = std::fs::read_dir(data.path()).expect("data dir").collect();
        assert!(left.is_empty(), "essaim {args:?} wrote into --data: {left:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    })
    .await
    .expect("the CLI ran")
}

/// The value of the first `prefix` line of a CLI's output.
fn line<'a>(output: &'a str, prefix: &str) -> &'a str {
    output.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {output}"))
}

/// The token at the end of an invitation link.
fn token_of(link: &str) -> String {
    link.rsplit('/').next().expect("a token").to_owned()
}

/// A relay in process on `storage`, closed (tokens needed), named `name`.
async fn closed_relay(storage: &str, name: &str) -> Relay {
    let (storage, name) = (storage.to_owned(), name.to_owned());
    start_relay_with(TempDir::new().expect("temp dir"), move |config| {
        config.open = false;
        config.storage = Some(storage);
        config.relay_name = Some(name);
    })
    .await
}

async fn connect(relay: &Relay, token: &str) -> Client {
    Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default())
        .await
        .unwrap_or_else(|e| panic!("the token opens /sync on {}: {e}", relay.addr))
}

#[tokio::test]
async fn an_invitation_from_the_cli_opens_both_relays_and_its_revocation_closes_both() {
    let storage = services::postgres().fresh_schema("inv-cli");
    let created = essaim(&storage, &["territory", "create", "--name", "Val-d'Essaim"]).await;
    let territory: DocumentId = line(&created, "territoire: ").parse().expect("a territory id");
    let invited = essaim(&storage, &["invite", "--territory", &territory.to_string(), "--role", "organiser"]).await;
    let (invitation, token) = (line(&invited, "invitation: ").to_owned(), token_of(line(&invited, "lien: ")));
    let listed = essaim(&storage, &["invites", "--territory", &territory.to_string()]).await;
    assert_eq!(listed.lines().count(), 3, "the two links of `territory create` and this one: {listed}");
    assert!(listed.contains(&invitation), "{listed}");

    let (a, b) = (closed_relay(&storage, "a").await, closed_relay(&storage, "b").await);
    let mut devices = Vec::new();
    for relay in [&a, &b] {
        let device = connect(relay, &token).await;
        device.open(&territory).await.expect("open");
        device
            .wait_until(&territory, WAIT, |am| agenda::lire(am).profil.is_some_and(|p| p.nom == "Val-d'Essaim"))
            .await
            .expect("each relay serves the territory the CLI wrote to PostgreSQL");
        devices.push(device);
    }

    essaim(&storage, &["revoke", &invitation]).await;
    for device in &devices {
        device
            .wait_for("the revoked connection to close", Duration::from_secs(5), |v| {
                (!v.observed.connected).then_some(())
            })
            .await
            .expect("closed within 5 s on each relay");
        let errors = device.query(|v| v.observed.errors.clone()).await.expect("errors");
        assert!(errors.iter().any(|e| e.contains("revoked")), "{errors:?}");
    }
    for relay in [&a, &b] {
        let refused = tokio_tungstenite::connect_async(format!("{}?token={token}", relay.url())).await;
        assert!(refused.is_err(), "a revoked token still opens {}", relay.addr);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_public_territory_created_by_the_cli_on_postgresql_is_served_by_both_relays() {
    let storage = services::postgres().fresh_schema("inv-feed");
    let public = essaim(&storage, &["territory", "create", "--name", "Bourg-Public", "--public"]).await;
    let public: DocumentId = line(&public, "territoire: ").parse().expect("a territory id");
    let private = essaim(&storage, &["territory", "create", "--name", "Hameau-Discret"]).await;
    let resident = token_of(line(&private, "lien habitants: "));
    let private: DocumentId = line(&private, "territoire: ").parse().expect("a territory id");
    let listed = essaim(&storage, &["territory", "list"]).await;
    assert!(listed.contains(&format!("{public}\tBourg-Public\tcommune\ttrue\tfalse")), "{listed}");
    assert!(listed.contains(&format!("{private}\tHameau-Discret\tcommune\tfalse\tfalse")), "{listed}");

    let demo = essaim(&storage, &["demo", "--territoires", "1"]).await;
    let demo: DocumentId = line(&demo, "territoire: ").split('\t').next().expect("id").parse().expect("an id");

    let (a, b) = (closed_relay(&storage, "a").await, closed_relay(&storage, "b").await);
    for relay in [&a, &b] {
        // A demonstration territory opens to anyone, on every relay.
        let anyone = Client::connect(&relay.url(), ClientOptions::default()).await.expect("no token needed");
        anyone.open(&demo).await.expect("open");
        anyone.wait_until(&demo, WAIT, |am| agenda::lire(am).profil.is_some()).await.expect("the demonstration");
        let (status, body) = http_get(relay.addr, &format!("/t/{public}/")).await;
        assert_eq!(status, 200, "{}: {body}", relay.addr);
        assert!(body.contains("Bourg-Public"), "{body}");
        let (status, body) = http_get(relay.addr, "/territoires.json").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&public.to_string()) && !body.contains(&private.to_string()), "{body}");
        // The private one: the same 404 as a missing one, then with a
        // resident's token made by the CLI.
        assert_eq!(http_get(relay.addr, &format!("/t/{private}/")).await.0, 404);
        let (status, body) = http_get(relay.addr, &format!("/t/{private}/?token={resident}")).await;
        assert_eq!(status, 200, "{body}");
    }
    a.stop().await;
    b.stop().await;
}
