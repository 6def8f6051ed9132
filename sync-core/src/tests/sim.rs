//! A deterministic simulator: one relay and N clients, each a real [`Repo`]
//! with an in-memory store, joined by links that can be cut, healed and
//! restarted, under a fake clock that advances a fixed step per event.
//!
//! Everything a driver does is done here the way a driver must do it:
//! outputs carried out in order, writes applied atomically, loads answered
//! later (so messages arrive while a document is loading).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};

use automerge::{ActorId, ROOT, ReadDoc};

use crate::{
    Access, AccessPolicy, CloseReason, Config, ConnId, Direction, DocumentId, Input, Output, PeerId, Repo, StorageKey,
    StorageWrite, UnixMillis,
};

/// Clock step per delivered event.
const STEP_MS: u64 = 10;
/// Bound on `run_until_quiet`, so a sync loop fails the test instead of hanging.
const MAX_STEPS: usize = 200_000;

/// Index of a node: 0 is the relay, clients are 1..=N.
pub(crate) type NodeId = usize;
pub(crate) const RELAY: NodeId = 0;

pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) repo: Repo,
    pub(crate) config: Config,
    pub(crate) storage: BTreeMap<StorageKey, Vec<u8>>,
    /// Inputs from the node's own driver (answers to loads, access decisions).
    pub(crate) pending: VecDeque<Input>,
    /// Documents the application has open (re-opened after a restart).
    pub(crate) open: BTreeSet<DocumentId>,
    /// What the node's application and logs saw, in order.
    pub(crate) events: Vec<String>,
    /// Connections the repo closed, with the reason.
    pub(crate) closed: Vec<(ConnId, CloseReason)>,
    /// Access decisions a relay driver would make: (peer, doc) -> access.
    pub(crate) grants: BTreeMap<(String, DocumentId), Access>,
    next_conn: u64,
    restarts: u8,
}

/// A websocket between a client and the relay.
pub(crate) struct Link {
    pub(crate) client: NodeId,
    pub(crate) up: bool,
    pub(crate) client_conn: ConnId,
    pub(crate) relay_conn: ConnId,
    pub(crate) to_relay: VecDeque<Vec<u8>>,
    pub(crate) to_client: VecDeque<Vec<u8>>,
}

pub(crate) struct Sim {
    pub(crate) now: UnixMillis,
    pub(crate) nodes: Vec<Node>,
    pub(crate) links: Vec<Link>,
    /// Frames delivered, in order, as (from, to, message type).
    pub(crate) trace: Vec<(NodeId, NodeId, String)>,
    /// Bytes delivered over all links.
    pub(crate) bytes_on_wire: usize,
    /// A digest of every frame delivered, its bytes, ends and order: two
    /// runs with equal digests put the same bytes on the wire.
    pub(crate) wire_digest: u64,
    /// Whether the relay takes each round's frames as one batch
    /// ([`Repo::handle_batch`]), as Essaim's hub does under load.
    pub(crate) batch_relay: bool,
}

pub(crate) fn actor_for(name: &str, restarts: u8) -> ActorId {
    let mut bytes = [0u8; 16];
    for (i, b) in name.bytes().enumerate().take(15) {
        bytes[i] = b;
    }
    bytes[15] = restarts;
    ActorId::from(&bytes[..])
}

pub(crate) fn random_for(name: &str) -> [u8; 16] {
    let mut bytes = [0x5au8; 16];
    for (i, b) in name.bytes().enumerate().take(16) {
        bytes[i] ^= b;
    }
    bytes
}

impl Node {
    fn start(name: &str, relay: bool, storage: BTreeMap<StorageKey, Vec<u8>>, restarts: u8) -> Node {
        let peer: PeerId = name.parse().expect("valid peer name");
        let mut config = Config::new(peer, actor_for(name, restarts), format!("session-{name}-{restarts}"));
        if relay {
            config.access = AccessPolicy::AskDriver;
        }
        Node::with_config(name, config, storage, restarts)
    }

