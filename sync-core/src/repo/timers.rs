//! The repo's deadlines: a connection's handshake timeout, a document's
//! idle unload and a message held for a peer's answer, kept in one ordered
//! table so that [`Repo::next_deadline`] reads the earliest without scanning
//! every connection and document (the relay asks at every turn of its
//! loop), and a tick visits only what is due.
//!
//! The table is exact rather than lazily cleaned: arming a timer again or
//! disarming it removes its old entry at once, so no stale earlier entry
//! can wake the driver for nothing (`next_deadline` takes `&self` and could
//! not drop one). Every change to what a deadline depends on calls
//! [`Repo::schedule_unload`] or sets the handshake or held-message timer;
//! in tests, every entry point checks the table against a full scan.
//! Nothing here decides what a timeout does beyond closing, unloading or
//! sending what was held.

use std::collections::{BTreeSet, HashMap};

use super::{CloseReason, ConnId, Output, Repo, UnixMillis};
use crate::ids::DocumentId;

/// Something that happens at a deadline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Timer {
    /// The connection has not completed the handshake: close it.
    Handshake(ConnId),
    /// The document has been idle long enough: drop it from memory.
    Unload(DocumentId),
    /// The peer has not answered the changes it was sent in time: send
    /// what was held for it ([`super::Config::hold_for_answer_ms`]).
    HeldMessage(ConnId, DocumentId),
}

/// The armed timers, earliest first; each timer is armed at most once.
#[derive(Debug, Default)]
pub(super) struct Timers {
    queue: BTreeSet<(UnixMillis, Timer)>,
    armed: HashMap<Timer, UnixMillis>,
}

impl Timers {
    /// Arms `timer` at `at`, or disarms it with `None`, replacing any
    /// earlier setting.
    pub(super) fn set(&mut self, timer: Timer, at: Option<UnixMillis>) {
        if self.armed.get(&timer) == at.as_ref() {
            return;
        }
        if let Some(old) = self.armed.remove(&timer) {
            self.queue.remove(&(old, timer.clone()));
        }
        if let Some(at) = at {
            self.queue.insert((at, timer.clone()));
            self.armed.insert(timer, at);
        }
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<UnixMillis> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// The timers due at `now`, earliest first.
    pub(super) fn due(&self, now: UnixMillis) -> Vec<Timer> {
        self.queue.iter().take_while(|(at, _)| *at <= now).map(|(_, timer)| timer.clone()).collect()
    }

    /// How many messages wait for a peer's answer.
    pub(super) fn held_messages(&self) -> usize {
        self.armed.keys().filter(|timer| matches!(timer, Timer::HeldMessage(..))).count()
    }

    /// Every armed timer, for the tests' cross-check.
    #[cfg(test)]
    pub(super) fn armed(&self) -> &HashMap<Timer, UnixMillis> {
        &self.armed
    }
}

impl Repo {
    /// Arms or disarms the document's unload from its current state: a
    /// persistent repo unloads a document nobody opened locally, loaded and
    /// with no [`crate::ChangesJob`] out, `unload_idle_after_ms` after it
    /// was last used. Without storage, memory is the only copy: never.
    pub(super) fn schedule_unload(&mut self, doc: &DocumentId) {
        let at = self.docs.get(doc).and_then(|d| {
            let idle = self.config.persistent && !d.locally_open && d.is_idle_ready();
            idle.then(|| d.last_used.plus(self.config.unload_idle_after_ms))
        });
        self.timers.set(Timer::Unload(doc.clone()), at);
    }

    pub(super) fn on_tick(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let mut late: Vec<ConnId> = self
            .timers
            .due(now)
            .into_iter()
            .filter_map(|timer| match timer {
                Timer::Handshake(conn) => Some(conn),
                Timer::Unload(_) | Timer::HeldMessage(..) => None,
            })
            .collect();
        late.sort_unstable();
        for conn in late {
            self.fail(conn, CloseReason::HandshakeTimeout, out);
        }
        for timer in self.timers.due(now) {
            if let Timer::HeldMessage(conn, doc) = timer {
                self.release_held(conn, &doc, out);
            }
        }
        // Everything is persisted as it happens, so an idle document can be
        // dropped at once; sync states live with the connections.
        for timer in self.timers.due(now) {
            if let Timer::Unload(doc) = timer {
                tracing::debug!(%doc, "unloading idle document");
                self.docs.remove(&doc);
                self.timers.set(Timer::Unload(doc), None);
            }
        }
    }

