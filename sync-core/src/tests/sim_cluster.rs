//! A cluster of relays sharing one store, and the core promise as a
//! property over it: whatever the edits, moves, lost announcements,
//! crashes and partitions, once everything heals and repair runs until
//! quiet, every replica holds the same document and the store holds every
//! change a relay committed.
//!
//! The driver model, per relay:
//! - Outputs go to an outbox carried out in order, one per round; a crash
//!   drops the outbox, the driver's pending answers (loads, access, jobs)
//!   and the repo, never half a write. So an announcement, and any `Send`
//!   after a write, leave only once that write is applied.
//! - A write is applied atomically to the shared store: deletes as given,
//!   puts of chunk keys insert-if-absent (a chunk key's bytes never
//!   change), other puts replace; every write holding document data bumps
//!   that document's version. Then the chunks it put are announced to every
//!   other relay that is up, into an inbox from which announcements are
//!   delivered in any order, late, or lost.
//! - Repair: for each document a relay holds in memory, if the store's
//!   version moved past what the relay last read (at its load or its last
//!   repair), every chunk of the document is fed as `CommittedElsewhere`.
//!
//! Clients are ordinary repos with their own store, each connected to one
//! relay at a time; their outputs are carried out at once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::{ChangeHash, ROOT, ReadDoc};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

use super::sim::{Sim, actor_for, random_for};
use crate::storage::load_chunks;
use crate::{
    Access, AccessPolicy, Config, ConnId, Direction, DocumentId, Input, Output, Repo, StorageKey, StorageWrite,
    UnixMillis,
};

/// Clock step per event.
const STEP_MS: u64 = 10;
/// Bound on `run_until_quiet`: more rounds means a sync loop.
const MAX_ROUNDS: usize = 100_000;
/// Bound on the final repair passes.
const MAX_REPAIRS: usize = 50;
const DOCS: [&str; 2] = ["agenda", "profil"];
const CLIENTS: [&str; 3] = ["alice", "bob", "carol"];
const RELAYS: [&str; 3] = ["relay-a", "relay-b", "relay-c"];
/// A document's first value: its snapshot then weighs a little more than
/// the 1 KiB under which every save compacts.
const SEED_BYTES: usize = 2000;
/// Each write's value: about eight incremental chunks between compactions.
const WRITE_BYTES: usize = 1500;

/// The store every relay shares.
#[derive(Default)]
struct Store {
    entries: BTreeMap<StorageKey, Vec<u8>>,
    /// Bumped by every write holding a document's data.
    versions: BTreeMap<DocumentId, u64>,
}

impl Store {
    /// Applies one write atomically; returns the documents whose data it
    /// touched.
    fn apply(&mut self, write: &StorageWrite) -> BTreeSet<DocumentId> {
        let mut touched = BTreeSet::new();
        for key in &write.delete {
            if key.as_chunk().is_some() {
                touched.insert(doc_of(key));
            }
            self.entries.remove(key);
        }
        for (key, bytes) in &write.put {
            if key.as_chunk().is_some() {
                touched.insert(doc_of(key));
                self.entries.entry(key.clone()).or_insert_with(|| bytes.clone());
            } else {
                self.entries.insert(key.clone(), bytes.clone());
            }
        }
        for doc in &touched {
            *self.versions.entry(doc.clone()).or_default() += 1;
        }
        touched
    }

    fn version(&self, doc: &DocumentId) -> u64 {
        self.versions.get(doc).copied().unwrap_or(0)
    }