    pub(crate) fn with_config(
        name: &str,
        config: Config,
        storage: BTreeMap<StorageKey, Vec<u8>>,
        restarts: u8,
    ) -> Node {
        let stored_id = storage.get(&StorageKey::storage_id()).cloned();
        let (repo, outputs) =
            Repo::start(config.clone(), stored_id.as_deref(), random_for(name)).expect("stored id is valid");
        let mut node = Node {
            name: name.to_owned(),
            repo,
            config,
            storage,
            pending: VecDeque::new(),
            open: BTreeSet::new(),
            events: Vec::new(),
            closed: Vec::new(),
            grants: BTreeMap::new(),
            next_conn: 0,
            restarts,
        };
        for output in outputs {
            if let Output::Write(write) = output {
                node.apply(write);
            }
        }
        node
    }

    fn apply(&mut self, write: StorageWrite) {
        for key in write.delete {
            self.storage.remove(&key);
        }
        for (key, value) in write.put {
            self.storage.insert(key, value);
        }
    }

    fn new_conn(&mut self) -> ConnId {
        self.next_conn += 1;
        ConnId(self.next_conn)
    }

    /// The document as `key=value` lines, sorted, for comparisons.
    pub(crate) fn content(&self, doc: &DocumentId) -> Option<Vec<String>> {
        let am = self.repo.document(doc)?;
        let mut lines: Vec<String> = am
            .map_range(ROOT, ..)
            .map(|item| match am.text(item.id()) {
                Ok(text) => format!("{}={text}", item.key),
                Err(_) => format!("{}={}", item.key, automerge::Value::from(item.value).as_str().unwrap_or("?")),
            })
            .collect();
        lines.sort();
        Some(lines)
    }
}

impl Sim {
    /// A relay and one client per name, all linked and handshaken.
    pub(crate) fn new(clients: &[&str]) -> Sim {
        let mut nodes = vec![Node::start("relay", true, BTreeMap::new(), 0)];
        nodes.extend(clients.iter().map(|name| Node::start(name, false, BTreeMap::new(), 0)));
        let mut sim = Sim {
            now: UnixMillis(1_700_000_000_000),
            nodes,
            links: Vec::new(),
            trace: Vec::new(),
            bytes_on_wire: 0,
            wire_digest: 0,
            batch_relay: false,
        };
        for client in 1..=clients.len() {
            sim.links.push(Link {
                client,
                up: false,
                client_conn: ConnId(0),
                relay_conn: ConnId(0),
                to_relay: VecDeque::new(),
                to_client: VecDeque::new(),
            });
            sim.connect(client);
        }
        sim.run_until_quiet();
        sim
    }