    /// Checks the table against the deadlines a full scan finds (what
    /// `next_deadline` computed before the table existed).
    #[cfg(test)]
    pub(super) fn check_timers(&self) {
        let handshakes = self.conns.iter().filter_map(|(id, c)| {
            let waiting = !matches!(c.phase, super::connection::ConnPhase::Ready { .. });
            waiting.then(|| self.timers.armed().get(&Timer::Handshake(*id)).map(|at| (Timer::Handshake(*id), *at)))
        });
        let expected_handshakes = handshakes.clone().count();
        let unloads = self.docs.iter().filter_map(|(id, d)| {
            let idle = self.config.persistent && !d.locally_open && d.is_idle_ready();
            idle.then(|| (Timer::Unload(id.clone()), d.last_used.plus(self.config.unload_idle_after_ms)))
        });
        // A held message is known only by its timer: its pair must exist
        // and still await the answer until that time.
        let held = self.timers.armed().iter().filter_map(|(timer, at)| {
            let Timer::HeldMessage(conn, doc) = timer else { return None };
            let due = self.conns.get(conn).and_then(|c| c.docs.get(doc)).and_then(|p| p.answer_due);
            assert_eq!(due, Some(*at), "a held message outlived its pair's wait");
            Some((timer.clone(), *at))
        });
        let mut expected: HashMap<Timer, UnixMillis> = unloads.chain(held).collect();
        let armed_handshakes: HashMap<Timer, UnixMillis> = handshakes.flatten().collect();
        assert_eq!(armed_handshakes.len(), expected_handshakes, "a connection in its handshake without a deadline");
        expected.extend(armed_handshakes);
        assert_eq!(self.timers.armed(), &expected, "timer table out of date");
        assert_eq!(self.timers.queue.len(), self.timers.armed.len());
    }
}

#[cfg(test)]
mod tests {
    use automerge::sync::SyncDoc;

    use super::*;
    use crate::wire::{Message, PROTOCOL_VERSION, PeerMetadata, SyncMessage};
    use crate::{CloseReason, Config, Direction, Input, PeerId};

    fn relay() -> Repo {
        let config = Config::new("relay".parse().expect("peer id"), automerge::ActorId::from([1; 16]), "s".into());
        Repo::start(config, None, [1; 16]).expect("start").0
    }

    fn connect(repo: &mut Repo, at: u64, conn: u64) {
        let input = Input::Connected { conn: ConnId(conn), direction: Direction::Inbound, expected_peer: None };
        repo.handle(UnixMillis(at), input);
    }

    fn peer(conn: u64) -> PeerId {
        format!("peer-{conn}").parse().expect("peer id")
    }

    fn join(repo: &mut Repo, at: u64, conn: u64) {
        let metadata = PeerMetadata { storage_id: None, is_ephemeral: true };
        let join =
            Message::Join { sender: peer(conn), metadata, supported_versions: Some(vec![PROTOCOL_VERSION.into()]) };
        repo.handle(UnixMillis(at), Input::Received { conn: ConnId(conn), bytes: join.encode() });
    }

    /// The peer on `conn` asks for `doc` (it has nothing).
    fn request(repo: &mut Repo, at: u64, conn: u64, doc: &DocumentId) -> Vec<Output> {
        let data = automerge::Automerge::new()
            .generate_sync_message(&mut automerge::sync::State::new())
            .expect("first message")
            .encode();
        let body = SyncMessage { sender: peer(conn), target: repo.peer_id().clone(), document: doc.clone(), data };
        repo.handle(UnixMillis(at), Input::Received { conn: ConnId(conn), bytes: Message::Request(body).encode() })
    }

