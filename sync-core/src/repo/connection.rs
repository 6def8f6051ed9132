//! Connections: the handshake (`join`/`peer`, versions, the peer id a
//! connection may use, which connection of a peer id wins), frame size
//! before and after it, closing (`error` then close) and forgetting a
//! connection, and the checks every document message passes before it is
//! routed (addressing, forged senders, echoes, sync message bounds). It
//! does not sync documents (`peer_doc.rs`), load them (`document.rs`) or
//! relay presence (`ephemeral.rs`).

use std::collections::BTreeSet;

use automerge::sync;

use super::ephemeral::Bucket;
use super::peer_doc::{DocEvent, PeerDoc, PeerStatus};
use super::timers::Timer;
use super::{CloseReason, ConnId, Direction, Output, Repo, UnixMillis};
use crate::ids::{DocumentId, PeerId, StorageId};
use crate::limits;
use crate::wire::{Message, PROTOCOL_VERSION, PeerMetadata, Target};

#[derive(Debug)]
pub(super) struct Conn {
    /// Who dialled: on an outbound connection (to a relay), ephemeral
    /// messages arrive relayed, with their original author.
    pub(super) direction: Direction,
    /// The peer id this connection must use, when the driver bound one.
    pub(super) expected_peer: Option<PeerId>,
    /// The credentials it entered with ([`Input::Principal`]).
    pub(super) credentials: BTreeSet<String>,
    /// Its allowance of ephemeral messages.
    pub(super) ephemeral: Bucket,
    pub(super) phase: ConnPhase,
    pub(super) docs: Pairs,
}

/// A connection's pairs, by document: a vector kept sorted. Most
/// connections have one document or a few (at most `max_docs_per_conn`),
/// and a B-tree's first node holds room for eleven entries; each pair is
/// boxed, its Automerge sync state being a few hundred bytes.
#[derive(Debug, Default)]
pub(super) struct Pairs(Vec<(DocumentId, Box<PeerDoc>)>);

impl Pairs {
    fn position(&self, doc: &DocumentId) -> Result<usize, usize> {
        self.0.binary_search_by(|(d, _)| d.cmp(doc))
    }

    pub(super) fn get(&self, doc: &DocumentId) -> Option<&PeerDoc> {
        self.position(doc).ok().map(|i| &*self.0[i].1)
    }

    pub(super) fn get_mut(&mut self, doc: &DocumentId) -> Option<&mut PeerDoc> {
        self.position(doc).ok().map(|i| &mut *self.0[i].1)
    }

    pub(super) fn contains_key(&self, doc: &DocumentId) -> bool {
        self.position(doc).is_ok()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&DocumentId, &PeerDoc)> {
        self.0.iter().map(|(doc, pair)| (doc, &**pair))
    }

    /// The pair of `doc`, made by `new` if there is none.
    pub(super) fn get_or_insert_with(&mut self, doc: &DocumentId, new: impl FnOnce() -> PeerDoc) -> &mut PeerDoc {
        let i = match self.position(doc) {
            Ok(i) => i,
            Err(i) => {
                // Room for exactly one or a few; doubling beyond.
                if self.0.len() < 4 {
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (doc.clone(), Box::new(new())));
                i
            }
        };
        &mut self.0[i].1
    }
}

#[derive(Debug)]
pub(super) enum ConnPhase {
    AwaitingJoin,
    AwaitingPeer,
    Ready {
        peer: PeerId,
        metadata: PeerMetadata,
        /// The peer's id as every sync message to it ends
        /// ([`crate::SyncFrame::to`]).
        target: Target,
    },
}

impl Conn {
    /// The peer's durable store, once handshaken: where its sync states
    /// are kept across connections. `None` for a peer without storage.
    pub(super) fn durable_store(&self) -> Option<StorageId> {
        match &self.phase {
            ConnPhase::Ready { metadata, .. } if !metadata.is_ephemeral => metadata.storage_id.clone(),
            _ => None,
        }
    }
}