    pub(crate) fn node(&self, name: &str) -> NodeId {
        self.nodes.iter().position(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    fn link_of(&mut self, client: NodeId) -> &mut Link {
        self.links.iter_mut().find(|l| l.client == client).expect("every client has a link")
    }

    /// Opens a websocket from the client to the relay.
    pub(crate) fn connect(&mut self, client: NodeId) {
        if self.link_of(client).up {
            return;
        }
        let client_conn = self.nodes[client].new_conn();
        let relay_conn = self.nodes[RELAY].new_conn();
        let link = self.link_of(client);
        *link =
            Link { client, up: true, client_conn, relay_conn, to_relay: VecDeque::new(), to_client: VecDeque::new() };
        self.input(RELAY, Input::Connected { conn: relay_conn, direction: Direction::Inbound, expected_peer: None });
        self.input(client, Input::Connected { conn: client_conn, direction: Direction::Outbound, expected_peer: None });
    }

    /// Cuts the client's link: frames in flight are lost, both sides notice.
    pub(crate) fn disconnect(&mut self, client: NodeId) {
        let link = self.link_of(client);
        if !link.up {
            return;
        }
        link.up = false;
        link.to_relay.clear();
        link.to_client.clear();
        let (client_conn, relay_conn) = (link.client_conn, link.relay_conn);
        self.input(RELAY, Input::Disconnected { conn: relay_conn });
        self.input(client, Input::Disconnected { conn: client_conn });
    }

    /// Stops a node and starts it again from its storage only. Its links
    /// drop; a restarted client re-opens its documents and reconnects if its
    /// link was up.
    pub(crate) fn restart(&mut self, node: NodeId) {
        let affected: Vec<NodeId> =
            self.links.iter().filter(|l| l.up && (node == RELAY || l.client == node)).map(|l| l.client).collect();
        for client in &affected {
            self.disconnect(*client);
        }
        let old = &self.nodes[node];
        let restarts = old.restarts.wrapping_add(1);
        let mut config = old.config.clone();
        config.actor = actor_for(&old.name, restarts);
        let mut fresh = Node::with_config(&old.name.clone(), config, old.storage.clone(), restarts);
        fresh.open = old.open.clone();
        fresh.grants = old.grants.clone();
        fresh.next_conn = old.next_conn;
        self.nodes[node] = fresh;
        for doc in self.nodes[node].open.clone() {
            self.input(node, Input::Open { doc });
        }
        for client in affected {
            self.connect(client);
        }
    }

    /// Replaces the relay by a fresh one (empty storage) whose config
    /// `change` adjusts, reconnects every client and lets them settle.
    pub(crate) fn reconfigure_relay(&mut self, change: impl FnOnce(&mut Config)) {
        let mut config = self.nodes[RELAY].config.clone();
        change(&mut config);
        let clients: Vec<NodeId> = self.links.iter().map(|l| l.client).collect();
        for &client in &clients {
            self.disconnect(client);
        }
        self.nodes[RELAY] = Node::with_config("relay", config, BTreeMap::new(), 0);
        for client in clients {
            self.connect(client);
        }
        self.run_until_quiet();
    }

    /// Feeds one input to a node and carries out its outputs.
    pub(crate) fn input(&mut self, node: NodeId, input: Input) {
        self.now = UnixMillis(self.now.0 + STEP_MS);
        let outputs = self.nodes[node].repo.handle(self.now, input);
        self.carry_out(node, outputs);
    }

    pub(crate) fn carry_out(&mut self, node: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            self.carry_out_one(node, output);
        }
    }

    fn carry_out_one(&mut self, node: NodeId, output: Output) {
        match output {
            Output::Send { conn, bytes } => {
                if let Some(link) = self.link_for_conn(node, conn) {
                    if node == RELAY {
                        link.to_client.push_back(bytes.into_vec());
                    } else {
                        link.to_relay.push_back(bytes.into_vec());
                    }
                }
            }
            Output::Close { conn, reason } => {
                self.nodes[node].closed.push((conn, reason.clone()));
                self.nodes[node].events.push(format!("closed {conn}: {reason}"));
                if let Some(client) = self.link_for_conn(node, conn).map(|l| l.client) {
                    // The socket closes: the other side notices.
                    let link = self.link_of(client);
                    link.up = false;
                    let other = if node == RELAY { (client, link.client_conn) } else { (RELAY, link.relay_conn) };
                    self.input(other.0, Input::Disconnected { conn: other.1 });
                }
            }
            Output::Load { doc } => {
                let prefix = StorageKey::document_prefix(&doc);
                let entries = self.nodes[node]
                    .storage
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.nodes[node].pending.push_back(Input::Loaded { doc, entries });
            }
            Output::Write(write) => self.nodes[node].apply(write),
            // Run at once, handed back later like a load: the document's
            // messages meanwhile wait in the repo.
            Output::ApplyChanges(job) => {
                self.nodes[node].events.push(format!("applying {}", job.document()));
                self.nodes[node].pending.push_back(Input::ChangesApplied(Box::new(job.run())));
            }
            Output::DocumentChanged { doc } => self.nodes[node].events.push(format!("changed {doc}")),
            Output::DocumentUnavailable { doc } => self.nodes[node].events.push(format!("unavailable {doc}")),
            Output::Ephemeral { doc, sender, data } => self.nodes[node]
                .events
                .push(format!("ephemeral {doc} from {sender}: {}", String::from_utf8_lossy(&data))),
            Output::CheckAccess { conn, peer, doc } => {
                let access = self.nodes[node].grants.get(&(peer.to_string(), doc.clone())).copied();
                let access = access.unwrap_or(Access::ReadWrite);
                self.nodes[node].pending.push_back(Input::AccessDecided { conn, doc, access });
            }
        }
    }

    fn link_for_conn(&mut self, node: NodeId, conn: ConnId) -> Option<&mut Link> {
        self.links
            .iter_mut()
            .find(|l| l.up && ((node == RELAY && l.relay_conn == conn) || (node == l.client && l.client_conn == conn)))
    }

    /// Delivers frames and driver inputs until nothing moves. Panics (fails
    /// the test) after `MAX_STEPS`, which means a sync loop.
    /// A message held for a peer's answer that never comes is sent at its
    /// deadline: once nothing else moves, the clock jumps there.
    pub(crate) fn run_until_quiet(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() && !self.release_held() {
                return;
            }
        }
        panic!("no quiescence after {MAX_STEPS} steps: sync loop?");
    }

