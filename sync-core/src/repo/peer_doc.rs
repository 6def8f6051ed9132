//! One (connection, document) pair ([`PeerDoc`]): the peer's access to the
//! document as the driver decided it, what it said it has, its Automerge
//! sync state (taken up from storage, persisted when its shared heads
//! move), and the sync messages generated for it and received from it;
//! `request` versus `sync` and `doc-unavailable`. It does not load or store
//! documents (`document.rs`) nor run the handshake (`connection.rs`).

use automerge::sync::{self, SyncDoc};
use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};

use super::connection::ConnPhase;
use super::document::{Busy, DocPhase, check_document_growth};
use super::timers::Timer;
use super::{Access, AccessPolicy, CloseReason, ConnId, Output, Repo, UnixMillis};
use crate::changes_job::{ChangesJob, receive_changes_contained};
use crate::ids::{DocumentId, PeerId};
use crate::limits;
use crate::wire::{EphemeralMessage, Frame, Message, SyncFrame, Target};

/// What we know of one (connection, document) pair.
#[derive(Debug)]
pub(super) struct PeerDoc {
    pub(super) access: AccessState,
    /// Created when the document is loaded, from the persisted state when the
    /// peer has a storage id.
    pub(super) sync: Option<sync::State>,
    pub(super) status: PeerStatus,
    /// Shared heads last written to storage, to write only when they move.
    pub(super) persisted_heads: Vec<ChangeHash>,
    /// The peer requested a document we lack while another peer had it:
    /// it is owed an answer (`sync` once the changes arrive, or
    /// `doc-unavailable` if that peer leaves first).
    pub(super) awaiting_answer: bool,
    /// Access was granted while the document was not in memory: sync the
    /// peer once it is loaded.
    pub(super) sync_when_loaded: bool,
    /// We sent the peer changes and it has not answered yet: until this
    /// time at most, its next message waits ([`Config::hold_for_answer_ms`]),
    /// and a `Timer::HeldMessage` armed at this time says one is waiting.
    pub(super) answer_due: Option<UnixMillis>,
}

impl PeerDoc {
    /// A pair on first contact: nothing known, nothing shared yet.
    pub(super) fn new(access: AccessState) -> PeerDoc {
        PeerDoc {
            access,
            sync: None,
            status: PeerStatus::Unknown,
            persisted_heads: Vec::new(),
            awaiting_answer: false,
            sync_when_loaded: false,
            answer_due: None,
        }
    }

    /// The driver let the peer see the document (read-only or read-write).
    pub(super) fn may_read(&self) -> bool {
        matches!(self.access, AccessState::Decided(Access::ReadOnly | Access::ReadWrite))
    }

    /// The driver let the peer write the document: its changes are applied.
    fn may_write(&self) -> bool {
        matches!(self.access, AccessState::Decided(Access::ReadWrite))
    }

    /// Gives the pair its sync state if it may read and has none yet: the
    /// persisted one `stored` returns (called only then), else a fresh one;
    /// read-only if its access is.
    fn ensure_sync(&mut self, stored: impl FnOnce() -> Option<sync::State>) {
        if self.sync.is_some() || !self.may_read() {
            return;
        }
        let mut sync = stored().unwrap_or_default();
        self.persisted_heads = sync.shared_heads.clone();
        sync.set_read_only(matches!(self.access, AccessState::Decided(Access::ReadOnly)));
        self.sync = Some(sync);
    }

    /// What a `request` or `sync` from the peer says of it: it wants the
    /// document, or it has it. A read-only peer's changes are ignored, so
    /// its having the document does not mean we will get it.
    fn note_message(&mut self, is_request: bool, their_heads_empty: bool) {
        if is_request {
            self.status = PeerStatus::Wants;
        } else if !their_heads_empty && self.may_write() {
            self.status = PeerStatus::Has;
        }
    }

