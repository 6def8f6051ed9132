//! Several relays behind one address (`cluster` feature): what a relay
//! tells the others over NATS core, and what it takes from them.
//!
//! After each commit to the shared PostgreSQL (and only then: the storage
//! thread hands the committed chunks over once `COMMIT` returned), a relay
//! publishes one message per chunk on `<prefix>.doc.<document id>`: headers
//! `Essaim-Relay` (who), `Essaim-Chunk` (the storage key), `Essaim-Version`
//! (the document's version after that commit), the chunk's bytes inline up
//! to [`INLINE_MAX`], else none and `Essaim-Pointer: 1` (read it from
//! PostgreSQL). Every relay listens on `<prefix>.doc.*`, drops its own
//! messages, decodes the others' strictly ([`Announced::decode`]) and hands
//! them to the hub, which feeds a document in memory
//! `Input::CommittedElsewhere` and asks storage to read a pointer's chunks.
//!
//! NATS is an accelerator, not a source of truth: a lost message costs the
//! time until the next repair pass (`store::Versions`, every
//! `--repair-interval-ms`), never data. NATS sits inside the cluster's
//! trust boundary like PostgreSQL (credentials, private network:
//! `docs/deploy.md`); what arrives is still bounded and checked (a chunk key
//! of the subject's document, a size) before the repo sees it.
//!
//! It does not decide anything about documents (the repo does) and never
//! writes storage.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::{DocumentId, StorageKey};
use tokio::sync::mpsc;

use crate::hub::Event;
use crate::metrics::Metrics;
use crate::store::Committed;

/// Largest chunk sent inline; larger ones go as a pointer. NATS's default
/// message limit is 1 MiB.
pub(crate) const INLINE_MAX: usize = 256 * 1024;

const RELAY: &str = "Essaim-Relay";
const CHUNK: &str = "Essaim-Chunk";
const VERSION: &str = "Essaim-Version";
const POINTER: &str = "Essaim-Pointer";

/// Why joining the cluster failed (fatal at start).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// NATS did not answer.
    #[error("cannot reach NATS at {url}: {source}")]
    Connect {
        /// Where.
        url: String,
        /// What the client said.
        source: async_nats::ConnectError,
    },
    /// The subscription was refused.
    #[error("cannot subscribe to {subject}: {source}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// What the client said.
        source: async_nats::SubscribeError,
    },
}

/// Why a received announcement was dropped.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnnounceError {
    #[error("subject is not <prefix>.doc.<document id>")]
    Subject,
    #[error("missing or malformed {0} header")]
    Header(&'static str),
    #[error("the key is not a chunk of the subject's document")]
    Key,
    #[error("inline chunk of {0} bytes, at most {INLINE_MAX}")]
    TooLarge(usize),
}

/// Another relay's commit of one chunk, as received.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Announced {
    pub(crate) doc: DocumentId,
    /// The document's version after that commit.
    pub(crate) version: u64,
    pub(crate) key: StorageKey,
    /// The bytes; `None` for a pointer (read them from storage).
    pub(crate) bytes: Option<Vec<u8>>,
}

/// The subject of a document's announcements.
pub(crate) fn subject(prefix: &str, doc: &DocumentId) -> String {
    format!("{prefix}.doc.{doc}")
}

impl Announced {
    /// Decodes a message on `subject`; `Ok(None)` for one of `relay`'s own.
    pub(crate) fn decode(
        prefix: &str,
        relay: &str,
        subject: &str,
        header: impl Fn(&str) -> Option<String>,
        payload: &[u8],
    ) -> Result<Option<Announced>, AnnounceError> {
        let doc: DocumentId = subject
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(".doc."))
            .and_then(|id| id.parse().ok())
            .ok_or(AnnounceError::Subject)?;
        let from = header(RELAY).ok_or(AnnounceError::Header(RELAY))?;
        if from == relay {
            return Ok(None);
        }
        let version = header(VERSION).and_then(|v| v.parse().ok()).ok_or(AnnounceError::Header(VERSION))?;
        let key = header(CHUNK).and_then(|k| StorageKey::from_text(&k)).ok_or(AnnounceError::Header(CHUNK))?;
        if !key.starts_with(&StorageKey::document_prefix(&doc)) || key.as_chunk().is_none() {
            return Err(AnnounceError::Key);
        }
        if payload.len() > INLINE_MAX {
            return Err(AnnounceError::TooLarge(payload.len()));
        }
        let bytes = match header(POINTER).as_deref() {
            Some("1") => None,
            _ if payload.is_empty() => return Err(AnnounceError::Header(POINTER)),
            _ => Some(payload.to_vec()),
        };
        Ok(Some(Announced { doc, version, key, bytes }))
    }
}

/// A relay joined to NATS.
pub(crate) struct Cluster {
    client: async_nats::Client,
    prefix: String,
    relay: String,
    /// The subscription to the cluster's announcements, until `listen`
    /// takes it.
    subscriber: Mutex<Option<async_nats::Subscriber>>,
}

/// How long a relay waits at start for NATS to confirm its subscription.
const JOIN_WAIT: Duration = Duration::from_secs(2);

