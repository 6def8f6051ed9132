//! The relay targets: a relay [`Repo`] fed arbitrary frames after a valid
//! handshake, driven the way the server's hub drives it.
//!
//! [`Relay`] is a minimal driver: in-memory storage (writes applied
//! atomically, loads answered from it), access decisions answered at once
//! (the fuzzed peer gets the access its input asks for, an observer peer
//! is read-only), the clock advanced only by the input. Each execution
//! starts a new relay, connects an observer that requested the stored
//! territory (so that relaying and ephemeral forwarding have someone to go
//! to), then connects the fuzzed peer with a valid `join` and plays its
//! input.
//!
//! Input format, a sequence of steps: `[op] [len: u16 little-endian]
//! [len bytes]` (the last step takes what is left if it is short). By
//! `op % 4`: 0, a frame handled alone ([`Repo::handle`]); 1, a frame
//! batched with the following op-1 frames ([`Repo::handle_batch`], as the
//! hub does under load); 2, a tick `len` seconds later (no bytes); 3, the
//! peer disconnects and joins again on a new connection (no bytes). In
//! `repo_territory` the first input byte chooses the peer's access: even,
//! read-write (an organiser); odd, read-only (a resident).
//!
//! Oracles besides "no panic": every frame the relay sends decodes, and
//! the relay settles (no endless loop of loads and decisions).
//!
//! Does not: open sockets, read a clock, or model the server's transport
//! limits (frame size, queues), which live in `server`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::OnceLock;

use sync_core::automerge::ActorId;
use sync_core::{
    Access, AccessPolicy, Config, ConnId, Direction, DocumentId, Input, Message, Output, PROTOCOL_VERSION, PeerId,
    PeerMetadata, Repo, StorageId, StorageKey, UnixMillis,
};

use crate::MAX_INPUT_BYTES;

/// The relay's peer id: the server's in the wire fixtures, so that their
/// frames target it.
pub const RELAY_PEER: &str = "server-fixture";
/// The fuzzed peer's id: the client's in the wire fixtures.
pub const CLIENT_PEER: &str = "client-fixture";
/// The observer's id.
pub const OBSERVER_PEER: &str = "fuzz-observer";

/// The credential (invitation) of the fuzzed peer's connections.
const FUZZED_PRINCIPAL: &str = "fuzzed-invitation";
/// The observer's credential: another invitation, so the fuzzed peer cannot
/// take its peer id.
const OBSERVER_PRINCIPAL: &str = "observer-invitation";

/// Start of every execution's clock: 2026-03-02 09:00 UTC.
pub const START: UnixMillis = UnixMillis(1_772_442_000_000);

/// Inputs fed to the relay per step before it is declared stuck: far above
/// what one frame can cause (a load and a decision per document).
const MAX_SETTLE_INPUTS: usize = 100_000;

/// Connections the fuzzed peer may open in one execution (step 3).
const MAX_RECONNECTS: usize = 64;

/// The fuzzed peer's storage id, announced in its `join` (so its sync
/// states are persisted, as a browser's are).
pub fn client_storage_id() -> StorageId {
    StorageId::from_random([0xc1; 16])
}

/// The relay's storage id, stored before it starts.
pub fn relay_storage_id() -> StorageId {
    StorageId::from_random([0x5e; 16])
}

/// The relay's configuration: the server's (sync-core's defaults, access
/// asked of the driver, large messages applied through jobs, run here in
/// turn with the other driver inputs), with fixed ids.
pub fn relay_config() -> Config {
    let mut config = Config::new(peer(RELAY_PEER), ActorId::from(&[0x5e; 16][..]), "fuzz-relay".to_owned());
    config.access = AccessPolicy::AskDriver;
    config.offload_changes_above_ops = Some(sync_core::DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS);
    config
}

fn peer(name: &str) -> PeerId {
    // The names above are valid peer ids; the fallback is never taken.
    name.parse().unwrap_or_else(|_| unreachable!("constant peer ids are valid"))
}

/// A relay repo and its driver's state.
pub struct Relay {
    repo: Repo,
    now: UnixMillis,
    storage: BTreeMap<StorageKey, Vec<u8>>,
    /// Access given to connections other than the observer's.
    access: Access,
    /// The observer's connection, read-only.
    observer: Option<ConnId>,
    /// Connections the repo closed (or the driver closed).
    closed: Vec<ConnId>,
    next_conn: u64,
    /// Frames the relay sent, per connection, not yet taken.
    sent: BTreeMap<ConnId, Vec<Vec<u8>>>,
    pending: VecDeque<Input>,
}