    fn document(&self, doc: &DocumentId) -> Vec<(StorageKey, Vec<u8>)> {
        let prefix = StorageKey::document_prefix(doc);
        self.entries.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn chunks(&self, doc: &DocumentId) -> Vec<(StorageKey, Vec<u8>)> {
        self.document(doc).into_iter().filter(|(k, _)| k.as_chunk().is_some()).collect()
    }
}

fn doc_of(key: &StorageKey) -> DocumentId {
    key.components()[0].parse().expect("chunk keys this crate wrote name their document")
}

/// Chunks a relay committed for a document, as it announces them.
type Announcement = (DocumentId, Vec<(StorageKey, Vec<u8>)>);

/// An output waiting in a relay's outbox; a write holding document data
/// carries the heads the relay held when it produced it, which applying it
/// commits.
struct Queued {
    output: Output,
    commits: Vec<(DocumentId, Vec<ChangeHash>)>,
}

struct Relay {
    name: &'static str,
    config: Config,
    /// `None` while crashed.
    repo: Option<Repo>,
    restarts: u8,
    outbox: VecDeque<Queued>,
    /// The driver's answers (loads, access decisions, jobs), in order.
    pending: VecDeque<Input>,
    /// Announcements from other relays not delivered yet.
    inbox: VecDeque<Announcement>,
    /// The store's version of each document when this relay last read it
    /// whole (its load or its last repair).
    seen: BTreeMap<DocumentId, u64>,
    next_conn: u64,
}

struct Link {
    client_conn: ConnId,
    relay_conn: ConnId,
    to_relay: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
}

struct Client {
    repo: Repo,
    storage: BTreeMap<StorageKey, Vec<u8>>,
    pending: VecDeque<Input>,
    /// The relay it connects to.
    relay: usize,
    link: Option<Link>,
    /// Frames stay in flight both ways while partitioned.
    partitioned: bool,
    next_conn: u64,
}

struct Cluster {
    now: UnixMillis,
    store: Store,
    relays: Vec<Relay>,
    clients: Vec<Client>,
    /// Heads of each document some relay committed (its write applied).
    committed: BTreeMap<DocumentId, BTreeSet<ChangeHash>>,
}

impl Cluster {
    fn new(relays: usize, offload: bool) -> Cluster {
        let mut cluster = Cluster {
            now: UnixMillis(1_700_000_000_000),
            store: Store::default(),
            relays: Vec::new(),
            clients: Vec::new(),
            committed: BTreeMap::new(),
        };
        for name in &RELAYS[..relays] {
            let peer = name.parse().expect("valid peer name");
            let mut config = Config::new(peer, actor_for(name, 0), format!("session-{name}"));
            config.access = AccessPolicy::AskDriver;
            if offload {
                config.offload_changes_above_ops = Some(0);
            }
            cluster.relays.push(Relay {
                name,
                config,
                repo: None,
                restarts: 0,
                outbox: VecDeque::new(),
                pending: VecDeque::new(),
                inbox: VecDeque::new(),
                seen: BTreeMap::new(),
                next_conn: 0,
            });
            let r = cluster.relays.len() - 1;
            cluster.start_relay(r);
        }
        for (c, name) in CLIENTS.iter().enumerate() {
            let peer = name.parse().expect("valid peer name");
            let config = Config::new(peer, actor_for(name, 0), format!("session-{name}"));
            let (repo, outputs) = Repo::start(config, None, random_for(name)).expect("a new store");
            let mut client = Client {
                repo,
                storage: BTreeMap::new(),
                pending: VecDeque::new(),
                relay: c % relays,
                link: None,
                partitioned: false,
                next_conn: 0,
            };
            for output in outputs {
                if let Output::Write(write) = output {
                    apply_replacing(&mut client.storage, write);
                }
            }
            cluster.clients.push(client);
            cluster.connect(c);
        }
        cluster.run_until_quiet();
        cluster
    }

    /// Starts a relay on the shared store (its storage id is the store's).
    fn start_relay(&mut self, r: usize) {
        let relay = &mut self.relays[r];
        let mut config = relay.config.clone();
        config.actor = actor_for(relay.name, relay.restarts);
        let stored = self.store.entries.get(&StorageKey::storage_id()).cloned();
        let (repo, outputs) = Repo::start(config, stored.as_deref(), random_for(relay.name)).expect("stored id");
        relay.repo = Some(repo);
        for output in outputs {
            if let Output::Write(write) = output {
                self.store.apply(&write);
            }
        }
    }

    fn tick(&mut self) -> UnixMillis {
        self.now = UnixMillis(self.now.0 + STEP_MS);
        self.now
    }

