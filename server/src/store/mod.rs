//! Where documents are stored, behind one interface with two backends:
//! SQLite in the data directory (the default, `sqlite.rs`) and, with the
//! `cluster` feature, PostgreSQL shared by several relays (`postgres.rs`).
//!
//! [`Backend`] is what the storage thread drives: atomic group commits,
//! loads, one value. [`Reader`] is what the HTTP readers (feeds, chunks)
//! use, on their own connection, seeing only committed data. [`Storage`]
//! says which backend a relay uses and opens both. The key layout is
//! `sync-core`'s ([`StorageKey`]), the same in both.
//!
//! The thread ([`Store::spawn`]) serves requests in the order they were
//! sent. Consecutive writes are applied in one transaction (group commit:
//! whatever queued up while the previous commit was running), and a load
//! first commits the writes sent before it. Each commit is acknowledged
//! with the sequence number of the last write it holds, which is what lets
//! the hub release the messages that advertise those writes. After the
//! commit, and only then, a cluster relay announces the chunks it wrote
//! (`crate::cluster`).
//!
//! On a storage error the thread reports it and stops: the relay must not
//! go on serving what it cannot persist. PostgreSQL's backend first waits
//! for the server to come back when the connection was lost (the writes
//! stay unacknowledged meanwhile, so nothing they hold is advertised).
//!
//! It does not decide what to write (the repo does) nor who may read (the
//! gate does).

pub(crate) mod sqlite;

#[cfg(feature = "cluster")]
pub(crate) mod postgres;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use sync_core::{DocumentId, StorageKey, StorageWrite};
use tokio::sync::mpsc;

use crate::hub::Event;
use crate::metrics::Metrics;

pub use sqlite::DATABASE_FILE;
pub(crate) use sqlite::{document_entries, open_database, open_read_only, sqlite};

/// Most writes grouped in one transaction.
const MAX_GROUP: usize = 256;

/// Why storage failed. Fatal for the relay.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// SQLite refused an operation.
    #[error("SQLite error while {action}: {source}")]
    Sqlite {
        /// What the relay was doing.
        action: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// PostgreSQL refused an operation.
    #[cfg(feature = "cluster")]
    #[error("PostgreSQL error while {action}: {source}")]
    Postgres {
        /// What the relay was doing.
        action: &'static str,
        /// What PostgreSQL said.
        source: ::postgres::Error,
    },
    /// `--storage` names no backend this build has.
    #[error("unknown storage {0:?}: use a postgres:// URL (cluster builds) or leave it out for SQLite")]
    UnknownStorage(String),
    /// The storage thread could not be started.
    #[error("cannot start the storage thread: {0}")]
    Thread(std::io::Error),
}

/// A document's stored entries, in key order.
pub type Entries = Vec<(StorageKey, Vec<u8>)>;