impl Cluster {
    /// Connects to NATS, in the background: a relay starts and serves
    /// while NATS is down (the repair passes carry the changes meanwhile),
    /// and reconnects every 100 ms to 1 s, so announcements resume soon
    /// after it returns. Only a malformed URL fails here.
    pub(crate) async fn join(url: &str, prefix: &str, relay: &str) -> Result<Cluster, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("essaim {relay}"))
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| Duration::from_millis((100 * attempts as u64).min(1000)))
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|source| ClusterError::Connect { url: url.to_owned(), source })?;
        let wildcard = format!("{prefix}.doc.*");
        let subscriber = client
            .subscribe(wildcard.clone())
            .await
            .map_err(|source| ClusterError::Subscribe { subject: wildcard, source })?;
        // When NATS is up, serve only once the subscription is on the
        // server, so no announcement after our start is missed.
        if tokio::time::timeout(JOIN_WAIT, client.flush()).await.is_err() {
            tracing::warn!(%url, "NATS does not answer yet: repairs only until it does");
        }
        Ok(Cluster {
            client,
            prefix: prefix.to_owned(),
            relay: relay.to_owned(),
            subscriber: Mutex::new(Some(subscriber)),
        })
    }

    /// Publishes what the storage thread committed, as it comes. A publish
    /// that fails is dropped (the repair covers it).
    pub(crate) async fn announce(
        self: Arc<Self>,
        mut committed: mpsc::UnboundedReceiver<Committed>,
        metrics: Arc<Metrics>,
    ) {
        while let Some(Committed { chunks, versions }) = committed.recv().await {
            for (key, bytes) in chunks {
                let Some(doc) = key.components().first().and_then(|d| d.parse::<DocumentId>().ok()) else { continue };
                let Some(version) = versions.iter().find(|(d, _)| *d == doc).map(|(_, v)| *v) else { continue };
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(RELAY, self.relay.as_str());
                headers.insert(CHUNK, key.to_string().as_str());
                headers.insert(VERSION, version.to_string().as_str());
                let payload = if bytes.len() <= INLINE_MAX {
                    bytes
                } else {
                    headers.insert(POINTER, "1");
                    Vec::new()
                };
                match self.client.publish_with_headers(subject(&self.prefix, &doc), headers, payload.into()).await {
                    Ok(()) => {
                        metrics.cluster.announcements_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => tracing::debug!(%error, %doc, "announcement not sent; the repair will cover it"),
                }
            }
        }
    }

    /// Hands the other relays' announcements to the hub until it is gone.
    pub(crate) async fn listen(self: Arc<Self>, hub: mpsc::Sender<Event>, metrics: Arc<Metrics>) {
        use futures_util::StreamExt;
        let Some(mut messages) = self.subscriber.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        while let Some(message) = messages.next().await {
            let header = |name: &str| message.headers.as_ref()?.get(name).map(|v| v.as_str().to_owned());
            match Announced::decode(&self.prefix, &self.relay, message.subject.as_str(), header, &message.payload) {
                Ok(None) => {}
                Ok(Some(announced)) => {
                    metrics.cluster.announcements_received.fetch_add(1, Ordering::Relaxed);
                    if hub.send(Event::Announced(Box::new(announced))).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    metrics.cluster.announcements_malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, subject = %message.subject, "announcement dropped");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> DocumentId {
        DocumentId::from_bytes(&[7; 16]).expect("valid id")
    }

    fn decode(subject: &str, headers: &[(&str, &str)], payload: &[u8]) -> Result<Option<Announced>, AnnounceError> {
        let header = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        Announced::decode("essaim", "a", subject, header, payload)
    }

    #[test]
    fn announcements_decode_strictly() {
        let subject = subject("essaim", &doc());
        let key = format!("{}/incremental/abc", doc());
        let good = [(RELAY, "b"), (CHUNK, key.as_str()), (VERSION, "3")];
        let announced = decode(&subject, &good, b"xyz").expect("decodes").expect("another relay's");
        assert_eq!(announced.version, 3);
        assert_eq!(announced.bytes.as_deref(), Some(&b"xyz"[..]));
        // Our own: nothing.
        assert_eq!(decode(&subject, &[(RELAY, "a"), (CHUNK, key.as_str()), (VERSION, "3")], b"x"), Ok(None));
        // A pointer has no bytes.
        let pointer = [(RELAY, "b"), (CHUNK, key.as_str()), (VERSION, "3"), (POINTER, "1")];
        assert_eq!(decode(&subject, &pointer, b"").expect("decodes").expect("another relay's").bytes, None);
        // Refused: another prefix, another document's key, a sync state, no version, too large, empty.
        assert_eq!(decode("other.doc.x", &good, b"x"), Err(AnnounceError::Subject));
        let other = format!("{}/incremental/abc", DocumentId::from_bytes(&[8; 16]).expect("valid id"));
        assert_eq!(decode(&subject, &[(RELAY, "b"), (CHUNK, &other), (VERSION, "3")], b"x"), Err(AnnounceError::Key));
        let state = format!("{}/sync-state/s", doc());
        assert_eq!(decode(&subject, &[(RELAY, "b"), (CHUNK, &state), (VERSION, "3")], b"x"), Err(AnnounceError::Key));
        assert_eq!(decode(&subject, &[(RELAY, "b"), (CHUNK, &key)], b"x"), Err(AnnounceError::Header(VERSION)));
        assert_eq!(decode(&subject, &good, &vec![0; INLINE_MAX + 1]), Err(AnnounceError::TooLarge(INLINE_MAX + 1)));
        assert_eq!(decode(&subject, &good, b""), Err(AnnounceError::Header(POINTER)));
    }
}