/// Largest frame accepted before the handshake completes.
pub(super) const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;

impl Repo {
    pub(super) fn on_connected(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        direction: Direction,
        expected_peer: Option<PeerId>,
        out: &mut Vec<Output>,
    ) {
        let phase = match direction {
            Direction::Inbound => ConnPhase::AwaitingJoin,
            Direction::Outbound => {
                let join = Message::Join {
                    sender: self.config.peer_id.clone(),
                    metadata: self.metadata(),
                    supported_versions: Some(vec![PROTOCOL_VERSION.to_owned()]),
                };
                out.push(Output::Send { conn, bytes: join.encode().into() });
                ConnPhase::AwaitingPeer
            }
        };
        self.timers.set(Timer::Handshake(conn), Some(now.plus(self.config.handshake_timeout_ms)));
        let ephemeral = Bucket::full(now, self.config.ephemeral_burst);
        let state =
            Conn { direction, phase, expected_peer, credentials: BTreeSet::new(), ephemeral, docs: Pairs::default() };
        self.conns.insert(conn, state);
    }

    pub(super) fn metadata(&self) -> PeerMetadata {
        PeerMetadata { storage_id: self.storage_id.clone(), is_ephemeral: !self.config.persistent }
    }

    pub(super) fn on_received(&mut self, now: UnixMillis, conn: ConnId, bytes: &[u8], out: &mut Vec<Output>) {
        let Some(state) = self.conns.get(&conn) else {
            return; // Already closed: frames still in flight are dropped.
        };
        // Before the handshake only a small `join` or `peer` is expected.
        let max = match state.phase {
            ConnPhase::Ready { .. } => self.config.max_message_bytes,
            _ => MAX_HANDSHAKE_BYTES,
        };
        if bytes.len() > max {
            return self.fail(conn, CloseReason::TooLarge { len: bytes.len(), max }, out);
        }
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(e) => return self.fail(conn, CloseReason::Malformed(e), out),
        };
        match (&state.phase, message) {
            (_, Message::Error { message, .. }) => self.close(conn, CloseReason::PeerError(message), out),
            (ConnPhase::AwaitingJoin, Message::Join { sender, metadata, supported_versions }) => {
                self.on_join(now, conn, sender, metadata, supported_versions, out)
            }
            (ConnPhase::AwaitingPeer, Message::Peer { sender, target, metadata, .. }) => {
                self.on_peer(now, conn, sender, target, metadata, out)
            }
            (ConnPhase::Ready { .. }, Message::Leave { .. }) => self.close(conn, CloseReason::PeerLeft, out),
            (ConnPhase::Ready { peer, .. }, message) => {
                let peer = peer.clone();
                self.on_ready_message(now, conn, &peer, message, out)
            }
            (_, message) => {
                let reason = format!("unexpected `{}` before the handshake completed", message.kind());
                self.fail(conn, CloseReason::ProtocolViolation(reason), out)
            }
        }
    }

    pub(super) fn on_join(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        sender: PeerId,
        metadata: PeerMetadata,
        versions: Option<Vec<String>>,
        out: &mut Vec<Output>,
    ) {
        // Absent means a peer from before versioning, which spoke "1".
        let speaks_ours = versions.is_none_or(|v| v.iter().any(|v| v == PROTOCOL_VERSION));
        if !speaks_ours {
            return self.fail(conn, CloseReason::UnsupportedVersion, out);
        }
        let expected = self.conns.get(&conn).and_then(|c| c.expected_peer.as_ref());
        if let Some(expected) = expected.filter(|e| **e != sender) {
            let reason = format!("joined as {sender}, but this connection belongs to {expected}");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        if sender == self.config.peer_id {
            let reason = format!("joined as {sender}, which is this relay's own peer id");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        // The last connection of a peer id wins only against a connection
        // whose credentials it holds: peer ids are public, invitations not.
        let older = self.peers.get(&sender).copied().filter(|older| *older != conn);
        if let Some(older) = older {
            let holds = match (self.conns.get(&older), self.conns.get(&conn)) {
                (Some(older), Some(new)) => older.credentials.is_subset(&new.credentials),
                _ => true,
            };
            if !holds {
                let reason = format!("peer id {sender} is in use by a connection with other invitations");
                return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
            }
        }
        // Registered only now that the handshake succeeded (no ghost peers).
        self.bind_peer(conn, sender.clone(), metadata, out);
        let answer = Message::Peer {
            sender: self.config.peer_id.clone(),
            target: sender,
            metadata: self.metadata(),
            selected_version: PROTOCOL_VERSION.to_owned(),
        };
        out.push(Output::Send { conn, bytes: answer.encode().into() });
        self.announce_all(now, conn, out);
    }

    pub(super) fn on_peer(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        sender: PeerId,
        target: PeerId,
        metadata: PeerMetadata,
        out: &mut Vec<Output>,
    ) {
        if target != self.config.peer_id {
            let reason = format!("`peer` addressed to {target}, not to us");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        self.bind_peer(conn, sender, metadata, out);
        self.announce_all(now, conn, out);
    }

    /// The last connection of a peer id wins: an older one is closed and its
    /// sync states dropped (automerge-repo PR #206); persisted ones are kept.
    pub(super) fn bind_peer(&mut self, conn: ConnId, peer: PeerId, metadata: PeerMetadata, out: &mut Vec<Output>) {
        if let Some(older) = self.peers.get(&peer).copied().filter(|older| *older != conn) {
            self.close(older, CloseReason::Replaced, out);
        }
        self.peers.insert(peer.clone(), conn);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = ConnPhase::Ready { target: Target::new(&peer), peer, metadata };
        }
        self.timers.set(Timer::Handshake(conn), None);
    }

    /// Sends `error` (the protocol's rule before closing), then closes.
    pub(super) fn fail(&mut self, conn: ConnId, reason: CloseReason, out: &mut Vec<Output>) {
        tracing::warn!(%conn, %reason, "closing connection");
        let target = match self.conns.get(&conn).map(|c| &c.phase) {
            Some(ConnPhase::Ready { peer, .. }) => Some(peer.clone()),
            _ => None,
        };
        let error = Message::Error { sender: Some(self.config.peer_id.clone()), target, message: reason.to_string() };
        out.push(Output::Send { conn, bytes: error.encode().into() });
        self.close(conn, reason, out);
    }

    pub(super) fn close(&mut self, conn: ConnId, reason: CloseReason, out: &mut Vec<Output>) {
        out.push(Output::Close { conn, reason });
        self.forget_conn(conn, out);
    }

    /// Drops everything about a connection. Persisted sync states stay.
    /// Requesters that were waiting for this peer's copy of a document get
    /// their answer.
    pub(super) fn forget_conn(&mut self, conn: ConnId, out: &mut Vec<Output>) {
        let Some(state) = self.conns.remove(&conn) else { return };
        self.timers.set(Timer::Handshake(conn), None);
        let had: Vec<DocumentId> =
            state.docs.iter().filter(|(_, p)| p.status == PeerStatus::Has).map(|(d, _)| d.clone()).collect();
        if let ConnPhase::Ready { peer, .. } = &state.phase
            && self.peers.get(peer) == Some(&conn)
        {
            self.peers.remove(peer);
        }
        for (doc, pair) in state.docs.iter() {
            if pair.answer_due.is_some() {
                self.timers.set(Timer::HeldMessage(conn, doc.clone()), None);
            }
            if let Some(set) = self.doc_conns.get_mut(doc) {
                set.remove(&conn);
                if set.is_empty() {
                    self.doc_conns.remove(doc);
                }
            }
        }
        for doc in had {
            self.answer_waiting_requesters(&doc, out);
        }
    }

    pub(super) fn on_ready_message(
        &mut self,
        now: UnixMillis,
        conn: ConnId,
        peer: &PeerId,
        message: Message,
        out: &mut Vec<Output>,
    ) {
        // Presence from a peer that dialled us is bounded before anything
        // else looks at it: it would be copied to every peer of the document.
        let inbound = self.conns.get(&conn).is_some_and(|c| c.direction == Direction::Inbound);
        if let Message::Ephemeral(m) = &message
            && inbound
            && m.data.len() > self.config.max_ephemeral_bytes
        {
            let reason = CloseReason::EphemeralTooLarge { len: m.data.len(), max: self.config.max_ephemeral_bytes };
            return self.fail(conn, reason, out);
        }
        let addressed = match &message {
            Message::Request(m) | Message::Sync(m) => Some((&m.sender, &m.target, &m.document)),
            Message::DocUnavailable { sender, target, document } => Some((sender, target, document)),
            Message::Ephemeral(m) => Some((&m.sender, &m.target, &m.document)),
            Message::Join { .. } | Message::Peer { .. } => {
                let reason = format!("`{}` after the handshake", message.kind());
                return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
            }
            // Remote-heads gossip and unknown types are ignored (samod does
            // the same); `error` and `leave` are handled by the caller.
            _ => None,
        };
        let Some((sender, target, document)) = addressed else {
            tracing::debug!(%conn, kind = message.kind(), "ignored message");
            return;
        };
        // An ephemeral message keeps its original author when relayed, so
        // only its target is checked; every other sender must be the peer
        // bound to this connection.
        // A relay forwards ephemeral messages with their original author,
        // so only what a client receives from its relay may name another
        // sender; a peer's own messages, on the relay side, must be its own.
        let relayed = matches!(message, Message::Ephemeral(_))
            && self.conns.get(&conn).is_some_and(|c| c.direction == Direction::Outbound);
        // automerge-repo JS clients re-send every ephemeral message they
        // receive to their other peers, original author kept, so the relay
        // gets its own relayed messages back. Drop such an echo quietly: it
        // is never forwarded, so nobody can impersonate another author.
        if matches!(message, Message::Ephemeral(_)) && !relayed && sender != peer && *target == self.config.peer_id {
            tracing::debug!(%conn, %sender, "dropped an ephemeral message echoed by another peer");
            return;
        }
        let forged = !relayed && sender != peer;
        if forged || *target != self.config.peer_id {
            let reason = format!("message from {sender} to {target} on the connection of {peer}");
            return self.fail(conn, CloseReason::ProtocolViolation(reason), out);
        }
        if matches!(message, Message::Ephemeral(_)) && inbound && !self.ephemeral_allowed(now, conn) {
            return;
        }
        let document = document.clone();
        let is_request = matches!(message, Message::Request(_));
        let event = match message {
            // Validated before Automerge uses it: its layout before it is
            // decoded (counts Automerge would allocate for), a hostile Bloom
            // filter would make it panic or stall when it answers this
            // peer, and changes are measured before they are expanded.
            Message::Request(m) | Message::Sync(m) => {
                let bounds = limits::ExpansionLimits {
                    max_ops: self.config.max_document_ops,
                    max_inflated_bytes: u64::try_from(self.config.max_message_bytes).unwrap_or(u64::MAX),
                };
                let checked = limits::scan_sync_message(&m.data)
                    .map_err(|e| e.to_string())
                    .and_then(|()| sync::Message::decode(&m.data).map_err(|e| e.to_string()))
                    .and_then(|message| {
                        limits::check_sync_message(&message).map_err(|e| e.to_string())?;
                        let expansion = limits::measure_changes(message.changes.iter(), bounds);
                        Ok((message, expansion.map_err(|e| e.to_string())?))
                    });
                match checked {
                    Ok((message, expansion)) => DocEvent::Sync { is_request, message, expansion },
                    Err(e) => return self.fail(conn, CloseReason::BadSyncMessage(e), out),
                }
            }
            Message::Ephemeral(m) => DocEvent::Ephemeral(m),
            _ => DocEvent::Unavailable,
        };
        self.route(now, conn, document, event, out);
    }
}