    /// Applies the peer's sync message to `am` through the pair's sync
    /// state; a writer's changes under `catch_unwind` (`changes_job.rs`).
    ///
    /// With `fast`, a message that brings nothing and whose heads are the
    /// document's (`heads`), a reader's acknowledgement, goes through
    /// [`receive_in_sync`] instead of Automerge.
    fn receive(
        &mut self,
        am: &mut Automerge,
        message: sync::Message,
        heads: &[ChangeHash],
        fast: bool,
    ) -> Result<(), String> {
        let Some(sync) = self.sync.as_mut() else { return Ok(()) };
        let received = if fast && message.changes.is_empty() && message.heads == heads {
            #[cfg(test)]
            let expected = {
                let mut state = sync.clone();
                am.receive_sync_message(&mut state, message.clone()).map(|()| state).map_err(|e| e.to_string())
            };
            receive_in_sync(sync, message);
            #[cfg(test)]
            assert_eq!(Ok(&*sync), expected.as_ref(), "receive_in_sync differs from Automerge");
            Ok(())
        } else if sync.read_only || message.changes.is_empty() {
            am.receive_sync_message(sync, message).map_err(|e| e.to_string())
        } else {
            receive_changes_contained(am, sync, message)
        };
        // Automerge empties the set of changes sent once the peer has them,
        // but an emptied B-tree keeps its first node (about 370 bytes): an
        // idle peer in sync keeps none.
        if sync.sent_hashes.is_empty() {
            sync.sent_hashes = Default::default();
        }
        received
    }

    /// The next sync message for the peer, if one is due, from `sender`
    /// (this repo) about `doc`.
    fn generate(&mut self, am: &Automerge, sender: &PeerId, doc: &DocumentId) -> Option<Outgoing> {
        if !self.may_read() {
            return None;
        }
        let sync = self.sync.as_mut()?;
        let message = am.generate_sync_message(sync)?;
        self.awaiting_answer = false;
        let is_request =
            am.get_heads().is_empty() && sync.shared_heads.is_empty() && self.status == PeerStatus::Unknown;
        let carries_changes = !message.changes.is_empty();
        Some(Outgoing { carries_changes, frame: SyncFrame::new(is_request, sender, doc, &message.encode()) })
    }

    /// The sync state to persist, encoded, when its shared heads moved since
    /// last written and the peer may write the document. A reader's state
    /// is never persisted: anyone holding a resident link could otherwise
    /// leave a row per storage id it makes up, loaded with every load of
    /// the document.
    fn sync_state_to_persist(&mut self) -> Option<Vec<u8>> {
        if !self.may_write() {
            return None;
        }
        let sync = self.sync.as_ref()?;
        if sync.shared_heads == self.persisted_heads {
            return None;
        }
        self.persisted_heads = sync.shared_heads.clone();
        Some(sync.encode())
    }

    /// Starts the pair over under a new access; returns whether the peer's
    /// answer was awaited (a held message's timer is then the caller's to
    /// disarm).
    fn restart(&mut self) -> bool {
        self.sync = None;
        self.status = PeerStatus::Unknown;
        self.answer_due.take().is_some()
    }
}

/// A sync message generated for a peer, encoded but for its target: a
/// `request` ("I do not have it": nothing here, nothing shared, and the
/// peer has not told us anything yet) or a `sync`.
#[derive(Debug)]
pub(super) struct Outgoing {
    /// It brings the peer changes, so the peer will answer once it has
    /// applied them (unless it had them all).
    carries_changes: bool,
    frame: SyncFrame,
}

impl Outgoing {
    fn to(&self, target: &Target) -> ToSend {
        ToSend { carries_changes: self.carries_changes, bytes: self.frame.to(target) }
    }
}

/// A sync message for one peer, ready to send.
struct ToSend {
    carries_changes: bool,
    bytes: Frame,
}

#[derive(Debug)]
pub(super) enum AccessState {
    /// Waiting for the driver; the peer's messages wait, in order.
    Pending(Vec<DocEvent>),
    Decided(Access),
}

