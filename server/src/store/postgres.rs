//! PostgreSQL storage, shared by the relays of a cluster (`cluster`
//! feature, `essaim serve --storage postgres://…`).
//!
//! Layout: the same keys as SQLite in `kv(key text COLLATE "C" PRIMARY KEY,
//! value bytea)` (byte order, so a document is the range `doc/` … `doc0` as
//! in SQLite), and `document_versions(doc, version)`, a counter each commit
//! that puts or deletes a document's chunks bumps in the same transaction:
//! the repair compares it with what a relay took in. Migrations are
//! numbered, recorded in `essaim_migrations` and applied at start under an
//! advisory lock, so relays starting together apply each once. The
//! relay's own tables `territories` and `invitations` live here too, so
//! that every relay of a cluster sees the same ones (`invitations.rs`).
//!
//! Chunks are content-addressed: a chunk's key is written "insert if
//! absent" and its bytes never change, so two relays writing one document
//! leave both chunks; a relay deletes only the chunks its repo named (those
//! it loaded, wrote or took in), in the transaction that writes the
//! snapshot holding them, so two relays compacting at once leave the
//! union, never a loss. The storage id is inserted if absent too: the
//! first relay's id is the cluster's. Sync states alone (advisory: losing
//! one costs a longer sync) are held and written at most once a
//! [`super::SYNC_STATE_PERIOD`] ([`super::HeldSyncStates`]), in a transaction of their own after the data
//! commit has been acknowledged, so at national scale they neither
//! dominate writes nor delay the changes they follow.
//!
//! A commit is durable when it returns (`synchronous_commit = on`, set on
//! every connection). When the connection is lost the backend waits for the
//! server, reconnecting with backoff, and runs the same transaction again
//! (idempotent: inserts if absent, deletes, sync states replaced); until
//! then nothing is acknowledged, so the hub advertises nothing new.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls};
use sync_core::{DocumentId, StorageKey, StorageWrite};

use super::{Backend, Entries, HeldSyncStates, Reader, StoreError};

/// How long the storage thread waits between attempts to reach a database
/// that went away, at most.
const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Most idle reader connections kept.
const MAX_IDLE_READERS: usize = 8;

/// The schema's version once every migration is applied.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The schema, one migration per version, applied in order once each.
const MIGRATIONS: &[&str] = &[
    // 1: documents and their versions.
    r#"CREATE TABLE kv (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
       CREATE TABLE document_versions (doc text COLLATE "C" PRIMARY KEY, version bigint NOT NULL);"#,
    // 2: the relay's own tables, shared by the cluster (`invitations.rs`):
    // the same columns as in SQLite, times in ms since the epoch.
    r#"CREATE TABLE territories (
           id text COLLATE "C" PRIMARY KEY,
           created_at bigint NOT NULL,
           demonstration boolean NOT NULL DEFAULT false
       );
       CREATE TABLE invitations (
           id text COLLATE "C" PRIMARY KEY,
           territory text COLLATE "C" NOT NULL,
           role text NOT NULL,
           secret_sha256 bytea NOT NULL,
           label text,
           created_at bigint NOT NULL,
           expires_at bigint,
           revoked_at bigint
       );
       CREATE INDEX invitations_by_territory ON invitations (territory);"#,
];

pub(crate) fn pg(action: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| StoreError::Postgres { action, source }
}

/// The database's settings and idle reader connections.
pub struct Pool {
    config: Config,
    redacted: String,
    idle: Mutex<Vec<Client>>,
    /// The storage thread lost the server and is waiting for it: the
    /// relay's `/healthz` says so, so a load balancer sends devices to a
    /// relay that can acknowledge their changes.
    unreachable: std::sync::atomic::AtomicBool,
}

impl Pool {
    /// Connects once, applies pending migrations and keeps the connection
    /// for readers.
    pub(crate) fn open(url: &str) -> Result<Pool, StoreError> {
        let mut config: Config = url.parse().map_err(pg("reading the --storage URL"))?;
        config.connect_timeout(Duration::from_secs(5));
        config.tcp_user_timeout(Duration::from_secs(10));
        config.keepalives_idle(Duration::from_secs(10));
        config.application_name("essaim");
        let hosts = config.get_hosts().iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(",");
        let redacted = format!("{hosts} database {}", config.get_dbname().unwrap_or("-"));
        let pool = Pool { config, redacted, idle: Mutex::new(Vec::new()), unreachable: Default::default() };
        let mut client = pool.connect()?;
        migrate(&mut client)?;
        pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(client);
        Ok(pool)
    }

