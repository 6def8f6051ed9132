//! Ephemeral messages (presence, cursors): deduplicated by (document,
//! author, session), handed to the application when the document is open
//! locally, forwarded to every other peer allowed to see the document, and
//! rate-limited per connection that dialled us by a token bucket driven by
//! `now`. Nothing here is stored or synced.

use super::connection::ConnPhase;
use super::{ConnId, Output, Repo, UnixMillis};
use crate::ids::{DocumentId, PeerId};
use crate::wire::{EphemeralMessage, Message};

/// A token bucket, refilled with the driver's clock: what a connection may
/// still send of a kind of message. Counted in thousandths of a message so
/// that refilling stays exact in whole milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub(super) millis_of_messages: u64,
    pub(super) at: UnixMillis,
    /// The last message was refused: the next refusals are not logged again.
    pub(super) dropping: bool,
}

impl Bucket {
    pub(super) fn full(now: UnixMillis, burst: u32) -> Bucket {
        Bucket { millis_of_messages: u64::from(burst) * 1000, at: now, dropping: false }
    }

    /// Refills for the time passed, then takes one message if there is one.
    pub(super) fn take(&mut self, now: UnixMillis, per_second: u32, burst: u32) -> bool {
        let elapsed = now.0.saturating_sub(self.at.0);
        let refill = elapsed.saturating_mul(u64::from(per_second));
        self.millis_of_messages = self.millis_of_messages.saturating_add(refill).min(u64::from(burst) * 1000);
        self.at = self.at.max(now);
        let available = self.millis_of_messages >= 1000;
        if available {
            self.millis_of_messages -= 1000;
        }
        available
    }
}

/// Beyond this many (document, author, session) entries, the dedup table is
/// cleared: at worst one duplicate gets through, memory stays bounded.
pub(super) const MAX_EPHEMERAL_SESSIONS: usize = 16 * 1024;

impl Repo {
    pub(super) fn on_ephemeral(&mut self, from: ConnId, doc: &DocumentId, m: EphemeralMessage, out: &mut Vec<Output>) {
        if self.ephemeral_seen.len() >= MAX_EPHEMERAL_SESSIONS {
            self.ephemeral_seen.clear();
        }
        let last = self.ephemeral_seen.entry((doc.clone(), m.sender.clone(), m.session.clone())).or_insert(0);
        if m.count <= *last && *last != 0 {
            return; // Seen already (it reached us by two paths).
        }
        *last = m.count;
        if self.docs.get(doc).is_some_and(|d| d.locally_open) {
            out.push(Output::Ephemeral { doc: doc.clone(), sender: m.sender.clone(), data: m.data.clone() });
        }
        for (conn, peer) in self.allowed_peers(doc).into_iter().filter(|(c, _)| *c != from) {
            let forwarded = EphemeralMessage { target: peer, ..m.clone() };
            out.push(Output::Send { conn, bytes: Message::Ephemeral(forwarded).encode().into() });
        }
    }

    /// Takes one ephemeral message from the connection's allowance; `false`
    /// means drop it. The first drop after an accepted message is logged as
    /// a warning, the others at debug level, so a flood does not flood logs.
    pub(super) fn ephemeral_allowed(&mut self, now: UnixMillis, conn: ConnId) -> bool {
        let (per_second, burst) = (self.config.ephemeral_per_second, self.config.ephemeral_burst);
        let Some(state) = self.conns.get_mut(&conn) else { return false };
        if state.ephemeral.take(now, per_second, burst) {
            state.ephemeral.dropping = false;
            return true;
        }
        if !std::mem::replace(&mut state.ephemeral.dropping, true) {
            tracing::warn!(%conn, per_second, burst, "ephemeral messages over the rate; dropping them");
        } else {
            tracing::debug!(%conn, "ephemeral message dropped (rate)");
        }
        false
    }

    pub(super) fn on_broadcast(&mut self, doc: DocumentId, data: Vec<u8>, out: &mut Vec<Output>) {
        self.ephemeral_count += 1;
        for (conn, peer) in self.allowed_peers(&doc) {
            let message = EphemeralMessage {
                sender: self.config.peer_id.clone(),
                target: peer,
                document: doc.clone(),
                session: self.config.session_id.clone(),
                count: self.ephemeral_count,
                data: data.clone(),
            };
            out.push(Output::Send { conn, bytes: Message::Ephemeral(message).encode().into() });
        }
    }

    /// Handshaken connections that touched the document and may see it.
    pub(super) fn allowed_peers(&self, doc: &DocumentId) -> Vec<(ConnId, PeerId)> {
        let Some(conns) = self.doc_conns.get(doc) else { return Vec::new() };
        conns
            .iter()
            .filter_map(|c| {
                let state = self.conns.get(c)?;
                let ConnPhase::Ready { peer, .. } = &state.phase else { return None };
                state.docs.get(doc)?.may_read().then(|| (*c, peer.clone()))
            })
            .collect()
    }
}