/// A document message from a peer, validated: what waits in the queues.
#[derive(Debug)]
pub(super) enum DocEvent {
    /// `request` (`is_request`) or `sync`, its payload already decoded and
    /// its changes measured.
    Sync {
        is_request: bool,
        message: sync::Message,
        expansion: limits::Expansion,
    },
    Unavailable,
    Ephemeral(EphemeralMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PeerStatus {
    Unknown,
    Wants,
    Has,
    Unavailable,
}

/// Most sync states a [`FanOut`] remembers per document: peers in the same
/// state are the common case (readers in sync); past this many distinct
/// states the rest are generated one by one.
const FAN_OUT_STATES_PER_DOCUMENT: usize = 16;

/// Sync messages generated while no document changes (one relay of a change
/// to every peer, or the end of a batch), remembered by the sync state and
/// request status they were generated from. Automerge's
/// `generate_sync_message` is a function of the document and the sync
/// state alone, so a peer in a state already seen gets the same message
/// bytes and the same next state without a second Bloom filter and change
/// search: readers in sync cost one generation per change, not one each.
/// Dropped as soon as the run ends, so it never outlives the documents it
/// was built from.
#[derive(Debug, Default)]
pub(super) struct FanOut {
    /// Per document, at most [`FAN_OUT_STATES_PER_DOCUMENT`], searched in
    /// order: comparing states is cheaper than hashing them, and the first
    /// is the common case.
    built: HashMap<DocumentId, Vec<Generated>>,
    counts: SyncMessageCounts,
}

/// What one generation did: from which sync state and request status, the
/// sync state after it, and the message.
#[derive(Debug)]
struct Generated {
    /// The peer had told us nothing yet (`PeerStatus::Unknown`, which can
    /// make the message a `request`).
    unknown: bool,
    before: sync::State,
    after: sync::State,
    message: Option<Outgoing>,
}

impl FanOut {
    /// [`PeerDoc::generate`] addressed to `target`, or what it returned for
    /// a peer in the same state during this run.
    fn generate(
        &mut self,
        doc: &DocumentId,
        pair: &mut PeerDoc,
        am: &Automerge,
        sender: &PeerId,
        target: &Target,
    ) -> Option<ToSend> {
        let Some(before) = pair.sync.as_ref().filter(|_| pair.may_read()) else {
            return pair.generate(am, sender, doc).map(|outgoing| outgoing.to(target));
        };
        let unknown = pair.status == PeerStatus::Unknown;
        let seen =
            self.built.get(doc).and_then(|built| built.iter().find(|g| g.unknown == unknown && g.before == *before));
        if let Some(seen) = seen {
            self.counts.shared += 1;
            if let Some(sync) = pair.sync.as_mut() {
                assign(sync, &seen.after);
            }
            let message = seen.message.as_ref().map(|outgoing| outgoing.to(target));
            if message.is_some() {
                pair.awaiting_answer = false;
            }
            return message;
        }
        self.counts.generated += 1;
        let before = before.clone();
        let message = pair.generate(am, sender, doc);
        let to_send = message.as_ref().map(|outgoing| outgoing.to(target));
        let built = match self.built.get_mut(doc) {
            Some(built) => built,
            None => self.built.entry(doc.clone()).or_default(),
        };
        if let Some(after) = pair.sync.clone().filter(|_| built.len() < FAN_OUT_STATES_PER_DOCUMENT) {
            built.push(Generated { unknown, before, after, message });
        }
        to_send
    }
}

/// `*to = from.clone()`, reusing what `to` already holds: a reader takes
/// the state after of a reader before it in the same state without
/// allocating every field anew. Every field is named, so one that
/// Automerge adds fails to compile here rather than go uncopied.
fn assign(to: &mut sync::State, from: &sync::State) {
    let sync::State {
        shared_heads,
        last_sent_heads,
        their_heads,
        their_need,
        their_have,
        sent_hashes,
        in_flight,
        have_responded,
        their_capabilities,
        read_only,
        peer_read_only,
        needs_reset,
    } = from;
    to.shared_heads.clone_from(shared_heads);
    to.last_sent_heads.clone_from(last_sent_heads);
    to.their_heads.clone_from(their_heads);
    to.their_need.clone_from(their_need);
    to.their_have.clone_from(their_have);
    to.sent_hashes.clone_from(sent_hashes);
    to.in_flight = *in_flight;
    to.have_responded = *have_responded;
    to.their_capabilities.clone_from(their_capabilities);
    to.read_only = *read_only;
    to.peer_read_only = *peer_read_only;
    to.needs_reset = *needs_reset;
    #[cfg(test)]
    assert_eq!(to, from, "assign copies every field");
}

/// Automerge's `receive_sync_message` for a message that brings no changes
/// and whose heads are the document's own (the peer has everything we
/// have): the same state after, without the walk over the document's
/// whole history that Automerge takes to trim the changes sent
/// (`filter_changes`, once per acknowledgement, so a reader's ack cost grew
/// with the territory's age). Every change sent is one of the document's,
/// so an ancestor of those heads: none is left. In tests, each call is
/// checked against Automerge's own ([`PeerDoc::receive`]).
fn receive_in_sync(sync: &mut sync::State, message: sync::Message) {
    sync.in_flight = false;
    if let Some(flags) = message.flags {
        let mut capabilities = vec![sync::Capability::MessageV2];
        if flags.contains(sync::MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(sync::Capability::SyncReset);
        }
        sync.their_capabilities = Some(capabilities);
        sync.peer_read_only = flags.contains(sync::MessageFlags::READ_ONLY);
    }
    sync.sent_hashes = Default::default();
    sync.last_sent_heads.clone_from(&message.heads);
    sync.shared_heads.clone_from(&message.heads);
    sync.their_have = Some(message.have);
    sync.their_heads = Some(message.heads);
    sync.their_need = Some(message.need);
}

/// Whether Automerge would generate nothing for a peer in this state: we
/// told it our `heads`, it answered with the same heads, needing nothing,
/// and every summary of what it has starts at those heads (so no change is
/// after them). A cheap, exact subset of `generate_sync_message`'s own
/// "nothing to say" test, which builds a Bloom filter and searches the
/// change graph first: it is what each reader's acknowledgement of a
/// relayed change leaves.
fn in_sync_at(sync: &sync::State, heads: &[ChangeHash]) -> bool {
    sync.have_responded
        && sync.last_sent_heads == heads
        && sync.their_heads.as_deref() == Some(heads)
        && sync.their_need.as_ref().is_none_or(Vec::is_empty)
        && sync.their_have.as_ref().is_none_or(|haves| haves.iter().all(|have| have.last_sync == heads))
}

/// How many sync messages the repo generated with Automerge and how many
/// it shared from a peer in the same state ([`FanOut`]), since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncMessageCounts {
    /// Messages Automerge generated (including "nothing to send").
    pub generated: u64,
    /// Messages and next states copied from a peer in the same state.
    pub shared: u64,
}

impl Repo {
    /// Tells requesters still owed an answer that the document is
    /// unavailable, once no peer that has it is left.
    pub(super) fn answer_waiting_requesters(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.is_empty(doc) || self.a_peer_has(doc, None) {
            return;
        }
        let Some(conns) = self.doc_conns.get(doc).cloned() else { return };
        for conn in conns {
            let owed = self.peer_doc(conn, doc).is_some_and(|p| std::mem::take(&mut p.awaiting_answer));
            if owed {
                self.send_unavailable(conn, doc, out);
            }
        }
    }