    /// Whether the storage thread is waiting for the server.
    pub(crate) fn is_unreachable(&self) -> bool {
        self.unreachable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Where it is, without credentials, for logs.
    pub(crate) fn redacted_url(&self) -> &str {
        &self.redacted
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(pg("connecting"))?;
        client.batch_execute("SET synchronous_commit = on").map_err(pg("preparing the connection"))?;
        Ok(client)
    }

    /// A reader on an idle connection, or a new one.
    pub(crate) fn reader(self: &std::sync::Arc<Self>) -> Result<PooledClient, StoreError> {
        self.client()
    }

    /// An idle connection, or a new one, back to the pool when dropped
    /// (the relay's own tables use one per call, see `invitations.rs`).
    /// Blocking: call it, use it and drop it off the runtime.
    pub(crate) fn client(self: &std::sync::Arc<Self>) -> Result<PooledClient, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let client = match idle {
            Some(client) if !client.is_closed() => client,
            _ => self.connect()?,
        };
        Ok(PooledClient { client: Some(client), pool: self.clone() })
    }

    /// The storage thread's backend, on its own connection.
    pub(crate) fn backend(self: &std::sync::Arc<Self>) -> Result<PostgresBackend, StoreError> {
        Ok(PostgresBackend {
            client: self.connect()?,
            pool: self.clone(),
            held: HeldSyncStates::new(),
            unreachable_since: None,
        })
    }
}

/// A `postgres::Client` closes itself by blocking on its own runtime, which
/// panics on a tokio thread; the last clone of the storage may be dropped
/// on one, so the idle connections are closed on a thread of their own.
impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::Builder::new().name("essaim-pg-close".into()).spawn(move || drop(idle));
        }
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(pg("beginning the migrations"))?;
    // One relay at a time: others wait here, then find nothing to do.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7410061912);
         CREATE TABLE IF NOT EXISTS essaim_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());",
    )
    .map_err(pg("locking the migrations"))?;
    let done: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM essaim_migrations", &[])
        .map_err(pg("reading the schema version"))?
        .get(0);
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let version = index as i32 + 1;
        if version <= done {
            continue;
        }
        tx.batch_execute(migration).map_err(pg("migrating the schema"))?;
        tx.execute("INSERT INTO essaim_migrations (version) VALUES ($1)", &[&version])
            .map_err(pg("recording a migration"))?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    tx.commit().map_err(pg("committing the migrations"))
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

fn entries(client: &mut Client, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
    let (from, to) = StorageKey::document_range(doc);
    let rows = client
        .query("SELECT key, value FROM kv WHERE key >= $1 AND key < $2 ORDER BY key", &[&from, &to])
        .map_err(pg("loading"))?;
    Ok(rows.iter().filter_map(|row| parse_key(row.get(0)).map(|key| (key, row.get(1)))).collect())
}

fn value(client: &mut Client, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
    let row = client.query_opt("SELECT value FROM kv WHERE key = $1", &[&key.to_string()]).map_err(pg("reading"))?;
    Ok(row.map(|row| row.get(0)))
}

fn version(client: &mut Client, doc: &DocumentId) -> Result<u64, StoreError> {
    let row = client
        .query_opt("SELECT version FROM document_versions WHERE doc = $1", &[&doc.to_string()])
        .map_err(pg("reading a version"))?;
    Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
}

/// A pooled connection (a reader, or a call on the relay's own tables),
/// back to the pool when dropped (unless broken).
pub(crate) struct PooledClient {
    client: Option<Client>,
    pool: std::sync::Arc<Pool>,
}

impl PooledClient {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until dropped")
    }
}

impl std::ops::Deref for PooledClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for PooledClient {
    fn deref_mut(&mut self) -> &mut Client {
        self.client()
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(client);
            }
        }
    }
}