/// What the storage thread drives. Implementations commit atomically and
/// durably before returning; `tests/it/stockage.rs` runs one conformance
/// suite against both.
pub trait Backend: Send + 'static {
    /// One stored value.
    fn get(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Applies the writes, in order, in one transaction. Returns the new
    /// version of each document whose chunks they changed, where the
    /// backend counts versions (PostgreSQL); empty otherwise.
    fn apply(&mut self, writes: &[StorageWrite]) -> Result<Vec<(DocumentId, u64)>, StoreError>;
    /// Everything stored under the document's prefix, in key order, with
    /// the document's version read before them (0 where not counted).
    fn load(&mut self, doc: &DocumentId) -> Result<(u64, Entries), StoreError>;
    /// The stored version of each of these documents (those never written
    /// are left out); empty where the backend counts none.
    fn versions(&mut self, docs: &[DocumentId]) -> Result<Vec<(DocumentId, u64)>, StoreError>;
    /// Writes whatever the backend held back (sync states alone): called
    /// when no request came for [`FLUSH_IDLE`] and before the thread ends.
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// [`Backend::flush`] if the backend's period for held writes has
    /// passed: called after each commit is acknowledged.
    fn flush_if_due(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// How long the storage thread waits for a request before flushing what
/// its backend held back.
const FLUSH_IDLE: Duration = Duration::from_secs(1);

/// How often sync states alone are written, at most.
pub(crate) const SYNC_STATE_PERIOD: Duration = Duration::from_secs(1);

/// Writes of sync states alone, held back by either backend and written at
/// most once a [`SYNC_STATE_PERIOD`], in a transaction of their own after
/// the data commit before them was acknowledged. A sync state is advisory
/// (losing one costs a longer sync, never data), and every reader's
/// acknowledgement of every change moves one: written as they come, they
/// were most of a busy relay's commits and `fsync`s.
#[derive(Debug)]
pub(crate) struct HeldSyncStates {
    /// The last operation per key: `Some` puts those bytes, `None` deletes.
    held: std::collections::BTreeMap<StorageKey, Option<Vec<u8>>>,
    last_flush: Instant,
}

impl HeldSyncStates {
    pub(crate) fn new() -> HeldSyncStates {
        HeldSyncStates { held: std::collections::BTreeMap::new(), last_flush: Instant::now() }
    }

    /// The writes of `group` to apply now, in order. A write of sync states
    /// alone is held instead, unless an earlier write of the group touched
    /// one of its keys (the later must land after it); a write holding data
    /// supersedes what was held under its keys (it is newer).
    pub(crate) fn split<'a>(&mut self, group: &'a [StorageWrite]) -> Vec<&'a StorageWrite> {
        let mut now = Vec::with_capacity(group.len());
        let mut touched: std::collections::BTreeSet<&StorageKey> = std::collections::BTreeSet::new();
        for write in group {
            let mut keys = write.delete.iter().chain(write.put.iter().map(|(key, _)| key));
            let advisory = keys.clone().all(StorageKey::is_sync_state) && !keys.any(|key| touched.contains(key));
            if advisory {
                for key in &write.delete {
                    self.held.insert(key.clone(), None);
                }
                for (key, value) in &write.put {
                    self.held.insert(key.clone(), Some(value.clone()));
                }
                continue;
            }
            for key in write.delete.iter().chain(write.put.iter().map(|(key, _)| key)) {
                self.held.remove(key);
                touched.insert(key);
            }
            now.push(write);
        }
        now
    }

    /// Whether a period has passed since the last flush.
    pub(crate) fn due(&self) -> bool {
        self.last_flush.elapsed() >= SYNC_STATE_PERIOD
    }

    /// Everything held, as one write, and a new period; `None` if nothing
    /// is held.
    pub(crate) fn take(&mut self) -> Option<StorageWrite> {
        if self.held.is_empty() {
            return None;
        }
        self.last_flush = Instant::now();
        let mut write = StorageWrite { put: Vec::new(), delete: Vec::new() };
        for (key, op) in std::mem::take(&mut self.held) {
            match op {
                Some(value) => write.put.push((key, value)),
                None => write.delete.push(key),
            }
        }
        Some(write)
    }
}