    fn relay_input(&mut self, r: usize, input: Input) {
        let now = self.tick();
        let Some(repo) = self.relays[r].repo.as_mut() else { return };
        let outputs = repo.handle(now, input);
        // Applying a handle's last write of a document's data commits the
        // heads the relay held after that handle.
        let mut last_write: BTreeMap<DocumentId, usize> = BTreeMap::new();
        for (i, output) in outputs.iter().enumerate() {
            if let Output::Write(write) = output {
                let keys = write.put.iter().map(|(k, _)| k).chain(&write.delete);
                for key in keys.filter(|k| k.as_chunk().is_some()) {
                    last_write.insert(doc_of(key), i);
                }
            }
        }
        let mut commits: Vec<Vec<(DocumentId, Vec<ChangeHash>)>> = vec![Vec::new(); outputs.len()];
        for (doc, i) in last_write {
            if let Some(am) = repo.document(&doc) {
                commits[i].push((doc, am.get_heads()));
            }
        }
        for (output, commits) in outputs.into_iter().zip(commits) {
            self.relays[r].outbox.push_back(Queued { output, commits });
        }
    }

    fn client_input(&mut self, c: usize, input: Input) {
        let now = self.tick();
        let outputs = self.clients[c].repo.handle(now, input);
        self.client_carry_out(c, outputs);
    }

    fn client_carry_out(&mut self, c: usize, outputs: Vec<Output>) {
        for output in outputs {
            let client = &mut self.clients[c];
            match output {
                Output::Send { conn, bytes } => {
                    if let Some(link) = client.link.as_mut().filter(|l| l.client_conn == conn) {
                        link.to_relay.push_back(bytes.into_vec());
                    }
                }
                Output::Close { .. } => self.disconnect(c),
                Output::Load { doc } => {
                    let prefix = StorageKey::document_prefix(&doc);
                    let entries = client
                        .storage
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    client.pending.push_back(Input::Loaded { doc, entries });
                }
                Output::Write(write) => apply_replacing(&mut client.storage, write),
                Output::ApplyChanges(job) => client.pending.push_back(Input::ChangesApplied(Box::new(job.run()))),
                Output::CheckAccess { conn, doc, .. } => {
                    client.pending.push_back(Input::AccessDecided { conn, doc, access: Access::ReadWrite })
                }
                Output::DocumentChanged { .. } | Output::DocumentUnavailable { .. } | Output::Ephemeral { .. } => {}
            }
        }
    }