impl Reader for PooledClient {
    fn entries(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, Vec<u8>)>, StoreError> {
        entries(self.client(), doc)
    }

    fn sizes(&mut self, doc: &DocumentId) -> Result<Vec<(StorageKey, u64)>, StoreError> {
        let (from, to) = StorageKey::document_range(doc);
        let rows = self
            .client()
            .query("SELECT key, length(value) FROM kv WHERE key >= $1 AND key < $2 ORDER BY key", &[&from, &to])
            .map_err(pg("listing"))?;
        Ok(rows.iter().filter_map(|row| parse_key(row.get(0)).map(|key| (key, row.get::<_, i32>(1) as u64))).collect())
    }

    fn value(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        value(self.client(), key)
    }
}

/// What becomes of one key at the end of a group of writes.
#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>),
    Delete,
    /// A content-addressed key deleted then put again in the group: delete
    /// it, then insert these bytes.
    Reput(Vec<u8>),
}

/// Records `op` on `key` after whatever the group did to it before, so that
/// the group ends as if its writes had run one by one: the later operation
/// wins, except that a content-addressed key keeps the first bytes put
/// since it was last deleted.
fn record(ops: &mut BTreeMap<String, Op>, key: &StorageKey, op: Op) {
    let text = key.to_string();
    let op = match (ops.get(&text), op) {
        (Some(Op::Put(_) | Op::Reput(_)), Op::Put(_)) if content_addressed(key) => return,
        (Some(Op::Delete), Op::Put(value)) if content_addressed(key) => Op::Reput(value),
        (_, op) => op,
    };
    ops.insert(text, op);
}

/// Whether a key's bytes never change once written: chunks (named by
/// their content or heads) and the storage id (the first relay's is the
/// cluster's).
fn content_addressed(key: &StorageKey) -> bool {
    key.as_chunk().is_some() || *key == StorageKey::storage_id()
}

/// The storage thread's connection.
pub(crate) struct PostgresBackend {
    client: Client,
    pool: std::sync::Arc<Pool>,
    /// Writes of sync states alone, held until the next flush.
    held: HeldSyncStates,
    /// Since when the server has been out of reach, while it is.
    unreachable_since: Option<Instant>,
}

impl PostgresBackend {
    /// Runs `work` on the connection; when the connection is lost, waits
    /// for the server (reconnecting with backoff) and runs it again.
    fn retrying<T>(&mut self, mut work: impl FnMut(&mut Client) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match work(&mut self.client) {
                Ok(value) => {
                    if let Some(since) = self.unreachable_since.take() {
                        self.pool.unreachable.store(false, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(
                            after_secs = since.elapsed().as_secs(),
                            "PostgreSQL is reachable again: writes resume"
                        );
                    }
                    return Ok(value);
                }
                Err(StoreError::Postgres { source, .. }) if source.is_closed() || self.client.is_closed() => {
                    if self.unreachable_since.is_none() {
                        // Said by /healthz before the log line, which the
                        // operator (and a test) may act on.
                        self.pool.unreachable.store(true, std::sync::atomic::Ordering::Relaxed);
                        tracing::error!(
                            error = %source,
                            "PostgreSQL is unreachable: writes are suspended and nothing new is acknowledged \
                             until it returns"
                        );
                        self.unreachable_since = Some(Instant::now());
                    }
                }
                Err(error) => return Err(error),
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
            match self.pool.connect() {
                Ok(client) => self.client = client,
                Err(error) => tracing::debug!(%error, "PostgreSQL still unreachable"),
            }
        }
    }
}

impl Backend for PostgresBackend {
    fn get(&mut self, key: &StorageKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.retrying(|client| value(client, key))
    }

    fn apply(&mut self, writes: &[StorageWrite]) -> Result<Vec<(DocumentId, u64)>, StoreError> {
        let ops = group_ops(self.held.split(writes));
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        self.retrying(|client| apply_ops(client, &ops))
    }

    fn load(&mut self, doc: &DocumentId) -> Result<(u64, Entries), StoreError> {
        self.retrying(|client| {
            // The version first: whatever is committed after it shows as a
            // later version, which the repair reads again.
            let version = version(client, doc)?;
            Ok((version, entries(client, doc)?))
        })
    }