/// What an HTTP reader reads: committed data only.
pub trait Reader {
    /// Every entry stored under a document's prefix, in key order.
    fn entries(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError>;
    /// The key and size of every entry under a document's prefix, in key
    /// order, without the values.
    fn sizes(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, u64)>, StoreError>;
    /// One stored value.
    fn value(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Where a relay's documents are: its one choice of backend, cheap to
/// clone into every HTTP handler.
#[derive(Clone)]
pub enum Storage {
    /// `essaim.sqlite3` in this data directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database shared by the relays of a cluster.
    #[cfg(feature = "cluster")]
    Postgres(Arc<postgres::Pool>),
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::Sqlite(dir) => write!(f, "SQLite in {}", dir.display()),
            #[cfg(feature = "cluster")]
            Storage::Postgres(pool) => write!(f, "PostgreSQL at {}", pool.redacted_url()),
        }
    }
}

impl Storage {
    /// The storage `--storage` names (a `postgres://` URL), else SQLite in
    /// `data_dir`. PostgreSQL's schema is migrated here, before anything
    /// reads it.
    pub fn open(url: Option<&str>, data_dir: &Path) -> Result<Storage, StoreError> {
        match url {
            None | Some("") => Ok(Storage::Sqlite(data_dir.to_owned())),
            #[cfg(feature = "cluster")]
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Storage::Postgres(Arc::new(postgres::Pool::open(url)?)))
            }
            Some(other) => Err(StoreError::UnknownStorage(other.to_owned())),
        }
    }

    /// A reader on its own connection (blocking: call it off the runtime).
    pub fn reader(&self) -> Result<Box<dyn Reader>, StoreError> {
        match self {
            Storage::Sqlite(dir) => Ok(Box::new(open_read_only(dir)?)),
            #[cfg(feature = "cluster")]
            Storage::Postgres(pool) => Ok(Box::new(pool.reader()?)),
        }
    }

    /// The storage thread's backend, on a connection of its own (the
    /// conformance tests drive two at once).
    pub fn backend(&self) -> Result<Box<dyn Backend>, StoreError> {
        match self {
            Storage::Sqlite(dir) => Ok(Box::new(sqlite::SqliteBackend::open(dir)?)),
            #[cfg(feature = "cluster")]
            Storage::Postgres(pool) => Ok(Box::new(pool.backend()?)),
        }
    }

    /// Whether it takes writes now (false while PostgreSQL is out of reach
    /// and the storage thread waits for it).
    pub fn is_reachable(&self) -> bool {
        match self {
            Storage::Sqlite(_) => true,
            #[cfg(feature = "cluster")]
            Storage::Postgres(pool) => !pool.is_unreachable(),
        }
    }

    /// Whether several relays may share it (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        !matches!(self, Storage::Sqlite(_))
    }
}

/// A request to the storage thread.
#[derive(Debug)]
pub(crate) enum Request {
    /// Apply atomically; acknowledged with [`Event::Committed`] once durable.
    Write { seq: u64, write: StorageWrite },
    /// Answered with [`Event::Loaded`].
    Load { doc: DocumentId },
    /// A cluster's repair pass over the documents the hub holds in memory:
    /// each whose stored version moved past what this relay took in is
    /// answered with [`Event::Repaired`] (its chunks, read after its version).
    Repair { docs: Vec<DocumentId> },
    /// The hub took in an announced chunk that brought `doc` to `version`.
    #[cfg(feature = "cluster")]
    Seen { doc: DocumentId, version: u64 },
    /// Read `doc` again now (an announced chunk too large to carry):
    /// answered with [`Event::Repaired`].
    #[cfg(feature = "cluster")]
    Refresh { doc: DocumentId },
}

/// What this relay has taken in of each document it holds: the stored
/// version its copy is known to include. A version is taken only when it
/// follows the one known (a load reads it before the chunks, a commit or an
/// announcement moves it by one); any gap is left for the repair, which
/// reads the version then everything after it.
#[derive(Debug, Default)]
pub(crate) struct Versions {
    known: std::collections::HashMap<DocumentId, u64>,
}

impl Versions {
    /// A load read `version` before the chunks.
    pub(crate) fn loaded(&mut self, doc: &DocumentId, version: u64) {
        self.known.insert(doc.clone(), version);
    }

    /// A commit or an announcement brought `doc` to `version`: taken if
    /// it follows the version known.
    pub(crate) fn advanced(&mut self, doc: &DocumentId, version: u64) {
        if let Some(known) = self.known.get_mut(doc)
            && version == *known + 1
        {
            *known = version;
        }
    }