    fn closed(out: &[Output]) -> Vec<(ConnId, CloseReason)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Close { conn, reason } => Some((*conn, reason.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_deadline_follows_handshakes_and_forgets_closed_connections() {
        let mut repo = relay();
        assert_eq!(repo.next_deadline(), None);
        connect(&mut repo, 0, 1);
        connect(&mut repo, 1_000, 2);
        connect(&mut repo, 2_000, 3);
        assert_eq!(repo.next_deadline(), Some(UnixMillis(10_000)));
        // The first one leaves, the second one completes its handshake:
        // neither leaves an earlier deadline behind.
        repo.handle(UnixMillis(3_000), Input::Disconnected { conn: ConnId(1) });
        join(&mut repo, 3_000, 2);
        assert_eq!(repo.next_deadline(), Some(UnixMillis(12_000)));
        assert!(closed(&repo.handle(UnixMillis(10_000), Input::Tick)).is_empty(), "nothing due at 10 s");
        let out = repo.handle(UnixMillis(12_000), Input::Tick);
        assert_eq!(closed(&out), [(ConnId(3), CloseReason::HandshakeTimeout)]);
        assert_eq!(repo.next_deadline(), None);
        assert_eq!(repo.connection_count(), 1);
    }

    #[test]
    fn the_deadline_follows_idle_unloads() {
        let mut repo = relay();
        connect(&mut repo, 0, 1);
        join(&mut repo, 0, 1);
        let doc = DocumentId::from_bytes(&[5; 16]).expect("id");
        let out = request(&mut repo, 1_000, 1, &doc);
        assert!(out.contains(&Output::Load { doc: doc.clone() }), "{out:?}");
        assert_eq!(repo.next_deadline(), None, "a loading document is not unloaded");
        repo.handle(UnixMillis(2_000), Input::Loaded { doc: doc.clone(), entries: Vec::new() });
        assert_eq!(repo.next_deadline(), Some(UnixMillis(62_000)));
        // Used again: the unload moves later, the earlier one is gone.
        request(&mut repo, 30_000, 1, &doc);
        assert_eq!(repo.next_deadline(), Some(UnixMillis(90_000)));
        repo.handle(UnixMillis(62_000), Input::Tick);
        assert_eq!(repo.documents_in_memory().count(), 1, "not idle yet at 62 s");
        repo.handle(UnixMillis(90_000), Input::Tick);
        assert_eq!(repo.documents_in_memory().count(), 0, "unloaded at 90 s");
        assert_eq!(repo.next_deadline(), None, "an unloaded document leaves no deadline");
        // Opened locally, a document is never unloaded.
        repo.handle(UnixMillis(91_000), Input::Open { doc: doc.clone() });
        repo.handle(UnixMillis(91_000), Input::Loaded { doc: doc.clone(), entries: Vec::new() });
        assert_eq!(repo.next_deadline(), None);
    }

    #[test]
    fn a_document_loaded_for_the_driver_is_announced_to_nobody_and_unloaded_when_idle() {
        let mut repo = relay();
        connect(&mut repo, 0, 1);
        join(&mut repo, 0, 1);
        let doc = DocumentId::from_bytes(&[6; 16]).expect("id");
        let out = repo.handle(UnixMillis(1_000), Input::Load { doc: doc.clone() });
        assert_eq!(out, [Output::Load { doc: doc.clone() }]);
        assert!(repo.handle(UnixMillis(1_000), Input::Load { doc: doc.clone() }).is_empty(), "loaded once");
        let out = repo.handle(UnixMillis(2_000), Input::Loaded { doc: doc.clone(), entries: Vec::new() });
        assert!(out.iter().all(|o| !matches!(o, Output::Send { .. } | Output::CheckAccess { .. })), "{out:?}");
        assert!(repo.document(&doc).is_some(), "ready for the driver's change");
        assert_eq!(repo.next_deadline(), Some(UnixMillis(62_000)));
        repo.handle(UnixMillis(62_000), Input::Tick);
        assert_eq!(repo.documents_in_memory().count(), 0, "unloaded like any idle document");
    }
}