    fn versions(&mut self, docs: &[DocumentId]) -> Result<Vec<(DocumentId, u64)>, StoreError> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = docs.iter().map(ToString::to_string).collect();
        self.retrying(|client| {
            let rows = client
                .query("SELECT doc, version FROM document_versions WHERE doc = ANY($1)", &[&ids])
                .map_err(pg("reading versions"))?;
            Ok(rows
                .iter()
                .filter_map(|row| Some((row.get::<_, &str>(0).parse().ok()?, row.get::<_, i64>(1) as u64)))
                .collect())
        })
    }

    fn flush_if_due(&mut self) -> Result<(), StoreError> {
        if !self.held.due() {
            return Ok(());
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        let Some(write) = self.held.take() else { return Ok(()) };
        let ops = group_ops([&write]);
        self.retrying(|client| apply_ops(client, &ops))?;
        Ok(())
    }
}

/// A group's writes as one operation per key, as if they ran one by one.
fn group_ops<'a>(writes: impl IntoIterator<Item = &'a StorageWrite>) -> BTreeMap<String, Op> {
    let mut ops = BTreeMap::new();
    for write in writes {
        for key in &write.delete {
            record(&mut ops, key, Op::Delete);
        }
        for (key, value) in &write.put {
            record(&mut ops, key, Op::Put(value.clone()));
        }
    }
    ops
}

/// One transaction, one statement per kind of operation: deletes, chunk
/// inserts if absent, other puts replacing, then the versions of the
/// documents whose chunks changed.
fn apply_ops(client: &mut Client, ops: &BTreeMap<String, Op>) -> Result<Vec<(DocumentId, u64)>, StoreError> {
    let mut deletes: Vec<&str> = Vec::new();
    let (mut fixed_keys, mut fixed_values): (Vec<&str>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    let (mut keys, mut values): (Vec<&str>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    let mut changed: Vec<String> = Vec::new();
    for (text, op) in ops {
        let key = StorageKey::from_text(text);
        let chunk_of = key.as_ref().filter(|k| k.as_chunk().is_some()).map(|k| k.components()[0].clone());
        changed.extend(chunk_of);
        match op {
            Op::Delete => deletes.push(text),
            Op::Reput(value) => {
                deletes.push(text);
                fixed_keys.push(text);
                fixed_values.push(value);
            }
            Op::Put(value) if key.as_ref().is_some_and(content_addressed) => {
                fixed_keys.push(text);
                fixed_values.push(value);
            }
            Op::Put(value) => {
                keys.push(text);
                values.push(value);
            }
        }
    }
    changed.sort();
    changed.dedup();
    let mut tx = client.transaction().map_err(pg("beginning a transaction"))?;
    if !deletes.is_empty() {
        tx.execute("DELETE FROM kv WHERE key = ANY($1)", &[&deletes]).map_err(pg("deleting"))?;
    }
    if !fixed_keys.is_empty() {
        tx.execute(
            "INSERT INTO kv (key, value) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (key) DO NOTHING",
            &[&fixed_keys, &fixed_values],
        )
        .map_err(pg("writing chunks"))?;
    }
    if !keys.is_empty() {
        tx.execute(
            "INSERT INTO kv (key, value) SELECT * FROM unnest($1::text[], $2::bytea[])
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&keys, &values],
        )
        .map_err(pg("writing"))?;
    }
    let mut versions = Vec::new();
    if !changed.is_empty() {
        let rows = tx
            .query(
                "INSERT INTO document_versions (doc, version) SELECT unnest($1::text[]), 1
                 ON CONFLICT (doc) DO UPDATE SET version = document_versions.version + 1
                 RETURNING doc, version",
                &[&changed],
            )
            .map_err(pg("counting versions"))?;
        versions = rows
            .iter()
            .filter_map(|row| Some((row.get::<_, &str>(0).parse().ok()?, row.get::<_, i64>(1) as u64)))
            .collect();
    }
    tx.commit().map_err(pg("committing"))?;
    Ok(versions)
}
