//! A document's lifecycle: loading it from storage (and which persisted
//! sync states it keeps), opening it locally, routing peers' messages to it
//! once loaded (queued while it loads or while a [`ChangesJob`] is out),
//! taking a job's result back, persisting it, and the growth checks a
//! peer's changes pass before Automerge sees them. Unloading idle documents
//! is in `timers.rs`. It does not generate sync messages
//! (`peer_doc.rs`) and does not know what the documents contain.

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, ChangeHash, sync};

use super::peer_doc::{AccessState, DocEvent};
use super::{Access, CloseReason, Config, ConnId, Output, Repo, UnixMillis};
use crate::changes_job::{Applied, ChangesApplied};
use crate::ids::{DocumentId, StorageId};
use crate::limits;
use crate::storage::{self, OnDisk, StorageKey, StorageWrite};

#[derive(Debug)]
pub(super) struct Doc {
    pub(super) phase: DocPhase,
    pub(super) last_used: UnixMillis,
    pub(super) locally_open: bool,
    /// Chunks committed elsewhere ([`Input::CommittedElsewhere`]) that came
    /// while the document loaded or a [`ChangesJob`] was out, in order.
    pub(super) elsewhere: Vec<(StorageKey, Vec<u8>)>,
}

impl Doc {
    /// Loaded and not waiting for a [`ChangesJob`]: it may be unloaded.
    pub(super) fn is_idle_ready(&self) -> bool {
        matches!(&self.phase, DocPhase::Ready(ready) if ready.busy.is_none())
    }
}

#[derive(Debug)]
pub(super) enum DocPhase {
    /// Waiting for [`Input::Loaded`]; messages wait, in arrival order.
    Loading(Vec<(ConnId, DocEvent)>),
    Ready(Box<ReadyDoc>),
}

#[derive(Debug)]
pub(super) struct ReadyDoc {
    pub(super) am: Automerge,
    pub(super) on_disk: OnDisk,
    /// Persisted sync states by the remote store, for peers that reconnect.
    pub(super) sync_states: HashMap<StorageId, StoredSyncState>,
    /// Peers' changes Automerge holds while their dependencies are missing
    /// (bytes, operations), as predicted from their dependencies and
    /// confirmed after each message: they are bounded per document.
    pub(super) waiting: HashMap<ChangeHash, Waiting>,
    /// A peer's changes being applied by a [`ChangesJob`]: the document
    /// stays as it was until the job is back.
    pub(super) busy: Option<Busy>,
}

/// A document whose [`ChangesJob`] is out.
#[derive(Debug)]
pub(super) struct Busy {
    pub(super) job: u64,
    /// The changes predicted to wait for dependencies, confirmed on return.
    pub(super) waiting: Vec<(ChangeHash, Waiting)>,
    /// The document's messages that came meanwhile, in arrival order.
    pub(super) queue: Vec<(ConnId, DocEvent)>,
}

/// A persisted sync state, as loaded or last written.
#[derive(Debug)]
pub(super) struct StoredSyncState {
    /// Encoded by Automerge.
    pub(super) bytes: Vec<u8>,
    /// When it was last written or taken up by a connection: the least
    /// recently used is evicted first.
    pub(super) used: UnixMillis,
}

/// A change waiting for its dependencies: what it holds in memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    pub(super) bytes: u64,
    pub(super) ops: u64,
}

impl ReadyDoc {
    pub(super) fn new(am: Automerge, on_disk: OnDisk, sync_states: HashMap<StorageId, StoredSyncState>) -> ReadyDoc {
        ReadyDoc { am, on_disk, sync_states, waiting: HashMap::new(), busy: None }
    }

    /// The sync state persisted for `store`, if any and readable; taking
    /// it up counts as using it at `now`.
    pub(super) fn take_up_sync_state(&mut self, store: &StorageId, now: UnixMillis) -> Option<sync::State> {
        let stored = self.sync_states.get_mut(store)?;
        stored.used = stored.used.max(now);
        sync::State::decode(&stored.bytes).ok()
    }