impl Relay {
    /// Starts a relay on `storage` (the storage id is added), giving
    /// `access` to every peer but the observer.
    pub fn start(mut storage: BTreeMap<StorageKey, Vec<u8>>, access: Access) -> Relay {
        storage.insert(StorageKey::storage_id(), relay_storage_id().as_str().as_bytes().to_vec());
        let stored = storage.get(&StorageKey::storage_id()).cloned();
        let (repo, outputs) = match Repo::start(relay_config(), stored.as_deref(), [0x5e; 16]) {
            Ok(started) => started,
            Err(error) => panic!("a relay starts on a valid storage id: {error}"),
        };
        let mut relay = Relay {
            repo,
            now: START,
            storage,
            access,
            observer: None,
            closed: Vec::new(),
            next_conn: 1,
            sent: BTreeMap::new(),
            pending: VecDeque::new(),
        };
        relay.carry_out(outputs);
        relay
    }

    /// The relay's storage, as its driver holds it.
    pub fn storage(&self) -> &BTreeMap<StorageKey, Vec<u8>> {
        &self.storage
    }

    /// The current time of the relay's clock.
    pub fn now(&self) -> UnixMillis {
        self.now
    }

    /// A peer dialled in: a new inbound connection (no frame yet).
    pub fn accept(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.feed(Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
        // As the hub does: who the connection acts for, before any frame.
        // Every connection of the fuzzed peer holds the same invitation,
        // so its reconnections replace each other.
        self.feed(Input::Principal { conn, credentials: [FUZZED_PRINCIPAL.to_owned()].into() });
        conn
    }

    /// Marks `conn` as the observer's: read-only access, its own invitation
    /// (call before its `join`).
    pub fn set_observer(&mut self, conn: ConnId) {
        self.observer = Some(conn);
        self.feed(Input::Principal { conn, credentials: [OBSERVER_PRINCIPAL.to_owned()].into() });
    }

    /// A frame arrived on `conn`.
    pub fn receive(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.feed(Input::Received { conn, bytes });
    }

    /// Frames arrived together on `conn`: one batch, as the hub takes them.
    pub fn receive_batch(&mut self, conn: ConnId, frames: Vec<Vec<u8>>) {
        let inputs = frames.into_iter().map(|bytes| Input::Received { conn, bytes }).collect();
        let outputs = self.repo.handle_batch(self.now, inputs);
        self.carry_out(outputs);
        self.settle();
    }

    /// The connection closed from the peer's side.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.feed(Input::Disconnected { conn });
    }

    /// Time passes by `ms`; the relay is ticked if a deadline passed.
    pub fn advance(&mut self, ms: u64) {
        self.now = UnixMillis(self.now.0.saturating_add(ms));
        if self.repo.next_deadline().is_some_and(|deadline| deadline <= self.now) {
            self.feed(Input::Tick);
        }
    }

    /// Whether the relay closed `conn`.
    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.closed.contains(&conn)
    }

    /// Takes the frames the relay sent on `conn` so far.
    pub fn take_sent(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
        self.sent.remove(&conn).unwrap_or_default()
    }

    fn feed(&mut self, input: Input) {
        let outputs = self.repo.handle(self.now, input);
        self.carry_out(outputs);
        self.settle();
    }

    /// Answers loads and access questions until the relay asks nothing.
    fn settle(&mut self) {
        let mut fed = 0;
        while let Some(input) = self.pending.pop_front() {
            fed += 1;
            assert!(fed <= MAX_SETTLE_INPUTS, "the relay does not settle: {fed} loads and decisions for one step");
            let outputs = self.repo.handle(self.now, input);
            self.carry_out(outputs);
        }
    }

    fn carry_out(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { conn, bytes } => {
                    let bytes = bytes.into_vec();
                    if let Err(error) = Message::decode(&bytes) {
                        panic!("the relay sent a frame it cannot decode ({error}): {bytes:02x?}");
                    }
                    self.sent.entry(conn).or_default().push(bytes);
                }
                Output::Close { conn, .. } => self.closed.push(conn),
                Output::Load { doc } => {
                    let prefix = StorageKey::document_prefix(&doc);
                    let entries = self
                        .storage
                        .range(prefix.clone()..)
                        .take_while(|(key, _)| key.starts_with(&prefix))
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect();
                    self.pending.push_back(Input::Loaded { doc, entries });
                }
                Output::ApplyChanges(job) => self.pending.push_back(Input::ChangesApplied(Box::new(job.run()))),
                Output::Write(write) => {
                    for key in write.delete {
                        self.storage.remove(&key);
                    }
                    for (key, value) in write.put {
                        self.storage.insert(key, value);
                    }
                }
                Output::CheckAccess { conn, doc, .. } => {
                    let access = if Some(conn) == self.observer { Access::ReadOnly } else { self.access };
                    self.pending.push_back(Input::AccessDecided { conn, doc, access });
                }
                Output::DocumentChanged { .. } | Output::DocumentUnavailable { .. } | Output::Ephemeral { .. } => {}
            }
        }
    }
}

/// The `join` the fuzzed peer sends: the client of the wire fixtures, with
/// a storage id.
pub fn client_join() -> Vec<u8> {
    Message::Join {
        sender: peer(CLIENT_PEER),
        metadata: PeerMetadata { storage_id: Some(client_storage_id()), is_ephemeral: false },
        supported_versions: Some(vec![PROTOCOL_VERSION.to_owned()]),
    }
    .encode()
}