    /// Carries out the relay's next output. Returns whether there was one.
    fn relay_carry_out_one(&mut self, r: usize) -> bool {
        let Some(Queued { output, commits }) = self.relays[r].outbox.pop_front() else { return false };
        match output {
            Output::Write(write) => {
                let touched = self.store.apply(&write);
                for (doc, heads) in commits {
                    self.committed.entry(doc).or_default().extend(heads);
                }
                if write.delete.iter().any(|k| k.as_chunk().is_some()) {
                    for doc in &touched {
                        self.check_committed_are_stored(doc);
                    }
                }
                for doc in touched {
                    let prefix = StorageKey::document_prefix(&doc);
                    let chunks: Vec<_> = write
                        .put
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix) && k.as_chunk().is_some())
                        .cloned()
                        .collect();
                    if chunks.is_empty() {
                        continue;
                    }
                    for (other, relay) in self.relays.iter_mut().enumerate() {
                        if other != r && relay.repo.is_some() {
                            relay.inbox.push_back((doc.clone(), chunks.clone()));
                        }
                    }
                }
            }
            Output::Send { conn, bytes } => {
                if let Some(c) = self.client_on(r, conn) {
                    self.clients[c].link.as_mut().expect("linked").to_client.push_back(bytes.into_vec());
                }
            }
            Output::Close { conn, .. } => {
                if let Some(c) = self.client_on(r, conn) {
                    let link = self.clients[c].link.take().expect("linked");
                    self.client_input(c, Input::Disconnected { conn: link.client_conn });
                }
            }
            Output::Load { doc } => {
                let entries = self.store.document(&doc);
                let relay = &mut self.relays[r];
                relay.seen.insert(doc.clone(), self.store.version(&doc));
                relay.pending.push_back(Input::Loaded { doc, entries });
            }
            Output::CheckAccess { conn, doc, .. } => {
                self.relays[r].pending.push_back(Input::AccessDecided { conn, doc, access: Access::ReadWrite })
            }
            Output::ApplyChanges(job) => self.relays[r].pending.push_back(Input::ChangesApplied(Box::new(job.run()))),
            Output::DocumentChanged { .. } | Output::DocumentUnavailable { .. } | Output::Ephemeral { .. } => {}
        }
        true
    }

    /// The store still holds every change a relay committed: compaction
    /// (the only deletes of chunks) lost nothing.
    fn check_committed_are_stored(&self, doc: &DocumentId) {
        let stored = load_chunks(doc, self.store.document(doc));
        let missing: Vec<_> =
            self.committed.get(doc).into_iter().flatten().filter(|h| stored.get_change_by_hash(h).is_none()).collect();
        assert!(missing.is_empty(), "the store lost committed changes of {doc}: {missing:?}");
    }

    fn client_on(&self, r: usize, conn: ConnId) -> Option<usize> {
        self.clients.iter().position(|c| c.relay == r && c.link.as_ref().is_some_and(|l| l.relay_conn == conn))
    }

    /// Opens a websocket from the client to its relay, if that relay is up.
    fn connect(&mut self, c: usize) {
        let r = self.clients[c].relay;
        if self.clients[c].link.is_some() || self.relays[r].repo.is_none() {
            return;
        }
        self.clients[c].next_conn += 1;
        self.relays[r].next_conn += 1;
        let (client_conn, relay_conn) = (ConnId(self.clients[c].next_conn), ConnId(self.relays[r].next_conn));
        self.clients[c].link =
            Some(Link { client_conn, relay_conn, to_relay: VecDeque::new(), to_client: VecDeque::new() });
        self.relay_input(r, Input::Connected { conn: relay_conn, direction: Direction::Inbound, expected_peer: None });
        self.client_input(
            c,
            Input::Connected { conn: client_conn, direction: Direction::Outbound, expected_peer: None },
        );
    }

    /// Cuts the client's link: frames in flight are lost, both sides notice.
    fn disconnect(&mut self, c: usize) {
        let Some(link) = self.clients[c].link.take() else { return };
        let r = self.clients[c].relay;
        self.relay_input(r, Input::Disconnected { conn: link.relay_conn });
        self.client_input(c, Input::Disconnected { conn: link.client_conn });
    }

    fn crash(&mut self, r: usize) {
        let relay = &mut self.relays[r];
        if relay.repo.take().is_none() {
            return;
        }
        relay.outbox.clear();
        relay.pending.clear();
        relay.inbox.clear();
        relay.seen.clear();
        for c in 0..self.clients.len() {
            if self.clients[c].relay == r
                && let Some(link) = self.clients[c].link.take()
            {
                self.client_input(c, Input::Disconnected { conn: link.client_conn });
            }
        }
    }

    fn restart(&mut self, r: usize) {
        if self.relays[r].repo.is_none() {
            self.relays[r].restarts += 1;
            self.start_relay(r);
        }
    }

    /// Feeds every chunk of every document the relay holds whose stored
    /// version moved since it last read it. Returns whether it fed any.
    fn repair(&mut self, r: usize) -> bool {
        let Some(repo) = self.relays[r].repo.as_ref() else { return false };
        let docs: Vec<DocumentId> = repo.documents_in_memory().cloned().collect();
        let mut fed = false;
        for doc in docs {
            let version = self.store.version(&doc);
            if self.relays[r].seen.get(&doc).is_some_and(|seen| *seen >= version) {
                continue;
            }
            self.relays[r].seen.insert(doc.clone(), version);
            let chunks = self.store.chunks(&doc);
            self.relay_input(r, Input::CommittedElsewhere { doc, chunks });
            fed = true;
        }
        fed
    }

    fn announce(&mut self, r: usize, pick: usize, lose: bool) {
        let inbox = &mut self.relays[r].inbox;
        if inbox.is_empty() {
            return;
        }
        let (doc, chunks) = inbox.remove(pick % inbox.len()).expect("in range");
        if !lose {
            self.relay_input(r, Input::CommittedElsewhere { doc, chunks });
        }
    }

    /// One round: a frame each way per live link, one output and one driver
    /// answer per relay, one driver answer per client.
    fn step(&mut self) -> bool {
        let mut moved = false;
        for c in 0..self.clients.len() {
            let r = self.clients[c].relay;
            if self.clients[c].partitioned {
                continue;
            }
            let Some(link) = self.clients[c].link.as_mut() else { continue };
            let (client_conn, relay_conn) = (link.client_conn, link.relay_conn);
            if let Some(bytes) = link.to_relay.pop_front() {
                moved = true;
                self.relay_input(r, Input::Received { conn: relay_conn, bytes });
            }
            if let Some(bytes) = self.clients[c].link.as_mut().and_then(|l| l.to_client.pop_front()) {
                moved = true;
                self.client_input(c, Input::Received { conn: client_conn, bytes });
            }
        }
        for r in 0..self.relays.len() {
            moved |= self.relay_carry_out_one(r);
            if let Some(input) = self.relays[r].pending.pop_front() {
                moved = true;
                self.relay_input(r, input);
            }
        }
        for c in 0..self.clients.len() {
            if let Some(input) = self.clients[c].pending.pop_front() {
                moved = true;
                self.client_input(c, input);
            }
        }
        moved
    }

    fn steps(&mut self, n: usize) {
        for _ in 0..n {
            if !self.step() {
                return;
            }
        }
    }

    fn run_until_quiet(&mut self) {
        for _ in 0..MAX_ROUNDS {
            if !self.step() {
                return;
            }
        }
        panic!("no quiescence after {MAX_ROUNDS} rounds: sync loop?");
    }

    /// Everything up and connected, every announcement delivered, repair
    /// until it finds nothing.
    fn heal_and_settle(&mut self) {
        for r in 0..self.relays.len() {
            self.restart(r);
        }
        for c in 0..self.clients.len() {
            self.clients[c].partitioned = false;
            self.connect(c);
        }
        for _ in 0..MAX_REPAIRS {
            self.run_until_quiet();
            for r in 0..self.relays.len() {
                while !self.relays[r].inbox.is_empty() {
                    self.announce(r, 0, false);
                }
            }
            self.run_until_quiet();
            let mut fed = false;
            for r in 0..self.relays.len() {
                fed |= self.repair(r);
            }
            if !fed {
                return;
            }
        }
        panic!("repair still finding changes after {MAX_REPAIRS} passes");
    }
}

