//! [`Input::CommittedElsewhere`]: chunks another relay of a cluster
//! committed to the storage both share. The relay under test ("B") is the
//! simulator's relay; what the other relay ("A") wrote is either taken from
//! a real relay's store (a second simulator) or written here the way a
//! relay writes it (`save_after` the previous heads, named by its hash), so
//! that the order of announcements can be chosen. B's store stands for the
//! shared one: A's chunks are put into it as A's commits would.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ROOT, ReadDoc};
use sha2::{Digest, Sha256};

use super::sim::{RELAY, Sim};
use crate::storage::{ChunkKind, snapshot_name};
use crate::{DocumentId, Input, Output, StorageId, StorageKey};

/// A writer of a document outside B, producing chunks as a relay saves
/// them.
struct Elsewhere {
    doc: DocumentId,
    am: Automerge,
}

impl Elsewhere {
    /// A document of one small change, and its snapshot chunk.
    fn new(name: &str) -> (Elsewhere, (StorageKey, Vec<u8>)) {
        let doc = Sim::doc_id(name);
        let mut am = Automerge::new().with_actor(ActorId::from(&[0xa1; 16][..]));
        let mut tx = am.transaction();
        tx.put(ROOT, "titre", "départ").expect("put");
        tx.commit();
        let snapshot = (StorageKey::chunk(&doc, ChunkKind::Snapshot, "s0"), am.save());
        (Elsewhere { doc, am }, snapshot)
    }

    /// One change, as the incremental chunk holding only it.
    fn change(&mut self, key: &str, value: &str) -> (StorageKey, Vec<u8>, ChangeHash) {
        let before = self.am.get_heads();
        let mut tx = self.am.transaction();
        tx.put(ROOT, key, value).expect("put");
        tx.commit();
        let bytes = self.am.save_after(&before);
        let name = hex::encode(Sha256::digest(&bytes));
        let hash = self.am.get_heads()[0];
        (StorageKey::chunk(&self.doc, ChunkKind::Incremental, &name), bytes, hash)
    }
}

/// B with one client, "bob", who has the document open through B, whose
/// store holds `snapshot`.
fn relay_b_with_bob(doc: &DocumentId, snapshot: (StorageKey, Vec<u8>)) -> Sim {
    let mut sim = Sim::new(&["bob"]);
    sim.nodes[RELAY].storage.insert(snapshot.0, snapshot.1);
    let bob = sim.node("bob");
    sim.open(bob, doc);
    sim.run_until_quiet();
    assert!(sim.heads(RELAY, doc).is_some_and(|h| !h.is_empty()), "B loaded the document");
    assert_eq!(sim.heads(bob, doc), sim.heads(RELAY, doc));
    sim
}

/// Feeds the input to B directly, returning its outputs uncarried.
fn feed(sim: &mut Sim, doc: &DocumentId, chunks: Vec<(StorageKey, Vec<u8>)>) -> Vec<Output> {
    sim.now.0 += 10;
    let now = sim.now;
    sim.nodes[RELAY].repo.handle(now, Input::CommittedElsewhere { doc: doc.clone(), chunks })
}

fn holds_document_data(outputs: &[Output]) -> bool {
    outputs.iter().any(|o| matches!(o, Output::Write(w) if w.holds_document_data()))
}

