//! SQLite storage, the default backend: one file in the data directory.
//!
//! Layout: one table `kv(key TEXT PRIMARY KEY, value BLOB)`, keys being
//! `sync-core`'s [`StorageKey`]s joined with `/` (components never contain
//! `/`). Everything stored about a document is then the range
//! `key >= 'doc/' AND key < 'doc0'` (`0` is the character after `/`), as in
//! the protocol reference §15. The key layout itself belongs to `sync-core`.
//!
//! The database runs in WAL mode with `synchronous = FULL`: an acknowledged
//! commit survives `kill -9` and power loss. Writes of sync states alone
//! are held back and written at most once a second, as in PostgreSQL
//! ([`super::HeldSyncStates`]). The relay's other tables
//! (territories, invitations, candidatures, national sheets) live in the
//! same file, on their own connections.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sync_core::{DocumentId, StorageKey, StorageWrite};

use super::{Backend, Entries, HeldSyncStates, Reader, StoreError};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "essaim.sqlite3";

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

/// The storage thread's SQLite connection.
pub(crate) struct SqliteBackend {
    conn: Connection,
    /// Writes of sync states alone, held until the next flush.
    held: HeldSyncStates,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database in `data_dir`.
    pub(crate) fn open(data_dir: &Path) -> Result<SqliteBackend, StoreError> {
        let conn = open_database(data_dir)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )
        .map_err(sqlite("preparing the schema"))?;
        Ok(SqliteBackend { conn, held: HeldSyncStates::new() })
    }
}

impl Backend for SqliteBackend {
    fn get(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        read_value(&self.conn, key)
    }

    fn apply(&mut self, writes: &[StorageWrite]) -> Result<Vec<(DocumentId, u64)>, StoreError> {
        let now = self.held.split(writes);
        if now.is_empty() {
            return Ok(Vec::new());
        }
        write_group(&mut self.conn, now)?;
        Ok(Vec::new())
    }

    fn load(&mut self, doc: &DocumentId) -> Result<(u64, Entries), StoreError> {
        Ok((0, document_entries(&self.conn, doc)?))
    }

    fn versions(&mut self, _docs: &[DocumentId]) -> Result<Vec<(DocumentId, u64)>, StoreError> {
        Ok(Vec::new())
    }

    fn flush_if_due(&mut self) -> Result<(), StoreError> {
        if !self.held.due() {
            return Ok(());
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        match self.held.take() {
            Some(write) => write_group(&mut self.conn, [&write]),
            None => Ok(()),
        }
    }
}

/// Applies the writes, in order, in one transaction.
fn write_group<'a>(
    conn: &mut Connection,
    writes: impl IntoIterator<Item = &'a StorageWrite>,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(sqlite("beginning a transaction"))?;
    {
        let mut put = tx
            .prepare_cached("INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)")
            .map_err(sqlite("preparing a write"))?;
        // A chunk's bytes never change under its key (the first written
        // stays), as in PostgreSQL.
        let mut put_once = tx
            .prepare_cached("INSERT OR IGNORE INTO kv (key, value) VALUES (?1, ?2)")
            .map_err(sqlite("preparing a write"))?;
        let mut delete = tx.prepare_cached("DELETE FROM kv WHERE key = ?1").map_err(sqlite("preparing a delete"))?;
        for write in writes {
            for key in &write.delete {
                delete.execute(params![key.to_string()]).map_err(sqlite("deleting"))?;
            }
            for (key, value) in &write.put {
                let statement = if key.as_chunk().is_some() { &mut put_once } else { &mut put };
                statement.execute(params![key.to_string(), value]).map_err(sqlite("writing"))?;
            }
        }
    }
    tx.commit().map_err(sqlite("committing"))
}

impl Reader for Connection {
    fn entries(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
        document_entries(self, doc)
    }

    fn sizes(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, u64)>, StoreError> {
        document_sizes(self, doc)
    }

    fn value(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        read_value(self, key)
    }
}