/// `len` hex characters that Automerge cannot compress away.
fn incompressible(len: usize, seed: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut text = String::new();
    let mut i = 0u32;
    while text.len() < len {
        text.push_str(&hex::encode(Sha256::new().chain_update(seed).chain_update(i.to_be_bytes()).finalize()));
        i += 1;
    }
    text.truncate(len);
    text
}

fn apply_replacing(storage: &mut BTreeMap<StorageKey, Vec<u8>>, write: StorageWrite) {
    for key in write.delete {
        storage.remove(&key);
    }
    storage.extend(write.put);
}

#[derive(Debug, Clone)]
enum Action {
    /// A client writes a key of its own (must survive) and perhaps the
    /// shared key (a conflict that must converge).
    Write {
        client: usize,
        doc: usize,
        shared: bool,
    },
    /// The client disconnects and connects to another relay.
    Move {
        client: usize,
        relay: usize,
    },
    Partition {
        client: usize,
    },
    Heal {
        client: usize,
    },
    /// A few rounds of frames and outputs, leaving the rest in flight.
    Rounds {
        n: usize,
    },
    /// One announcement waiting for the relay, picked among them, delivered
    /// or lost.
    Announce {
        relay: usize,
        pick: usize,
        lose: bool,
    },
    Crash {
        relay: usize,
    },
    Restart {
        relay: usize,
    },
    Repair {
        relay: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let client = 0..CLIENTS.len();
    let relay = 0..RELAYS.len();
    prop_oneof![
        5 => (client.clone(), 0..DOCS.len(), any::<bool>())
            .prop_map(|(client, doc, shared)| Action::Write { client, doc, shared }),
        2 => (client.clone(), relay.clone()).prop_map(|(client, relay)| Action::Move { client, relay }),
        1 => client.clone().prop_map(|client| Action::Partition { client }),
        1 => client.prop_map(|client| Action::Heal { client }),
        3 => (1..12usize).prop_map(|n| Action::Rounds { n }),
        3 => (relay.clone(), 0..8usize, proptest::bool::weighted(0.3))
            .prop_map(|(relay, pick, lose)| Action::Announce { relay, pick, lose }),
        1 => relay.clone().prop_map(|relay| Action::Crash { relay }),
        1 => relay.clone().prop_map(|relay| Action::Restart { relay }),
        1 => relay.prop_map(|relay| Action::Repair { relay }),
    ]
}

fn run(relays: usize, offload: bool, actions: &[Action]) -> Result<(), TestCaseError> {
    let mut cluster = Cluster::new(relays, offload);
    let now = cluster.now;
    let docs: Vec<DocumentId> = DOCS.iter().map(|d| Sim::doc_id(d)).collect();
    for doc in &docs {
        let (_, outputs) = cluster.clients[0].repo.create_document(now, &doc.to_bytes()).expect("new document");
        cluster.client_carry_out(0, outputs);
        // Past the JS rule's small-snapshot threshold, so relays write
        // incremental chunks between compactions.
        let outputs = cluster.clients[0]
            .repo
            .change_document(now, doc, |tx| {
                use automerge::transaction::Transactable;
                tx.put(ROOT, "graine", incompressible(SEED_BYTES, doc.to_string().as_bytes())).map(|_| ())
            })
            .expect("loaded");
        cluster.client_carry_out(0, outputs);
        for c in 1..CLIENTS.len() {
            cluster.client_input(c, Input::Open { doc: doc.clone() });
        }
    }
    cluster.run_until_quiet();

    let mut written: Vec<BTreeSet<String>> = vec![BTreeSet::new(); DOCS.len()];
    for (n, action) in actions.iter().enumerate() {
        match *action {
            Action::Write { client, doc, shared } => {
                while let Some(input) = cluster.clients[client].pending.pop_front() {
                    cluster.client_input(client, input);
                }
                let key = format!("{}-{n}", CLIENTS[client]);
                let now = cluster.tick();
                let change = cluster.clients[client].repo.change_document(now, &docs[doc], |tx| {
                    use automerge::transaction::Transactable;
                    tx.put(ROOT, &key, incompressible(WRITE_BYTES, key.as_bytes()))?;
                    if shared {
                        tx.put(ROOT, "partagé", CLIENTS[client])?;
                    }
                    Ok(())
                });
                // Busy with a peer's changes: the user tries later.
                if let Ok(outputs) = change {
                    written[doc].insert(key);
                    cluster.client_carry_out(client, outputs);
                }
            }
            Action::Move { client, relay } => {
                cluster.disconnect(client);
                cluster.clients[client].relay = relay % relays;
                cluster.connect(client);
            }
            Action::Partition { client } => cluster.clients[client].partitioned = true,
            Action::Heal { client } => {
                cluster.clients[client].partitioned = false;
                cluster.connect(client);
            }
            Action::Rounds { n } => cluster.steps(n),
            Action::Announce { relay, pick, lose } => cluster.announce(relay % relays, pick, lose),
            Action::Crash { relay } => cluster.crash(relay % relays),
            Action::Restart { relay } => cluster.restart(relay % relays),
            Action::Repair { relay } => {
                cluster.repair(relay % relays);
            }
        }
    }
    cluster.heal_and_settle();

    for (d, doc) in docs.iter().enumerate() {
        let stored = load_chunks(doc, cluster.store.document(doc));
        let heads = stored.get_heads();
        for (c, client) in cluster.clients.iter().enumerate() {
            let am = client.repo.document(doc).expect("open on every client");
            prop_assert_eq!(am.get_heads(), heads.clone(), "{} on {} against the store", DOCS[d], CLIENTS[c]);
            prop_assert_eq!(client.repo.unacknowledged_changes(doc), Some(0), "{} on {}", DOCS[d], CLIENTS[c]);
        }
        for relay in &cluster.relays {
            let am = relay.repo.as_ref().and_then(|repo| repo.document(doc));
            if let Some(am) = am {
                prop_assert_eq!(am.get_heads(), heads.clone(), "{} on {} against the store", DOCS[d], relay.name);
            }
        }
        let missing: Vec<_> = cluster
            .committed
            .get(doc)
            .into_iter()
            .flatten()
            .filter(|h| stored.get_change_by_hash(h).is_none())
            .collect();
        prop_assert!(missing.is_empty(), "committed changes of {} missing from the store: {:?}", DOCS[d], missing);
        let lost: Vec<&String> =
            written[d].iter().filter(|key| stored.get(ROOT, key.as_str()).ok().flatten().is_none()).collect();
        prop_assert!(lost.is_empty(), "writes lost in {}: {:?}", DOCS[d], lost);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        // Reproducible: the same cases every run.
        rng_seed: RngSeed::Fixed(0x5eed_c1a5),
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn relays_sharing_a_store_converge_and_lose_nothing(
        relays in 2..=3usize,
        offload in proptest::bool::weighted(0.25),
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        run(relays, offload, &actions)?;
    }
}