fn document_entries(store: &BTreeMap<StorageKey, Vec<u8>>, doc: &DocumentId) -> Vec<(StorageKey, Vec<u8>)> {
    let prefix = StorageKey::document_prefix(doc);
    store.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// (a) Relay A commits a client's change; B, told so, syncs its own client
/// and writes no document data (the chunk is in storage already).
#[test]
fn a_chunk_committed_elsewhere_reaches_the_peers_without_being_written_again() {
    let mut a = Sim::new(&["carol"]);
    let carol = a.node("carol");
    let doc = a.create(carol, "grappe");
    a.run_until_quiet();
    let mut b = relay_b_with_bob(&doc, document_entries(&a.nodes[RELAY].storage, &doc).remove(0));

    a.put(carol, &doc, "lieu", "la halle");
    a.run_until_quiet();
    let committed: Vec<_> = document_entries(&a.nodes[RELAY].storage, &doc)
        .into_iter()
        .filter(|(k, _)| !b.nodes[RELAY].storage.contains_key(k))
        .collect();
    assert!(!committed.is_empty(), "A wrote a chunk");
    b.nodes[RELAY].storage.extend(committed.iter().cloned());

    let outputs = feed(&mut b, &doc, committed);
    assert!(!holds_document_data(&outputs), "B wrote document data: {outputs:?}");
    assert!(outputs.contains(&Output::DocumentChanged { doc: doc.clone() }), "{outputs:?}");
    assert!(outputs.iter().any(|o| matches!(o, Output::Send { .. })), "B syncs bob: {outputs:?}");
    let bob = b.node("bob");
    b.carry_out(RELAY, outputs);
    b.run_until_quiet();
    assert_eq!(b.heads(bob, &doc), a.heads(carol, &doc), "bob has carol's change");
}

/// (b) A chunk that comes while B loads the document waits for the load,
/// then is taken in.
#[test]
fn a_chunk_committed_while_the_document_loads_is_taken_after_the_load() {
    let (mut a, snapshot) = Elsewhere::new("chargement");
    let mut b = Sim::new(&["bob"]);
    b.nodes[RELAY].storage.insert(snapshot.0, snapshot.1);
    let doc = a.doc.clone();
    b.input(RELAY, Input::Load { doc: doc.clone() });
    assert!(b.nodes[RELAY].repo.document(&doc).is_none(), "still loading");

    // A commits after B read the store: only the announcement tells B.
    let (key, bytes, hash) = a.change("lieu", "la halle");
    b.nodes[RELAY].storage.insert(key.clone(), bytes.clone());
    let outputs = feed(&mut b, &doc, vec![(key, bytes)]);
    assert!(outputs.is_empty(), "nothing before the load: {outputs:?}");

    b.settle(RELAY);
    let am = b.nodes[RELAY].repo.document(&doc).expect("loaded");
    assert!(am.get_change_by_hash(&hash).is_some(), "the chunk was taken after the load");
    assert_eq!(am.get_heads(), a.am.get_heads());
    assert!(b.nodes[RELAY].events.contains(&format!("changed {doc}")), "{:?}", b.nodes[RELAY].events);
}

/// (c) The same chunk twice (an announcement, then a repair resending
/// everything): the second time does nothing.
#[test]
fn a_chunk_already_known_is_skipped() {
    let (mut a, snapshot) = Elsewhere::new("deux-fois");
    let mut b = relay_b_with_bob(&a.doc, snapshot.clone());
    let doc = a.doc.clone();
    let (key, bytes, _) = a.change("lieu", "la halle");
    b.nodes[RELAY].storage.insert(key.clone(), bytes.clone());

    let first = feed(&mut b, &doc, vec![(key.clone(), bytes.clone())]);
    assert!(first.contains(&Output::DocumentChanged { doc: doc.clone() }));
    b.carry_out(RELAY, first);
    b.run_until_quiet();
    // A repair: every chunk of the document, the loaded snapshot included.
    let again = feed(&mut b, &doc, vec![snapshot, (key, bytes)]);
    assert_eq!(again, Vec::new());

    // Nor are they counted twice: B's next compaction deletes each once.
    let bob = b.node("bob");
    b.put(bob, &doc, "bob", "écrit");
    let writes: Vec<_> = relay_takes_frames(&mut b, bob)
        .into_iter()
        .filter_map(|o| match o {
            Output::Write(w) if w.holds_document_data() => Some(w),
            _ => None,
        })
        .collect();
    let [write] = &writes[..] else { panic!("one write of bob's change: {writes:?}") };
    let mut deleted = write.delete.clone();
    deleted.sort();
    deleted.dedup();
    assert_eq!(deleted.len(), 2, "the snapshot and A's chunk, each once: {:?}", write.delete);
    assert_eq!(deleted.len(), write.delete.len(), "{:?}", write.delete);
}

/// Delivers the client's frames in flight to the relay one by one, carries
/// out what the relay does (its writes as the shared store applies them)
/// and returns it.
fn relay_takes_frames(sim: &mut Sim, client: usize) -> Vec<Output> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let link = sim.links.iter_mut().find(|l| l.client == client).expect("a link");
        let Some(bytes) = link.to_relay.pop_front() else { break };
        let conn = link.relay_conn;
        sim.now.0 += 10;
        let now = sim.now;
        let outputs = sim.nodes[RELAY].repo.handle(now, Input::Received { conn, bytes });
        all.extend(outputs.iter().cloned());
        for output in outputs {
            match output {
                // As the shared store applies it: a chunk key's bytes never
                // change, so putting one that exists does nothing.
                Output::Write(write) => {
                    let store = &mut sim.nodes[RELAY].storage;
                    for key in write.delete {
                        store.remove(&key);
                    }
                    for (key, bytes) in write.put {
                        if key.as_chunk().is_some() {
                            store.entry(key).or_insert(bytes);
                        } else {
                            store.insert(key, bytes);
                        }
                    }
                }
                other => sim.carry_out(RELAY, vec![other]),
            }
        }
    }
    all
}