    /// Moves the clock to the first node holding a message and ticks it
    /// there; whether there was one.
    fn release_held(&mut self) -> bool {
        let held = (0..self.nodes.len()).filter(|n| self.nodes[*n].repo.held_messages() > 0);
        let Some((at, node)) = held.filter_map(|n| Some((self.nodes[n].repo.next_deadline()?, n))).min() else {
            return false;
        };
        self.now = self.now.max(at);
        let outputs = self.nodes[node].repo.handle(self.now, Input::Tick);
        self.carry_out(node, outputs);
        true
    }

    /// Runs at most `n` rounds (a partial delivery, for interleavings).
    pub(crate) fn steps(&mut self, n: usize) {
        for _ in 0..n {
            if !self.step() {
                return;
            }
        }
    }

    /// Carries out a node's own pending driver inputs (loads, decisions), as
    /// a driver would before the user's next action.
    pub(crate) fn settle(&mut self, node: NodeId) {
        while let Some(input) = self.nodes[node].pending.pop_front() {
            self.input(node, input);
        }
    }

    /// One round: one frame per direction per link, then one driver input per
    /// node. Returns whether anything happened.
    fn step(&mut self) -> bool {
        let mut moved = false;
        let mut batch = Vec::new();
        for i in 0..self.links.len() {
            let (client, relay_conn, client_conn) =
                (self.links[i].client, self.links[i].relay_conn, self.links[i].client_conn);
            if self.batch_relay {
                // Everything this client sent so far, in order.
                while let Some(bytes) = self.links[i].to_relay.pop_front() {
                    moved = true;
                    self.record(client, RELAY, &bytes);
                    batch.push(Input::Received { conn: relay_conn, bytes });
                }
            } else if let Some(bytes) = self.links[i].to_relay.pop_front() {
                moved = true;
                self.deliver(client, RELAY, relay_conn, bytes);
            }
            if let Some(bytes) = self.links[i].to_client.pop_front() {
                moved = true;
                self.deliver(RELAY, client, client_conn, bytes);
            }
        }
        if !batch.is_empty() {
            self.now = UnixMillis(self.now.0 + STEP_MS);
            let outputs = self.nodes[RELAY].repo.handle_batch(self.now, batch);
            self.carry_out(RELAY, outputs);
        }
        for node in 0..self.nodes.len() {
            if let Some(input) = self.nodes[node].pending.pop_front() {
                moved = true;
                self.input(node, input);
            }
        }
        moved
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, conn: ConnId, bytes: Vec<u8>) {
        self.record(from, to, &bytes);
        self.input(to, Input::Received { conn, bytes });
    }

