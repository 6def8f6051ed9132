//! Scenario tests through the simulator, in a small script language:
//!
//! ```text
//! alice: create agenda            create a document, opened on alice
//! alice: put agenda titre=Marché  set a root key
//! bob: open agenda                open (and request) a document
//! bob: offline | bob: online      cut or heal bob's link
//! relay: restart | bob: restart   restart from storage only
//! relay: grant bob agenda deny    the relay driver's decision (deny, read, write)
//! relay: unload                   let every document go idle, then tick
//! alice: broadcast agenda salut   an ephemeral message
//! sync                            deliver everything until quiet
//! ```
//!
//! The expectation renders every node's documents, then the events its
//! application saw (changes are left out: the content shows them).

use expect_test::{Expect, expect};

use super::sim::{RELAY, Sim};
use crate::{Access, Input, UnixMillis};

fn run(script: &str) -> Sim {
    let names: Vec<&str> = script
        .lines()
        .filter_map(|l| l.trim().split_once(':').map(|(who, _)| who.trim()))
        .filter(|who| *who != "relay")
        .fold(Vec::new(), |mut acc, who| {
            if !acc.contains(&who) {
                acc.push(who);
            }
            acc
        });
    let mut sim = Sim::new(&names);
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "sync" {
            sim.run_until_quiet();
            continue;
        }
        let (who, command) = line.split_once(':').unwrap_or_else(|| panic!("bad line {line}"));
        let node = sim.node(who.trim());
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            ["create", doc] => {
                sim.create(node, doc);
            }
            ["put", doc, assignment] => {
                let (key, value) = assignment.split_once('=').expect("key=value");
                sim.put(node, &Sim::doc_id(doc), key, value);
            }
            ["open", doc] => sim.open(node, &Sim::doc_id(doc)),
            ["offline"] => sim.disconnect(node),
            ["online"] => sim.connect(node),
            ["restart"] => sim.restart(node),
            ["grant", peer, doc, access] => {
                let access = match *access {
                    "deny" => Access::Denied,
                    "read" => Access::ReadOnly,
                    "write" => Access::ReadWrite,
                    other => panic!("unknown access {other}"),
                };
                sim.nodes[node].grants.insert((peer.to_string(), Sim::doc_id(doc)), access);
            }
            ["unload"] => {
                sim.now = UnixMillis(sim.now.0 + 3_600_000);
                sim.input(node, Input::Tick);
            }
            ["broadcast", doc, text] => {
                sim.input(node, Input::Broadcast { doc: Sim::doc_id(doc), data: text.as_bytes().to_vec() })
            }
            _ => panic!("unknown command {line}"),
        }
    }
    sim.run_until_quiet();
    sim
}

fn render(sim: &Sim, docs: &[&str]) -> String {
    let mut out = String::new();
    for node in &sim.nodes {
        for doc in docs {
            let id = Sim::doc_id(doc);
            let content = node.content(&id).map(|c| c.join(" ")).unwrap_or_else(|| "-".into());
            out.push_str(&format!("{} {doc}: {content}\n", node.name));
        }
        for event in node.events.iter().filter(|e| !e.starts_with("changed")) {
            let mut event = event.clone();
            for doc in docs {
                event = event.replace(Sim::doc_id(doc).as_str(), doc);
            }
            out.push_str(&format!("{} ! {event}\n", node.name));
        }
    }
    out
}

#[track_caller]
fn check(script: &str, docs: &[&str], expect: Expect) {
    let sim = run(script);
    expect.assert_eq(&render(&sim, docs));
}