    /// Keeps only `docs` (those in memory) and returns those of them whose
    /// stored version is past the one known.
    pub(crate) fn stale(&mut self, docs: &[DocumentId], stored: &[(DocumentId, u64)]) -> Vec<DocumentId> {
        let held: std::collections::HashSet<&DocumentId> = docs.iter().collect();
        self.known.retain(|doc, _| held.contains(doc));
        stored
            .iter()
            .filter(|(doc, version)| self.known.get(doc).is_some_and(|known| version > known))
            .map(|(doc, _)| doc.clone())
            .collect()
    }
}

/// What the storage thread tells the cluster after each commit: the
/// chunks it wrote and the versions they made, to announce.
#[cfg(feature = "cluster")]
#[derive(Debug)]
pub(crate) struct Committed {
    /// Chunk keys written, with their bytes.
    pub(crate) chunks: Vec<(StorageKey, Vec<u8>)>,
    /// Each changed document's new version.
    pub(crate) versions: Vec<(DocumentId, u64)>,
}

/// The storage thread's backend, before its thread starts.
pub(crate) struct Store {
    backend: Box<dyn Backend>,
    /// Where a cluster relay's commits are announced, if it is one.
    #[cfg(feature = "cluster")]
    announce: Option<mpsc::UnboundedSender<Committed>>,
    versions: Versions,
}

impl Store {
    /// The backend of `storage`.
    pub(crate) fn open(storage: &Storage) -> Result<Store, StoreError> {
        Ok(Store {
            backend: storage.backend()?,
            #[cfg(feature = "cluster")]
            announce: None,
            versions: Versions::default(),
        })
    }

    /// Announces each commit's chunks there (after the commit).
    #[cfg(feature = "cluster")]
    pub(crate) fn announce_to(&mut self, announce: mpsc::UnboundedSender<Committed>) {
        self.announce = Some(announce);
    }

    /// Reads one value.
    pub(crate) fn get(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(key)
    }

    /// Applies writes in one transaction.
    pub(crate) fn apply(&mut self, writes: &[StorageWrite]) -> Result<(), StoreError> {
        self.backend.apply(writes).map(drop)
    }

    /// Starts the storage thread. Requests come in on the returned sender;
    /// answers go to the hub as events.
    pub(crate) fn spawn(
        self,
        events: mpsc::Sender<Event>,
        metrics: Arc<Metrics>,
    ) -> Result<(std_mpsc::Sender<Request>, std::thread::JoinHandle<()>), StoreError> {
        let (tx, rx) = std_mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("essaim-storage".into())
            .spawn(move || {
                if let Err(error) = self.serve(&rx, &events, &metrics) {
                    tracing::error!(%error, "storage failed; stopping the relay");
                    let _ = events.blocking_send(Event::StoreFailed { error });
                }
            })
            .map_err(StoreError::Thread)?;
        Ok((tx, handle))
    }

    /// Serves requests until every sender is dropped.
    fn serve(
        mut self,
        rx: &std_mpsc::Receiver<Request>,
        events: &mpsc::Sender<Event>,
        metrics: &Metrics,
    ) -> Result<(), StoreError> {
        let mut pending: Vec<StorageWrite> = Vec::new();
        let mut last_seq = 0;
        loop {
            let first = match rx.recv_timeout(FLUSH_IDLE) {
                Ok(first) => first,
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    self.backend.flush()?;
                    continue;
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            };
            // Take whatever queued up meanwhile: that is the group commit.
            let batch = std::iter::once(first).chain(rx.try_iter().take(MAX_GROUP));
            for request in batch {
                match request {
                    Request::Write { seq, write } => {
                        pending.push(write);
                        last_seq = seq;
                    }
                    Request::Load { doc } => {
                        self.commit(&mut pending, last_seq, events, metrics)?;
                        let (version, entries) = self.backend.load(&doc)?;
                        self.versions.loaded(&doc, version);
                        if events.blocking_send(Event::Loaded { doc, entries }).is_err() {
                            return Ok(()); // The hub is gone.
                        }
                    }
                    #[cfg(feature = "cluster")]
                    Request::Seen { doc, version } => self.versions.advanced(&doc, version),
                    #[cfg(feature = "cluster")]
                    Request::Refresh { doc } => {
                        self.commit(&mut pending, last_seq, events, metrics)?;
                        if !self.read_again(doc, events, metrics)? {
                            return Ok(());
                        }
                    }
                    Request::Repair { docs } => {
                        self.commit(&mut pending, last_seq, events, metrics)?;
                        if !self.repair(&docs, events, metrics)? {
                            return Ok(());
                        }
                    }
                }
            }
            self.commit(&mut pending, last_seq, events, metrics)?;
        }
        self.backend.flush()
    }