    fn record(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) {
        let kind = crate::Message::decode(bytes).map(|m| m.kind().to_owned()).unwrap_or_else(|e| format!("?{e}"));
        self.trace.push((from, to, kind));
        self.bytes_on_wire += bytes.len();
        let mut hasher = std::hash::DefaultHasher::new();
        (self.wire_digest, from, to, bytes).hash(&mut hasher);
        self.wire_digest = hasher.finish();
    }

    /// A document id from a short name, stable across runs.
    pub(crate) fn doc_id(name: &str) -> DocumentId {
        let mut bytes = [0u8; 16];
        for (i, b) in name.bytes().enumerate().take(16) {
            bytes[i] = b;
        }
        DocumentId::from_bytes(&bytes).expect("16 bytes")
    }

    /// Creates a document on a client, opened there.
    pub(crate) fn create(&mut self, node: NodeId, doc: &str) -> DocumentId {
        let id = Sim::doc_id(doc);
        let now = self.now;
        let (id2, outputs) = self.nodes[node].repo.create_document(now, &id.to_bytes()).expect("new document");
        assert_eq!(id, id2);
        self.nodes[node].open.insert(id.clone());
        self.carry_out(node, outputs);
        id
    }

    /// Creates a territory document on a client, opened there.
    pub(crate) fn create_territory(&mut self, node: NodeId, doc: &str) -> DocumentId {
        let id = Sim::doc_id(doc);
        let now = self.now;
        let profil = crate::agenda::Profil { nom: "Territoire d'essai".into(), ..Default::default() };
        let auteur = self.nodes[node].name.clone();
        let (_, outputs) = self.nodes[node].repo.create_territory(now, &id.to_bytes(), &auteur, profil).expect("new");
        self.nodes[node].open.insert(id.clone());
        self.carry_out(node, outputs);
        id
    }

    pub(crate) fn open(&mut self, node: NodeId, doc: &DocumentId) {
        self.nodes[node].open.insert(doc.clone());
        self.input(node, Input::Open { doc: doc.clone() });
    }

    /// Sets a root key (a scalar) in a loaded document.
    pub(crate) fn put(&mut self, node: NodeId, doc: &DocumentId, key: &str, value: &str) {
        use automerge::transaction::Transactable;
        let now = self.now;
        let outputs = self.nodes[node]
            .repo
            .change_document(now, doc, |tx| tx.put(ROOT, key, value).map(|_| ()))
            .expect("document loaded");
        self.carry_out(node, outputs);
    }

    /// Applies an agenda edit (JSON) as the node's user; carries out the
    /// outputs when it is valid.
    pub(crate) fn edit(&mut self, node: NodeId, doc: &DocumentId, json: &str) -> Result<(), crate::ApplyError> {
        let edit: crate::agenda::Edit = serde_json::from_str(json).unwrap_or_else(|e| panic!("bad edit {json}: {e}"));
        let now = self.now;
        let auteur = self.nodes[node].name.clone();
        let outputs = self.nodes[node].repo.apply(now, doc, &auteur, edit)?;
        self.carry_out(node, outputs);
        Ok(())
    }

    pub(crate) fn heads(&self, node: NodeId, doc: &DocumentId) -> Option<Vec<automerge::ChangeHash>> {
        self.nodes[node].repo.document(doc).map(|d| d.get_heads())
    }

    /// Frames sent by one node to another, by message type.
    pub(crate) fn kinds(&self, from: NodeId, to: NodeId) -> Vec<String> {
        self.trace.iter().filter(|(f, t, _)| *f == from && *t == to).map(|(_, _, k)| k.clone()).collect()
    }
}