    /// The decided access of a (connection, document) pair, creating the
    /// pair on first contact. `None` while the driver has not decided.
    pub(super) fn peer_doc_access(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) -> Option<Access> {
        let policy = self.config.access;
        let state = self.conns.get_mut(&conn)?;
        let ConnPhase::Ready { peer, .. } = &state.phase else { return None };
        let mut created = false;
        let entry = state.docs.get_or_insert_with(doc, || {
            created = true;
            let access = match policy {
                AccessPolicy::AllowAll => AccessState::Decided(Access::ReadWrite),
                AccessPolicy::AskDriver => {
                    out.push(Output::CheckAccess { conn, peer: peer.clone(), doc: doc.clone() });
                    AccessState::Pending(Vec::new())
                }
            };
            PeerDoc::new(access)
        });
        let access = match entry.access {
            AccessState::Decided(access) => Some(access),
            AccessState::Pending(_) => None,
        };
        if created {
            self.doc_conns.entry(doc.clone()).or_default().insert(conn);
        }
        access
    }

    pub(super) fn peer_doc(&mut self, conn: ConnId, doc: &DocumentId) -> Option<&mut PeerDoc> {
        self.conns.get_mut(&conn)?.docs.get_mut(doc)
    }

    pub(super) fn on_sync(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        message: sync::Message,
        expansion: &limits::Expansion,
        is_request: bool,
        out: &mut Vec<Output>,
    ) {
        self.answered(conn, doc);
        let their_heads_empty = message.heads.is_empty();
        self.ensure_sync_state(conn, doc);
        let (Some(pair), Some(DocPhase::Ready(ready))) =
            (self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(doc)), self.docs.get_mut(doc).map(|d| &mut d.phase))
        else {
            return;
        };
        pair.note_message(is_request, their_heads_empty);
        let Some(sync) = pair.sync.as_ref() else { return };
        let incoming: usize = message.changes.iter().map(<[u8]>::len).sum();
        let would_be = ready.on_disk.stored_bytes().saturating_add(incoming);
        if incoming > 0 && would_be > self.config.max_document_bytes {
            let max = self.config.max_document_bytes;
            return self.fail(conn, CloseReason::DocumentTooLarge { doc: doc.clone(), would_be, max }, out);
        }
        // Automerge ignores a read-only peer's changes: they cost nothing.
        let waiting = if sync.read_only {
            Vec::new()
        } else {
            match check_document_growth(doc, ready, expansion, &self.config) {
                Ok(waiting) => waiting,
                Err(reason) => return self.fail(conn, reason, out),
            }
        };
        let offload = self.config.offload_changes_above_ops.is_some_and(|above| expansion.ops > above);
        if offload && !sync.read_only {
            self.last_job += 1;
            let job = ChangesJob {
                id: self.last_job,
                doc: doc.clone(),
                conn,
                am: ready.am.clone(),
                sync: sync.clone(),
                message,
                on_disk: self.config.persistent.then(|| ready.on_disk.clone()),
            };
            ready.busy = Some(Busy { job: job.id, waiting, queue: Vec::new() });
            out.push(Output::ApplyChanges(Box::new(job)));
            return;
        }
        let before = ready.am.get_heads();
        if let Err(e) = pair.receive(&mut ready.am, message, &before, self.config.fast_fan_out) {
            return self.fail(conn, CloseReason::BadSyncMessage(e), out);
        }
        ready.confirm_waiting(waiting);
        let changed = ready.am.get_heads() != before;
        if changed {
            self.persist_document(doc, out);
        }
        self.persist_sync_state(conn, doc, out);
        if changed {
            self.sync_all_peers(doc, Some(conn), out);
            out.push(Output::DocumentChanged { doc: doc.clone() });
        }
        // Neither side has the document: say so, unless another peer has
        // advertised it and its changes are on their way.
        if self.is_empty(doc) && their_heads_empty {
            if is_request && !self.a_peer_has(doc, Some(conn)) {
                self.send_unavailable(conn, doc, out);
            } else if let Some(pair) = self.peer_doc(conn, doc) {
                pair.awaiting_answer = is_request;
            }
            return;
        }
        self.sync_peer(conn, doc, out);
    }