    /// Keeps `encoded` as `store`'s sync state, used at `now`, and returns
    /// the write that persists it. Past `max` states, the least recently
    /// used are deleted in the same write.
    pub(super) fn remember_sync_state(
        &mut self,
        doc: &DocumentId,
        store: StorageId,
        encoded: Vec<u8>,
        now: UnixMillis,
        max: usize,
    ) -> StorageWrite {
        let mut delete = Vec::new();
        if !self.sync_states.contains_key(&store) && self.sync_states.len() >= max {
            let mut by_age: Vec<(UnixMillis, StorageId)> =
                self.sync_states.iter().map(|(id, s)| (s.used, id.clone())).collect();
            by_age.sort();
            let evicted = by_age.len() + 1 - max.max(1);
            for (_, id) in by_age.into_iter().take(evicted) {
                tracing::debug!(%doc, store = %id, "sync state evicted: least recently used");
                self.sync_states.remove(&id);
                delete.extend([StorageKey::sync_state(doc, &id), StorageKey::sync_state_used(doc, &id)]);
            }
        }
        if max == 0 {
            return StorageWrite { put: Vec::new(), delete };
        }
        self.sync_states.insert(store.clone(), StoredSyncState { bytes: encoded.clone(), used: now });
        StorageWrite {
            put: vec![
                (StorageKey::sync_state(doc, &store), encoded),
                (StorageKey::sync_state_used(doc, &store), now.0.to_string().into_bytes()),
            ],
            delete,
        }
    }

    /// After Automerge took a message: what really waits is the predicted
    /// changes, and earlier ones, that Automerge has not applied.
    pub(super) fn confirm_waiting(&mut self, predicted: Vec<(ChangeHash, Waiting)>) {
        self.waiting.extend(predicted);
        let am = &self.am;
        self.waiting.retain(|hash, _| automerge::ReadDoc::get_change_by_hash(am, hash).is_none());
    }

    /// Bytes and operations of the changes waiting for dependencies.
    pub(super) fn waiting_totals(&self) -> (u64, u64) {
        self.waiting.values().fold((0, 0), |(b, o), w| (b.saturating_add(w.bytes), o.saturating_add(w.ops)))
    }
}

/// Passes over a message's changes to find those whose dependencies arrive
/// in the same message. Automerge sends changes in causal order, so one
/// pass suffices; changes still unresolved after these count as waiting.
pub(super) const DEPENDENCY_PASSES: usize = 4;

/// Messages that may wait for one access decision or one load, per
/// connection, before the connection is closed as abusive.
pub(super) const MAX_QUEUED: usize = 1024;

/// Queues a connection's document message behind `what` (a load, a
/// [`ChangesJob`]); refused once that connection has [`MAX_QUEUED`] there.
pub(super) fn queue_behind(
    queue: &mut Vec<(ConnId, DocEvent)>,
    conn: ConnId,
    event: DocEvent,
    what: &str,
) -> Result<(), CloseReason> {
    if queue.iter().filter(|(c, _)| *c == conn).count() >= MAX_QUEUED {
        return Err(CloseReason::ProtocolViolation(format!("too many messages waiting for {what}")));
    }
    queue.push((conn, event));
    Ok(())
}