#[test]
fn the_relay_relays_changes_between_clients() {
    check(
        "
        alice: create agenda
        alice: put agenda titre=Marché
        bob: open agenda
        sync
        bob: put agenda lieu=Halle
        ",
        &["agenda"],
        expect![[r#"
            relay agenda: lieu=Halle titre=Marché
            alice agenda: lieu=Halle titre=Marché
            bob agenda: lieu=Halle titre=Marché
        "#]],
    );
}

#[test]
fn a_document_nobody_has_is_unavailable_then_arrives_when_uploaded() {
    check(
        "
        alice: offline
        alice: create agenda
        alice: put agenda titre=Marché
        bob: open agenda
        sync
        alice: online
        ",
        &["agenda"],
        expect![[r#"
            relay agenda: titre=Marché
            alice agenda: titre=Marché
            bob agenda: titre=Marché
            bob ! unavailable agenda
        "#]],
    );
}

#[test]
fn offline_edits_merge_when_the_network_returns() {
    check(
        "
        alice: create agenda
        bob: open agenda
        sync
        alice: offline
        bob: offline
        alice: put agenda titre=Marché
        bob: put agenda lieu=Halle
        alice: restart
        bob: restart
        relay: restart
        alice: online
        bob: online
        ",
        &["agenda"],
        expect![[r#"
            relay agenda: lieu=Halle titre=Marché
            alice agenda: lieu=Halle titre=Marché
            bob agenda: lieu=Halle titre=Marché
        "#]],
    );
}

#[test]
fn a_denied_peer_learns_nothing_and_a_reader_cannot_write() {
    check(
        "
        relay: grant mallory agenda deny
        relay: grant bob agenda read
        alice: create agenda
        alice: put agenda titre=Marché
        sync
        mallory: open agenda
        bob: open agenda
        sync
        bob: put agenda titre=Piraté
        mallory: put agenda titre=Squat
        ",
        &["agenda"],
        expect![[r#"
            relay agenda: titre=Marché
            alice agenda: titre=Marché
            mallory agenda: titre=Squat
            mallory ! unavailable agenda
            bob agenda: titre=Piraté
        "#]],
    );
}

#[test]
fn ephemeral_messages_reach_every_other_peer_once() {
    check(
        "
        alice: create agenda
        bob: open agenda
        carol: open agenda
        sync
        alice: broadcast agenda salut
        ",
        &["agenda"],
        expect![[r#"
            relay agenda: 
            alice agenda: 
            bob agenda: 
            bob ! ephemeral agenda from alice: salut
            carol agenda: 
            carol ! ephemeral agenda from alice: salut
        "#]],
    );
}

#[test]
fn idle_documents_unload_and_reload_transparently() {
    let sim = run("
        alice: create agenda
        alice: put agenda titre=Marché
        bob: open agenda
        sync
        relay: unload
        alice: put agenda lieu=Halle
    ");
    let agenda = Sim::doc_id("agenda");
    assert_eq!(sim.nodes[sim.node("bob")].content(&agenda), Some(vec!["lieu=Halle".into(), "titre=Marché".into()]));
    // The relay reloaded it to relay alice's change, then it was in memory.
    assert!(sim.nodes[RELAY].events.iter().all(|e| !e.starts_with("closed")));
    let mut sim = sim;
    sim.now = UnixMillis(sim.now.0 + 3_600_000);
    sim.input(RELAY, Input::Tick);
    assert_eq!(sim.nodes[RELAY].repo.documents_in_memory().count(), 0);
    assert_eq!(sim.nodes[RELAY].repo.next_deadline(), None);
}

#[test]
fn a_reconnecting_client_with_nothing_new_exchanges_only_a_few_bytes() {
    let mut sim = run("
        alice: create agenda
        sync
    ");
    let alice = sim.node("alice");
    let agenda = Sim::doc_id("agenda");
    for i in 0..200 {
        sim.put(alice, &agenda, &format!("k{i}"), "une valeur");
    }
    sim.run_until_quiet();
    sim.disconnect(alice);
    sim.run_until_quiet();
    let before = sim.bytes_on_wire;
    sim.connect(alice);
    sim.run_until_quiet();
    let reconnect_bytes = sim.bytes_on_wire - before;
    // join + peer + one sync each way with saved shared heads on both sides.
    assert!(reconnect_bytes < 700, "reconnect exchanged {reconnect_bytes} bytes");
    assert_eq!(sim.heads(alice, &agenda), sim.heads(RELAY, &agenda));
}

#[test]
fn the_last_join_of_a_peer_replaces_its_older_connection() {
    let mut sim = run("
        alice: create agenda
        sync
    ");
    let alice = sim.node("alice");
    // A second socket from alice's peer id, as after a network change.
    let conn = crate::ConnId(999);
    sim.input(RELAY, Input::Connected { conn, direction: crate::Direction::Inbound, expected_peer: None });
    let join = crate::Message::Join {
        sender: "alice".parse().expect("peer"),
        metadata: crate::PeerMetadata::default(),
        supported_versions: Some(vec!["1".into()]),
    };
    sim.input(RELAY, Input::Received { conn, bytes: join.encode() });
    let closed: Vec<String> = sim.nodes[RELAY].closed.iter().map(|(c, r)| format!("{c}: {r}")).collect();
    assert_eq!(closed, vec!["conn#1: replaced by a newer connection of the same peer"]);
    assert!(!sim.links[alice - 1].up, "the older socket was closed");
    assert_eq!(sim.nodes[RELAY].repo.connection_count(), 1);
}

#[test]
fn messages_follow_the_protocol_order() {
    let sim = run("
        alice: create agenda
        alice: put agenda titre=Marché
        sync
        bob: open agenda
    ");
    let bob = sim.node("bob");
    expect![[r#"["join", "request", "sync"]"#]].assert_eq(&format!("{:?}", sim.kinds(bob, RELAY)));
    expect![[r#"["peer", "sync"]"#]].assert_eq(&format!("{:?}", sim.kinds(RELAY, bob)));
}

#[test]
fn revoking_access_mid_session_stops_the_flow() {
    let mut sim = run("
        alice: create agenda
        bob: open agenda
        sync
        alice: put agenda titre=Marché
    ");
    let (alice, bob) = (sim.node("alice"), sim.node("bob"));
    let agenda = Sim::doc_id("agenda");
    let bob_conn = crate::ConnId(2);
    sim.input(RELAY, Input::AccessDecided { conn: bob_conn, doc: agenda.clone(), access: Access::Denied });
    sim.run_until_quiet();
    sim.put(alice, &agenda, "lieu", "Halle");
    sim.put(bob, &agenda, "titre", "Piraté");
    sim.run_until_quiet();
    assert_eq!(sim.nodes[bob].content(&agenda), Some(vec!["titre=Piraté".into()]));
    assert_eq!(sim.nodes[RELAY].content(&agenda), Some(vec!["lieu=Halle".into(), "titre=Marché".into()]));
    // Bob keeps his copy; the relay told him the document is unavailable.
    assert!(sim.kinds(RELAY, bob).contains(&"doc-unavailable".to_owned()), "{:?}", sim.kinds(RELAY, bob));
}

#[test]
fn the_relay_keeps_its_storage_id_and_its_peers_sync_states_across_restarts() {
    let mut sim = run("
        alice: create agenda
        alice: put agenda titre=Marché
        sync
    ");
    let relay_id = sim.nodes[RELAY].repo.storage_id().cloned().expect("persistent relay");
    let alice_id = sim.nodes[1].repo.storage_id().cloned().expect("persistent client");
    let agenda = Sim::doc_id("agenda");
    let key = crate::StorageKey::sync_state(&agenda, &alice_id);
    assert!(sim.nodes[RELAY].storage.contains_key(&key), "relay persisted alice's sync state");
    let back = crate::StorageKey::sync_state(&agenda, &relay_id);
    assert!(sim.nodes[1].storage.contains_key(&back), "alice persisted the relay's sync state");
    sim.restart(RELAY);
    sim.run_until_quiet();
    assert_eq!(sim.nodes[RELAY].repo.storage_id(), Some(&relay_id));
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(1, &agenda));
}

#[test]
fn storage_stays_compact_over_many_changes() {
    let mut sim = run("
        alice: create agenda
        sync
    ");
    let agenda = Sim::doc_id("agenda");
    for i in 0..300 {
        sim.put(1, &agenda, &format!("clé{}", i % 17), &format!("valeur numéro {i}"));
        if i % 7 == 0 {
            sim.run_until_quiet();
        }
    }
    sim.run_until_quiet();
    for node in [RELAY, 1] {
        let chunks =
            sim.nodes[node].storage.keys().filter(|k| k.components().get(1).is_some_and(|c| c != "sync-state"));
        let count = chunks.count();
        assert!(count <= 40, "{} holds {count} chunks", sim.nodes[node].name);
    }
    sim.restart(RELAY);
    sim.restart(1);
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(1, &agenda));
    assert_eq!(sim.nodes[RELAY].content(&agenda), sim.nodes[1].content(&agenda));
}

#[test]
fn messages_that_arrive_while_loading_are_processed_in_order() {
    // The relay forgets the document, then alice sends several changes in a
    // row: they queue behind the load and the access check, in order.
    let mut sim = run("
        alice: create agenda
        alice: put agenda n=0
        sync
        relay: unload
    ");
    let agenda = Sim::doc_id("agenda");
    assert_eq!(sim.nodes[RELAY].repo.documents_in_memory().count(), 0);
    for i in 1..=5 {
        sim.put(1, &agenda, "n", &i.to_string());
        sim.put(1, &agenda, &format!("k{i}"), "v");
    }
    sim.run_until_quiet();
    assert_eq!(sim.heads(RELAY, &agenda), sim.heads(1, &agenda));
    assert!(sim.nodes[RELAY].closed.is_empty());
}

#[test]
fn unacknowledged_changes_count_what_the_relay_has_not_confirmed() {
    let mut sim = Sim::new(&["alice"]);
    sim.disconnect(1);
    let agenda = sim.create(1, "agenda");
    sim.put(1, &agenda, "titre", "Marché");
    sim.put(1, &agenda, "lieu", "Halle");
    let pending = |sim: &Sim| sim.nodes[1].repo.unacknowledged_changes(&agenda);
    let offline = pending(&sim).expect("loaded");
    assert!(offline >= 2, "{offline}");

    sim.connect(1);
    sim.run_until_quiet();
    assert_eq!(pending(&sim), Some(0));

    sim.disconnect(1);
    sim.put(1, &agenda, "lieu", "Place de l'église");
    assert_eq!(pending(&sim), Some(1));
    // Known across a restart, from the persisted sync state.
    sim.restart(1);
    sim.settle(1);
    assert_eq!(pending(&sim), Some(1));
    sim.connect(1);
    sim.run_until_quiet();
    assert_eq!(pending(&sim), Some(0));
}