    pub(super) fn on_unavailable(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        self.answered(conn, doc);
        if let Some(state) = self.peer_doc(conn, doc) {
            state.status = PeerStatus::Unavailable;
        }
        self.answer_waiting_requesters(doc, out);
        let locally_open = self.docs.get(doc).is_some_and(|d| d.locally_open);
        let nobody_has = self.doc_conns.get(doc).is_none_or(|conns| {
            conns.iter().all(|c| {
                let status = self.conns.get(c).and_then(|s| s.docs.get(doc)).map(|p| p.status);
                status == Some(PeerStatus::Unavailable)
            })
        });
        if locally_open && self.is_empty(doc) && nobody_has {
            out.push(Output::DocumentUnavailable { doc: doc.clone() });
        }
    }

    pub(super) fn is_empty(&self, doc: &DocumentId) -> bool {
        match self.docs.get(doc).map(|d| &d.phase) {
            Some(DocPhase::Ready(ready)) => ready.am.get_heads().is_empty(),
            _ => true,
        }
    }

    /// Whether a writer peer (other than `except`) has the document.
    pub(super) fn a_peer_has(&self, doc: &DocumentId, except: Option<ConnId>) -> bool {
        self.doc_conns.get(doc).is_some_and(|conns| {
            conns.iter().filter(|c| Some(**c) != except).any(|c| {
                let status = self.conns.get(c).and_then(|s| s.docs.get(doc)).map(|p| p.status);
                status == Some(PeerStatus::Has)
            })
        })
    }