impl Repo {
    /// Checks access, then hands the message to the document, in order.
    pub(super) fn route(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        doc: DocumentId,
        message: DocEvent,
        out: &mut Vec<Output>,
    ) {
        let max_docs = self.config.max_documents_per_connection;
        let known = self.conns.get(&conn).is_some_and(|c| c.docs.len() < max_docs || c.docs.contains_key(&doc));
        if !known {
            let reason = format!("more than {max_docs} documents on one connection");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        let Some(access) = self.peer_doc_access(conn, &doc, out) else {
            if let Some(AccessState::Pending(queue)) = self.peer_doc(conn, &doc).map(|p| &mut p.access) {
                if queue.len() >= MAX_QUEUED {
                    let reason = "too many messages waiting for an access decision".to_owned();
                    return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
                }
                queue.push(message);
            }
            return;
        };
        if access == Access::Denied {
            if matches!(message, DocEvent::Sync { .. }) {
                self.send_unavailable(conn, &doc, out);
            }
            return;
        }
        // Presence is not document content: it never waits for a load,
        // which would reorder it against the author's other documents.
        let message = match message {
            DocEvent::Ephemeral(m) => return self.on_ephemeral(conn, &doc, m, out),
            other => other,
        };
        match self.docs.get_mut(&doc).map(|d| &mut d.phase) {
            Some(DocPhase::Ready(_)) => self.on_doc_message(now, conn, &doc, message, out),
            Some(DocPhase::Loading(queue)) => {
                if let Err(reason) = queue_behind(queue, conn, message, "a document to load") {
                    self.fail(conn, reason, out);
                }
            }
            None => {
                let loading = Doc {
                    phase: DocPhase::Loading(vec![(conn, message)]),
                    last_used: now,
                    locally_open: false,
                    elsewhere: Vec::new(),
                };
                self.docs.insert(doc.clone(), loading);
                out.push(Output::Load { doc });
            }
        }
    }

    /// A message for a loaded document from a peer allowed to see it.
    pub(super) fn on_doc_message(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        doc: &DocumentId,
        event: DocEvent,
        out: &mut Vec<Output>,
    ) {
        if let Some(d) = self.docs.get_mut(doc) {
            d.last_used = now;
            if let DocPhase::Ready(ready) = &mut d.phase
                && let Some(busy) = ready.busy.as_mut()
            {
                if let Err(reason) = queue_behind(&mut busy.queue, conn, event, "a document's changes to be applied") {
                    self.fail(conn, reason, out);
                }
                return self.schedule_unload(doc);
            }
        }
        match event {
            DocEvent::Sync { is_request, message, expansion } => {
                self.on_sync(conn, doc, message, &expansion, is_request, out)
            }
            DocEvent::Unavailable => self.on_unavailable(conn, doc, out),
            DocEvent::Ephemeral(m) => self.on_ephemeral(conn, doc, m, out),
        }
        // Used now, and perhaps busy with a job.
        self.schedule_unload(doc);
    }

    /// A [`ChangesJob`] is back: its document takes the result (or the
    /// peer is refused), every peer of the document is synced, and the
    /// messages that waited are handled in order.
    pub(super) fn on_changes_applied(&mut self, now: UnixMillis, done: ChangesApplied, out: &mut Vec<Output>) {
        let ChangesApplied { id, doc, conn, outcome } = done;
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(&doc).map(|d| &mut d.phase) else { return };
        let Some(Busy { waiting, queue, .. }) = ready.busy.take_if(|busy| busy.job == id) else { return };
        match outcome {
            Ok(Applied { am, sync, on_disk, write }) => {
                let changed = am.get_heads() != ready.am.get_heads();
                ready.am = am;
                if let Some(on_disk) = on_disk {
                    ready.on_disk = on_disk;
                }
                ready.confirm_waiting(waiting);
                if let Some(write) = write {
                    out.push(Output::Write(write));
                }
                if let Some(pair) = self.peer_doc(conn, &doc) {
                    pair.sync = Some(sync);
                    self.persist_sync_state(conn, &doc, out);
                }
                if changed {
                    out.push(Output::DocumentChanged { doc: doc.clone() });
                }
            }
            Err(e) => {
                if self.conns.contains_key(&conn) {
                    self.fail(conn, CloseReason::BadSyncMessage(e), out);
                }
            }
        }
        self.schedule_unload(&doc);
        if self.take_up_elsewhere(&doc) {
            out.push(Output::DocumentChanged { doc: doc.clone() });
        }
        // Syncs skipped while the job was out are due now.
        self.sync_all_peers(&doc, None, out);
        for (from, event) in queue {
            if self.conns.contains_key(&from) {
                self.on_doc_message(now, from, &doc, event, out);
            }
        }
    }

    pub(super) fn persist_document(&mut self, doc: &DocumentId, out: &mut Vec<Output>) {
        if !self.config.persistent {
            return;
        }
        let Some(DocPhase::Ready(ready)) = self.docs.get_mut(doc).map(|d| &mut d.phase) else { return };
        if let Some(write) = ready.on_disk.save(doc, &ready.am) {
            out.push(Output::Write(write));
        }
    }

    pub(super) fn on_loaded(
        &mut self,
        now: UnixMillis,
        doc: DocumentId,
        entries: Vec<(StorageKey, Vec<u8>)>,
        out: &mut Vec<Output>,
    ) {
        let Some(d) = self.docs.get_mut(&doc) else { return };
        let DocPhase::Loading(queue) = &mut d.phase else { return };
        let queue = std::mem::take(queue);
        let mut loaded = storage::load_document(&doc, entries);
        loaded.doc.set_actor(self.config.actor.clone());
        for key in &loaded.unreadable {
            tracing::error!(key = %key, "stored chunk unreadable; kept on disk, not loaded");
        }
        let (sync_states, pruned) =
            keep_sync_states(&doc, loaded.sync_states, loaded.sync_states_used, now, &self.config);
        if let Some(pruned) = pruned {
            out.push(Output::Write(pruned));
        }
        let ready = ReadyDoc::new(loaded.doc, loaded.on_disk, sync_states);
        d.phase = DocPhase::Ready(Box::new(ready));
        d.last_used = now;
        let locally_open = d.locally_open;
        self.schedule_unload(&doc);
        if self.take_up_elsewhere(&doc) {
            out.push(Output::DocumentChanged { doc: doc.clone() });
        }
        for (conn, message) in queue {
            // Access may have changed while the document was loading.
            match self.peer_doc(conn, &doc).map(|p| &p.access) {
                Some(AccessState::Decided(Access::ReadOnly | Access::ReadWrite)) => {
                    self.on_doc_message(now, conn, &doc, message, out)
                }
                Some(AccessState::Decided(Access::Denied)) if matches!(message, DocEvent::Sync { .. }) => {
                    self.send_unavailable(conn, &doc, out)
                }
                _ => {}
            }
        }
        // Peers granted access while it was not in memory.
        let conns: Vec<ConnId> = self.doc_conns.get(&doc).into_iter().flatten().copied().collect();
        for conn in conns {
            if self.peer_doc(conn, &doc).is_some_and(|p| std::mem::take(&mut p.sync_when_loaded)) {
                self.sync_peer(conn, &doc, out);
            }
        }
        if locally_open {
            if !self.is_empty(&doc) {
                out.push(Output::DocumentChanged { doc: doc.clone() });
            }
            self.announce(now, &doc, out);
        }
    }

    /// [`Input::CommittedElsewhere`]: queued behind a load or a job, taken
    /// up at once otherwise; the peers are synced if the heads moved.
    pub(super) fn on_committed_elsewhere(
        &mut self,
        now: UnixMillis,
        doc: DocumentId,
        chunks: Vec<(StorageKey, Vec<u8>)>,
        out: &mut Vec<Output>,
    ) {
        let prefix = StorageKey::document_prefix(&doc);
        let chunks = chunks.into_iter().filter(|(key, _)| key.starts_with(&prefix) && key.as_chunk().is_some());
        let Some(d) = self.docs.get_mut(&doc) else { return };
        d.elsewhere.extend(chunks);
        let ready = matches!(&d.phase, DocPhase::Ready(ready) if ready.busy.is_none());
        if ready && self.take_up_elsewhere(&doc) {
            if let Some(d) = self.docs.get_mut(&doc) {
                d.last_used = now;
            }
            // Used now: its idle deadline moves with `last_used`.
            self.schedule_unload(&doc);
            self.sync_all_peers(&doc, None, out);
            out.push(Output::DocumentChanged { doc });
        }
    }

    /// Loads the chunks committed elsewhere that waited for `doc` (ready,
    /// no job out) into it, writing nothing: they are in storage already.
    /// A chunk is counted among those on disk (so a later compaction
    /// replaces it) only if all its changes are in the document; one whose
    /// dependencies are missing stays out of compaction, and one Automerge
    /// refuses is logged and skipped. Returns whether the heads moved.
    fn take_up_elsewhere(&mut self, doc: &DocumentId) -> bool {
        let Some(d) = self.docs.get_mut(doc) else { return false };
        let DocPhase::Ready(ready) = &mut d.phase else { return false };
        if ready.busy.is_some() || d.elsewhere.is_empty() {
            return false;
        }
        let before = ready.am.get_heads();
        for (key, bytes) in std::mem::take(&mut d.elsewhere) {
            let Some((kind, _)) = key.as_chunk() else { continue };
            if ready.on_disk.knows(&key) {
                continue;
            }
            let caught_up = ready.on_disk.saved_heads() == ready.am.get_heads().as_slice();
            if let Err(error) = ready.am.load_incremental(&bytes) {
                tracing::error!(%doc, key = %key, %error, "a chunk committed elsewhere is unreadable; skipped");
                continue;
            }
            if automerge::ReadDoc::get_missing_deps(&ready.am, &[]).is_empty() {
                let heads = caught_up.then(|| ready.am.get_heads());
                ready.on_disk.committed_elsewhere(key, kind, bytes.len(), heads);
            }
        }
        ready.am.get_heads() != before
    }

    /// [`Input::Load`]: loads a document not in memory, opening nothing.
    pub(super) fn on_load(&mut self, now: UnixMillis, doc: DocumentId, out: &mut Vec<Output>) {
        if self.docs.contains_key(&doc) {
            return;
        }
        let loading =
            Doc { phase: DocPhase::Loading(Vec::new()), last_used: now, locally_open: false, elsewhere: Vec::new() };
        self.docs.insert(doc.clone(), loading);
        out.push(Output::Load { doc });
    }

    pub(super) fn on_open(&mut self, now: UnixMillis, doc: DocumentId, out: &mut Vec<Output>) {
        match self.docs.get_mut(&doc) {
            Some(d) => {
                d.locally_open = true;
                d.last_used = now;
                self.schedule_unload(&doc);
                if matches!(self.docs.get(&doc).map(|d| &d.phase), Some(DocPhase::Ready(_))) {
                    if !self.is_empty(&doc) {
                        out.push(Output::DocumentChanged { doc: doc.clone() });
                    }
                    self.announce(now, &doc, out);
                }
            }
            None => {
                let loading = Doc {
                    phase: DocPhase::Loading(Vec::new()),
                    last_used: now,
                    locally_open: true,
                    elsewhere: Vec::new(),
                };
                self.docs.insert(doc.clone(), loading);
                out.push(Output::Load { doc });
            }
        }
    }
}

/// Checks what a peer's changes would add to a document before Automerge
/// applies them: its operations (held, waiting, and the message's new
/// ones) within `max_document_ops`, and the bytes of changes that would wait
/// for dependencies within `max_waiting_change_bytes`. Returns the changes
/// predicted to wait, with their bytes and operations.
pub(super) fn check_document_growth(
    doc: &DocumentId,
    ready: &ReadyDoc,
    expansion: &limits::Expansion,
    config: &Config,
) -> Result<Vec<(ChangeHash, Waiting)>, CloseReason> {
    let am = &ready.am;
    let has = |hash: &ChangeHash| automerge::ReadDoc::get_change_by_hash(am, hash).is_some();
    // Automerge skips a document chunk whose heads it has, and a change it
    // has; everything else is counted whole.
    let document_ops: u64 =
        expansion.documents.iter().filter(|d| !d.heads.iter().all(has)).map(|d| d.ops).fold(0, u64::saturating_add);
    let mut pending: Vec<&limits::ChangeChunk> = expansion.changes.iter().filter(|c| !has(&c.hash)).collect();
    let new_ops = pending.iter().map(|c| c.ops).fold(document_ops, u64::saturating_add);
    let (waiting_bytes, waiting_ops) = ready.waiting_totals();
    let held = automerge::ReadDoc::stats(am).num_ops.saturating_add(waiting_ops);
    let would_be = held.saturating_add(new_ops);
    if new_ops > 0 && would_be > config.max_document_ops {
        return Err(CloseReason::DocumentTooManyOps { doc: doc.clone(), would_be, max: config.max_document_ops });
    }
    // A change waits unless each dependency is in the document or arrives
    // ready in the same message (a document chunk's heads count as ready).
    let mut arriving: BTreeSet<ChangeHash> = expansion.documents.iter().flat_map(|d| d.heads.iter().copied()).collect();
    for _ in 0..DEPENDENCY_PASSES {
        let before = pending.len();
        pending.retain(|c| {
            let resolved = c.deps.iter().all(|d| has(d) || arriving.contains(d));
            if resolved {
                arriving.insert(c.hash);
            }
            !resolved
        });
        if pending.len() == before {
            break;
        }
    }
    let added: u64 =
        pending.iter().filter(|c| !ready.waiting.contains_key(&c.hash)).map(|c| c.bytes).fold(0, u64::saturating_add);
    let would_wait = waiting_bytes.saturating_add(added);
    if added > 0 && would_wait > config.max_waiting_change_bytes {
        let max = config.max_waiting_change_bytes;
        return Err(CloseReason::TooManyWaitingChanges { doc: doc.clone(), would_be: would_wait, max });
    }
    Ok(pending.into_iter().map(|c| (c.hash, Waiting { bytes: c.bytes, ops: c.ops })).collect())
}

/// The persisted sync states a document keeps when it loads, and the write
/// that deletes the others: states not used for
/// [`Config::sync_state_ttl_ms`], times left without their state, and the
/// least recently used beyond [`Config::max_sync_states_per_document`].
/// A state without a time (written before times were, or seeded after a
/// download) gets the load time, written once, so that it expires too.
pub(super) fn keep_sync_states(
    doc: &DocumentId,
    states: Vec<(StorageId, Vec<u8>)>,
    used: Vec<(StorageId, u64)>,
    now: UnixMillis,
    config: &Config,
) -> (HashMap<StorageId, StoredSyncState>, Option<StorageWrite>) {
    let mut used: HashMap<StorageId, u64> = used.into_iter().collect();
    let mut write = StorageWrite::default();
    let mut kept: Vec<(StorageId, StoredSyncState)> = Vec::new();
    for (store, bytes) in states {
        let at = match used.remove(&store) {
            Some(at) => UnixMillis(at),
            None => {
                write.put.push((StorageKey::sync_state_used(doc, &store), now.0.to_string().into_bytes()));
                now
            }
        };
        if at.plus(config.sync_state_ttl_ms) <= now {
            write.delete.extend([StorageKey::sync_state(doc, &store), StorageKey::sync_state_used(doc, &store)]);
        } else {
            kept.push((store, StoredSyncState { bytes, used: at }));
        }
    }
    write.delete.extend(used.keys().map(|store| StorageKey::sync_state_used(doc, store)));
    // Most recently used first; ties in a stable order.
    kept.sort_by(|(a, x), (b, y)| y.used.cmp(&x.used).then_with(|| a.cmp(b)));
    for (store, _) in kept.drain(config.max_sync_states_per_document.min(kept.len())..) {
        write.put.retain(|(key, _)| *key != StorageKey::sync_state_used(doc, &store));
        write.delete.extend([StorageKey::sync_state(doc, &store), StorageKey::sync_state_used(doc, &store)]);
    }
    if !write.delete.is_empty() {
        tracing::info!(%doc, deleted = write.delete.len(), "expired or surplus sync states deleted");
    }
    let write = (!write.put.is_empty() || !write.delete.is_empty()).then_some(write);
    (kept.into_iter().collect(), write)
}