/// One step of a relay target's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A frame handled alone.
    Frame(Vec<u8>),
    /// A frame batched with the following `Batched` frames.
    Batched(Vec<u8>),
    /// A tick this many seconds later.
    Tick(u16),
    /// Disconnect and join again.
    Reconnect,
}

/// Encodes steps in the input format (frames over 64 KiB are cut).
pub fn encode_steps(steps: &[Step]) -> Vec<u8> {
    let mut out = Vec::new();
    for step in steps {
        let (op, len, bytes): (u8, u16, &[u8]) = match step {
            Step::Frame(bytes) => (0, 0, bytes),
            Step::Batched(bytes) => (1, 0, bytes),
            Step::Tick(seconds) => (2, *seconds, &[]),
            Step::Reconnect => (3, 0, &[]),
        };
        let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
        let len = if bytes.is_empty() { len } else { u16::try_from(bytes.len()).unwrap_or(u16::MAX) };
        out.push(op);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Decodes the input format; never fails (a short last step takes what is
/// left).
pub fn decode_steps(mut data: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    while let Some((&op, rest)) = data.split_first() {
        let len = match rest {
            [lo, hi, ..] => usize::from(u16::from_le_bytes([*lo, *hi])),
            [lo] => usize::from(*lo),
            [] => 0,
        };
        let rest = rest.get(2..).unwrap_or_default();
        let step = match op % 4 {
            0 | 1 => {
                let (bytes, after) = rest.split_at(len.min(rest.len()));
                data = after;
                if op % 4 == 0 { Step::Frame(bytes.to_vec()) } else { Step::Batched(bytes.to_vec()) }
            }
            2 => {
                data = rest;
                Step::Tick(u16::try_from(len).unwrap_or(u16::MAX))
            }
            _ => {
                data = rest;
                Step::Reconnect
            }
        };
        steps.push(step);
    }
    steps
}

/// What a relay target starts from.
struct Setup {
    storage: BTreeMap<StorageKey, Vec<u8>>,
    /// The observer's frames after its `join` (a request for the territory).
    observer_frames: Vec<Vec<u8>>,
    observer_join: Vec<u8>,
}

/// The territory relay's setup, computed once per process.
fn territory_setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let territory = crate::seeds::territory_storage();
        let (observer_join, observer_frames) = crate::seeds::observer_frames(&territory);
        Setup { storage: territory, observer_frames, observer_join }
    })
}

/// The empty relay's setup: the same observer, nothing stored.
fn empty_setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let (observer_join, observer_frames) = crate::seeds::observer_frames(&BTreeMap::new());
        Setup { storage: BTreeMap::new(), observer_frames, observer_join }
    })
}

/// Target `repo_empty`: a relay with nothing stored, a read-write peer.
pub fn repo_empty(data: &[u8]) {
    if data.len() > MAX_INPUT_BYTES {
        return;
    }
    play(empty_setup(), Access::ReadWrite, data);
}

/// Target `repo_territory`: a relay with a territory stored; the first
/// byte chooses a read-write (even) or read-only (odd) peer.
pub fn repo_territory(data: &[u8]) {
    if data.len() > MAX_INPUT_BYTES {
        return;
    }
    let Some((&mode, steps)) = data.split_first() else { return };
    let access = if mode % 2 == 0 { Access::ReadWrite } else { Access::ReadOnly };
    play(territory_setup(), access, steps);
}

/// The document the observer asks for, and the stored territory's id.
pub fn territory_id() -> DocumentId {
    crate::seeds::territory_id()
}

fn play(setup: &Setup, access: Access, data: &[u8]) {
    let mut relay = Relay::start(setup.storage.clone(), access);
    let observer = relay.accept();
    relay.set_observer(observer);
    relay.receive(observer, setup.observer_join.clone());
    for frame in &setup.observer_frames {
        relay.receive(observer, frame.clone());
    }
    let mut conn = relay.accept();
    relay.receive(conn, client_join());
    let mut reconnects = 0;
    let mut batch: Vec<Vec<u8>> = Vec::new();
    for step in decode_steps(data) {
        if !matches!(step, Step::Batched(_)) && !batch.is_empty() {
            relay.receive_batch(conn, std::mem::take(&mut batch));
        }
        match step {
            Step::Frame(bytes) => relay.receive(conn, bytes),
            Step::Batched(bytes) => batch.push(bytes),
            Step::Tick(seconds) => relay.advance(u64::from(seconds) * 1000),
            Step::Reconnect => {
                if reconnects == MAX_RECONNECTS {
                    continue;
                }
                reconnects += 1;
                if !relay.is_closed(conn) {
                    relay.disconnect(conn);
                }
                conn = relay.accept();
                relay.receive(conn, client_join());
            }
        }
        // Nobody reads what the relay sends to the fuzzed peer.
        relay.take_sent(conn);
        relay.take_sent(observer);
    }
    if !batch.is_empty() {
        relay.receive_batch(conn, batch);
    }
}