    /// One repair pass; `false` when the hub is gone.
    fn repair(
        &mut self,
        docs: &[DocumentId],
        events: &mpsc::Sender<Event>,
        metrics: &Metrics,
    ) -> Result<bool, StoreError> {
        let stored = self.backend.versions(docs)?;
        for doc in self.versions.stale(docs, &stored) {
            if !self.read_again(doc, events, metrics)? {
                return Ok(false);
            }
        }
        metrics.cluster.repair_pass_done();
        Ok(events.blocking_send(Event::RepairPassDone).is_ok())
    }

    /// Reads a document's version then its chunks and hands them to the
    /// hub; `false` when the hub is gone.
    fn read_again(
        &mut self,
        doc: DocumentId,
        events: &mpsc::Sender<Event>,
        metrics: &Metrics,
    ) -> Result<bool, StoreError> {
        let (version, entries) = self.backend.load(&doc)?;
        self.versions.loaded(&doc, version);
        let chunks = entries.into_iter().filter(|(key, _)| key.as_chunk().is_some()).collect();
        metrics.cluster.repaired();
        Ok(events.blocking_send(Event::Repaired { doc, chunks }).is_ok())
    }

    fn commit(
        &mut self,
        pending: &mut Vec<StorageWrite>,
        seq: u64,
        events: &mpsc::Sender<Event>,
        metrics: &Metrics,
    ) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let versions = self.backend.apply(pending)?;
        metrics.observe_commit(started.elapsed(), pending.len());
        for (doc, version) in &versions {
            self.versions.advanced(doc, *version);
        }
        #[cfg(feature = "cluster")]
        if let Some(announce) = &self.announce {
            let chunks = pending
                .drain(..)
                .flat_map(|write| write.put)
                .filter(|(key, _)| key.as_chunk().is_some())
                .collect::<Vec<_>>();
            if !chunks.is_empty() {
                let _ = announce.send(Committed { chunks, versions });
            }
        }
        pending.clear();
        // If the hub is gone there is nobody left to tell.
        let _ = events.blocking_send(Event::Committed { seq });
        // Held sync states go after the acknowledgement, never before the
        // data they follow.
        self.backend.flush_if_due()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u8) -> DocumentId {
        DocumentId::from_bytes(&[n; 16]).expect("valid id")
    }

    #[test]
    fn a_version_is_taken_only_when_it_follows_the_known_one() {
        let mut versions = Versions::default();
        versions.loaded(&doc(1), 3);
        versions.advanced(&doc(1), 5); // 4 was another relay's, missed
        versions.advanced(&doc(2), 1); // not held
        assert_eq!(versions.stale(&[doc(1), doc(2)], &[(doc(1), 5), (doc(2), 1)]), vec![doc(1)]);
        versions.advanced(&doc(1), 4);
        versions.advanced(&doc(1), 5);
        assert!(versions.stale(&[doc(1)], &[(doc(1), 5)]).is_empty());
        // A document no longer in memory is forgotten.
        assert!(versions.stale(&[], &[(doc(1), 6)]).is_empty());
        assert!(versions.stale(&[doc(1)], &[(doc(1), 6)]).is_empty());
    }
}
