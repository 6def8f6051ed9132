//! SQLite storage: one `std::thread` owns the `rusqlite::Connection`.
//!
//! Layout: one table `kv(key TEXT PRIMARY KEY, value BLOB)`, keys being
//! `sync-core`'s [`StorageKey`]s joined with `/` (components never contain
//! `/`). Everything stored about a document is then the range
//! `key >= 'doc/' AND key < 'doc0'` (`0` is the character after `/`), as in
//! the protocol reference §15. The key layout itself belongs to `sync-core`.
//!
//! The thread serves requests in the order they were sent. Consecutive
//! writes are applied in one transaction (group commit: whatever queued up
//! while the previous commit was running), and a load first commits the
//! writes sent before it. Each commit is acknowledged with the sequence
//! number of the last write it holds, which is what lets the hub release
//! the messages that advertise those writes. The database runs in WAL mode
//! with `synchronous = FULL`: an acknowledged commit survives `kill -9` and
//! power loss.
//!
//! On any SQLite error the thread reports it and stops: the relay must not
//! go on serving what it cannot persist.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sync_core::{DocumentId, StorageKey, StorageWrite};
use tokio::sync::mpsc;

use crate::hub::Event;
use crate::metrics::Metrics;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "essaim.sqlite3";

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
    /// The storage thread could not be started.
    #[error("cannot start the storage thread: {0}")]
    Thread(std::io::Error),
}

pub(crate) fn sqlite(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { action, source }
}

/// A connection to the database in `data_dir` (created with the directory
/// if missing), in WAL mode with `synchronous = FULL`, waiting up to 5 s
/// for another connection's lock: the storage thread's, and the
/// invitations' (relay and CLI), share these settings.
pub(crate) fn open_database(data_dir: &Path) -> Result<Connection, StoreError> {
    private_files(data_dir).map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
    let conn = Connection::open(data_dir.join(DATABASE_FILE)).map_err(sqlite("opening the database"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(sqlite("preparing the database"))?;
    Ok(conn)
}

/// Creates the data directory (mode 0700) and the database file (0600)
/// if missing, and takes group and other permissions off an existing
/// database and its `-wal` and `-shm` (SQLite gives those the database's
/// mode): they hold every territory, private ones included, and the
/// invitations' hashes.
fn private_files(data_dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir)?;
        // Never open an existing database file here: closing any descriptor
        // of a file drops every POSIX lock this process holds on it,
        // SQLite's included, and another process would then believe it the
        // last user and delete the WAL under our connections. `create_new`
        // opens nothing when the file exists.
        let database = data_dir.join(DATABASE_FILE);
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&database) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = data_dir.join(format!("{DATABASE_FILE}{suffix}"));
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(meta.permissions().mode() & 0o700))?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(data_dir)
}

/// A read-only connection to the database in `data_dir`, for the HTTP
/// readers (feeds, chunks): it sees only committed data (WAL), never
/// delays the storage thread's commits, and cannot write.
pub(crate) fn open_read_only(data_dir: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(data_dir.join(DATABASE_FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite("opening the database read-only"))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite("preparing the database"))?;
    Ok(conn)
}

/// A stored key back as a [`StorageKey`]; `None` (logged) for one this
/// version does not write.
fn parse_key(key: &str) -> Option<StorageKey> {
    let parsed = StorageKey::from_text(key);
    if parsed.is_none() {
        tracing::warn!(%key, "ignoring a stored key this version does not write");
    }
    parsed
}

/// Every entry stored under a document's prefix, in key order.
pub(crate) fn document_entries(conn: &Connection, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key")
        .map_err(sqlite("preparing a load"))?;
    let (from, to) = StorageKey::document_range(doc);
    let rows = stmt
        .query_map(params![from, to], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .map_err(sqlite("loading"))?;
    let mut entries = Vec::new();
    for row in rows {
        let (key, value) = row.map_err(sqlite("loading"))?;
        entries.extend(parse_key(&key).map(|key| (key, value)));
    }
    Ok(entries)
}

/// The key and size of every entry stored under a document's prefix, in
/// key order, without reading the values.
pub(crate) fn document_sizes(conn: &Connection, doc: &DocumentId) -> Result<Vec<(StorageKey, u64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT key, length(value) FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key")
        .map_err(sqlite("preparing a listing"))?;
    let (from, to) = StorageKey::document_range(doc);
    let rows = stmt
        .query_map(params![from, to], |row| Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?)))
        .map_err(sqlite("listing"))?;
    let mut entries = Vec::new();
    for row in rows {
        let (key, size) = row.map_err(sqlite("listing"))?;
        entries.extend(parse_key(&key).map(|key| (key, size)));
    }
    Ok(entries)
}

/// One stored value.
pub(crate) fn read_value(conn: &Connection, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
    conn.query_row("SELECT value FROM kv WHERE key = ?1", params![key.to_string()], |row| row.get(0))
        .optional()
        .map_err(sqlite("reading a value"))
}

/// A request to the storage thread.
#[derive(Debug)]
pub(crate) enum Request {
    /// Apply atomically; acknowledged with [`Event::Committed`] once durable.
    Write { seq: u64, write: StorageWrite },
    /// Answered with [`Event::Loaded`].
    Load { doc: DocumentId },
}

/// The open database, before its thread starts.
pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`.
    pub(crate) fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let conn = open_database(data_dir)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )
        .map_err(sqlite("preparing the schema"))?;
        Ok(Store { conn })
    }

    /// Reads one value.
    pub(crate) fn get(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        read_value(&self.conn, key)
    }

    /// Applies writes in one transaction.
    pub(crate) fn apply(&mut self, writes: &[StorageWrite]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sqlite("beginning a transaction"))?;
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)")
                .map_err(sqlite("preparing a write"))?;
            let mut delete =
                tx.prepare_cached("DELETE FROM kv WHERE key = ?1").map_err(sqlite("preparing a delete"))?;
            for write in writes {
                for key in &write.delete {
                    delete.execute(params![key.to_string()]).map_err(sqlite("deleting"))?;
                }
                for (key, value) in &write.put {
                    put.execute(params![key.to_string(), value]).map_err(sqlite("writing"))?;
                }
            }
        }
        tx.commit().map_err(sqlite("committing"))
    }

    /// Every entry stored under the document's prefix.
    fn load(&self, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
        document_entries(&self.conn, doc)
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
            .name("essaim-sqlite".into())
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
        while let Ok(first) = rx.recv() {
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
                        let entries = self.load(&doc)?;
                        if events.blocking_send(Event::Loaded { doc, entries }).is_err() {
                            return Ok(()); // The hub is gone.
                        }
                    }
                }
            }
            self.commit(&mut pending, last_seq, events, metrics)?;
        }
        Ok(())
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
        self.apply(pending)?;
        metrics.observe_commit(started.elapsed(), pending.len());
        pending.clear();
        // If the hub is gone there is nobody left to tell.
        let _ = events.blocking_send(Event::Committed { seq });
        Ok(())
    }
}