    pub(super) fn send_unavailable(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        let Some(ConnPhase::Ready { peer, .. }) = self.conns.get(&conn).map(|c| &c.phase) else { return };
        let message = Message::DocUnavailable {
            sender: self.config.peer_id.clone(),
            target: peer.clone(),
            document: doc.clone(),
        };
        out.push(Output::Send { conn, bytes: message.encode().into() });
    }

    /// Creates the pair's sync state if needed, once the document is
    /// loaded: the one persisted for the peer's durable store, if any
    /// (taking it up counts as using it), otherwise a fresh one.
    pub(super) fn ensure_sync_state(&mut self, conn: ConnId, doc: &DocumentId) {
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let store = state.durable_store();
        let Some(pair) = state.docs.get_mut(doc) else { return };
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        let clock = self.clock;
        pair.ensure_sync(|| ready.take_up_sync_state(&store?, clock));
    }

    /// Writes the pair's sync state when its shared heads moved
    /// ([`PeerDoc::sync_state_to_persist`]) and the peer has a durable
    /// store, so that its next connection exchanges only news.
    pub(super) fn persist_sync_state(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.config.persistent {
            return;
        }
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let Some(store) = state.durable_store() else { return };
        let Some(encoded) = state.docs.get_mut(doc).and_then(|pair| pair.sync_state_to_persist()) else { return };
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        let max = self.config.max_sync_states_per_document;
        out.push(Output::Write(ready.remember_sync_state(doc, store, encoded, self.clock, max)));
    }

    /// Generates the next sync message for one pair, if any is due.
    pub(super) fn sync_peer(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        if let Some(deferred) = self.deferred.as_mut() {
            if !deferred.iter().any(|(c, d)| *c == conn && d == doc) {
                deferred.push((conn, doc.clone()));
            }
            return;
        }
        self.ensure_sync_state(conn, doc);
        let Some(DocPhase::Ready(ready)) = self.docs.get(doc).map(|d| &d.phase) else { return };
        // Every peer is synced again when the job is back.
        if ready.busy.is_some() {
            return;
        }
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let ConnPhase::Ready { target, .. } = &state.phase else { return };
        let Some(pair) = state.docs.get_mut(doc) else { return };
        if self.config.fast_fan_out && pair.sync.as_ref().is_some_and(|sync| in_sync_at(sync, &ready.am.get_heads())) {
            return;
        }
        if let Some(due) = pair.answer_due.filter(|due| self.clock < *due) {
            self.timers.set(Timer::HeldMessage(conn, doc.clone()), Some(due));
            return;
        }
        let sender = &self.config.peer_id;
        let generated = match self.fan_out.as_mut() {
            Some(fan_out) => fan_out.generate(doc, pair, &ready.am, sender, target),
            None => {
                self.sync_message_counts.generated += 1;
                pair.generate(&ready.am, sender, doc).map(|outgoing| outgoing.to(target))
            }
        };
        let Some(ToSend { carries_changes, bytes }) = generated else { return };
        if carries_changes {
            pair.answer_due = self.config.hold_for_answer_ms.map(|ms| self.clock.plus(ms));
        }
        out.push(Output::Send { conn, bytes });
    }

    /// The peer said something about the document: what we sent it has
    /// arrived, so a message held for its answer goes with the next sync
    /// of the pair (the caller's).
    fn answered(&mut self, conn: ConnId, doc: &DocumentId) {
        let Some(pair) = self.peer_doc(conn, doc) else { return };
        if pair.answer_due.take().is_some() {
            self.timers.set(Timer::HeldMessage(conn, doc.clone()), None);
        }
    }