/// (d) A document not in memory: nothing to do (its next load reads the
/// store).
#[test]
fn a_chunk_for_a_document_not_in_memory_is_ignored() {
    let (mut a, snapshot) = Elsewhere::new("absent");
    let mut b = Sim::new(&["bob"]);
    let doc = a.doc.clone();
    let (key, bytes, _) = a.change("lieu", "la halle");
    let outputs = feed(&mut b, &doc, vec![snapshot, (key, bytes)]);
    assert_eq!(outputs, Vec::new());
    assert!(b.nodes[RELAY].repo.documents_in_memory().next().is_none());
}

/// (e) The announcement of change 2 comes before change 1's: its chunk
/// waits in Automerge for its dependency and must not count among the
/// chunks B's compaction replaces, since B's snapshot lacks it.
#[test]
fn a_chunk_missing_its_dependencies_is_never_compacted_away() {
    let (mut a, snapshot) = Elsewhere::new("desordre");
    let mut b = relay_b_with_bob(&a.doc, snapshot);
    let doc = a.doc.clone();
    let bob = b.node("bob");
    let (key1, bytes1, hash1) = a.change("un", "premier");
    let (key2, bytes2, hash2) = a.change("deux", "second");
    // A committed both; the first announcement is late.
    b.nodes[RELAY].storage.insert(key1.clone(), bytes1.clone());
    b.nodes[RELAY].storage.insert(key2.clone(), bytes2.clone());
    let heads = b.heads(RELAY, &doc);
    let outputs = feed(&mut b, &doc, vec![(key2.clone(), bytes2)]);
    assert!(!holds_document_data(&outputs));
    b.carry_out(RELAY, outputs);
    assert_eq!(b.heads(RELAY, &doc), heads, "change 2 waits for change 1");

    // Bob's change makes B save; the document is small, so B compacts:
    // a snapshot replacing every chunk B counts on disk. Another relay
    // compacted at the same heads already (bob wrote through it first),
    // so B's snapshot, named by its heads, is not stored: the one stored
    // lacks A's changes, which Automerge's `save` would have kept in B's.
    b.put(bob, &doc, "bob", "écrit");
    let bobs = b.nodes[bob].repo.document(&doc).expect("open");
    let same_heads = StorageKey::chunk(&doc, ChunkKind::Snapshot, &snapshot_name(&bobs.get_heads()));
    let saved = bobs.save();
    b.nodes[RELAY].storage.insert(same_heads, saved);
    relay_takes_frames(&mut b, bob);
    b.run_until_quiet();
    let store = document_entries(&b.nodes[RELAY].storage, &doc);
    let s0 = StorageKey::chunk(&doc, ChunkKind::Snapshot, "s0");
    assert!(!store.iter().any(|(k, _)| *k == s0), "B compacted, replacing the snapshot it loaded: {store:?}");
    assert!(store.iter().any(|(k, _)| *k == key2), "B deleted the chunk its snapshot lacks");
    let stored = crate::storage::load_chunks(&doc, store);
    for hash in [hash1, hash2] {
        assert!(stored.get_change_by_hash(&hash).is_some(), "storage lost a change of A");
    }

    // Change 1's announcement comes at last: both are taken in.
    let outputs = feed(&mut b, &doc, vec![(key1, bytes1)]);
    assert!(!holds_document_data(&outputs), "{outputs:?}");
    b.carry_out(RELAY, outputs);
    b.run_until_quiet();
    let am = b.nodes[RELAY].repo.document(&doc).expect("loaded");
    assert!(am.get_change_by_hash(&hash2).is_some());
    assert_eq!(b.heads(bob, &doc), b.heads(RELAY, &doc));
}

/// (f) Keys of another document and keys that are not chunks (a sync
/// state) are ignored, even holding changes of this document.
#[test]
fn keys_that_are_not_this_documents_chunks_are_ignored() {
    let (mut a, snapshot) = Elsewhere::new("cles");
    let mut b = relay_b_with_bob(&a.doc, snapshot);
    let doc = a.doc.clone();
    let heads = b.heads(RELAY, &doc);
    let (_, bytes, _) = a.change("un", "premier");
    let other = StorageKey::chunk(&Sim::doc_id("autre"), ChunkKind::Incremental, "ab12");
    let sync_state = StorageKey::sync_state(&doc, &StorageId::from_random([3; 16]));
    for key in [other, sync_state] {
        let outputs = feed(&mut b, &doc, vec![(key.clone(), bytes.clone())]);
        assert_eq!(outputs, Vec::new(), "{key}");
        assert_eq!(b.heads(RELAY, &doc), heads, "{key}");
    }
}