    /// A peer's answer did not come in time (it may have had everything it
    /// was sent): what was held for it goes now.
    pub(super) fn release_held(&mut self, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        self.answered(conn, doc);
        self.with_fan_out(|repo| repo.sync_peer(conn, doc, out));
    }

    /// After the document changed: every peer that touched it hears of it.
    /// This is how the relay relays.
    pub(super) fn sync_all_peers(&mut self, doc: &DocumentId, except: Option<ConnId>, out: &mut Vec<Output>) {
        let conns: Vec<ConnId> = self.doc_conns.get(doc).map(|s| s.iter().copied().collect()).unwrap_or_default();
        self.with_fan_out(|repo| {
            for conn in conns.into_iter().filter(|c| Some(*c) != except) {
                repo.sync_peer(conn, doc, out);
            }
        });
    }

    /// Runs `sync` (which generates messages and changes no document) with
    /// messages shared between peers in the same sync state ([`FanOut`]),
    /// then counts what it generated and shared.
    pub(super) fn with_fan_out(&mut self, sync: impl FnOnce(&mut Repo)) {
        if self.fan_out.is_some() || !self.config.fast_fan_out {
            return sync(self);
        }
        self.fan_out = Some(FanOut::default());
        sync(self);
        if let Some(fan_out) = self.fan_out.take() {
            self.sync_message_counts.generated += fan_out.counts.generated;
            self.sync_message_counts.shared += fan_out.counts.shared;
        }
    }

    /// Offers a locally open document to a peer (clients announce; the
    /// relay opens nothing locally, so it never announces).
    pub(super) fn announce(&mut self, now: UnixMillis, doc: &DocumentId, out: &mut Vec<Output>) {
        let ready: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| matches!(c.phase, ConnPhase::Ready { .. })).map(|(id, _)| *id).collect();
        for conn in ready {
            self.announce_to(now, conn, doc, out);
        }
    }

    pub(super) fn announce_all(&mut self, now: UnixMillis, conn: ConnId, out: &mut Vec<Output>) {
        let open: Vec<DocumentId> =
            self.docs.iter().filter(|(_, d)| d.locally_open).map(|(id, _)| id.clone()).collect();
        for doc in open {
            self.announce_to(now, conn, &doc, out);
        }
    }

    pub(super) fn announce_to(&mut self, _now: UnixMillis, conn: ConnId, doc: &DocumentId, out: &mut Vec<Output>) {
        let loaded = matches!(self.docs.get(doc).map(|d| &d.phase), Some(DocPhase::Ready(_)));
        if loaded && self.peer_doc_access(conn, doc, out).is_some() {
            self.sync_peer(conn, doc, out);
        }
    }

    pub(super) fn on_access_decided(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        doc: DocumentId,
        access: Access,
        out: &mut Vec<Output>,
    ) {
        let Some(state) = self.conns.get_mut(&conn) else { return };
        let pair = state.docs.get_or_insert_with(&doc, || PeerDoc::new(AccessState::Pending(Vec::new())));
        self.doc_conns.entry(doc.clone()).or_default().insert(conn);
        match std::mem::replace(&mut pair.access, AccessState::Decided(access)) {
            AccessState::Pending(queue) => {
                for message in queue {
                    self.route(now, conn, doc.clone(), message, out);
                }
                if self.docs.get(&doc).is_some_and(|d| d.locally_open) {
                    self.announce_to(now, conn, &doc, out);
                }
            }
            AccessState::Decided(previous) if previous == access => {}
            AccessState::Decided(_) => {
                // Start the pair over under the new access; a peer that lost
                // access is told the document is unavailable.
                if pair.restart() {
                    self.timers.set(Timer::HeldMessage(conn, doc.clone()), None);
                }
                if access == Access::Denied {
                    self.send_unavailable(conn, &doc, out);
                } else if self.docs.contains_key(&doc) {
                    self.sync_peer(conn, &doc, out);
                } else {
                    // A peer told the document was unavailable says
                    // nothing more: the relay loads it and speaks first.
                    pair.sync_when_loaded = true;
                    self.on_load(now, doc, out);
                }
            }
        }
    }
}
