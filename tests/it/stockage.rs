//! Storage conformance: one suite of checks, each written once as a
//! function of a [`Fixture`], run identically against SQLite (a temporary
//! data directory) and PostgreSQL (a fresh schema of the shared test
//! server), through the relay's own interface (`server::Storage`,
//! `server::Backend`, `server::Reader`).
//!
//! What a backend owes the relay (see `server/src/store/`): each `apply`
//! is one transaction, writes applied in order; a chunk key's bytes never
//! change once written, other keys are replaced; readers on other
//! connections see committed data only, in byte order of the keys; a
//! document's range holds its keys and no other document's. The checks
//! drive real `sync_core::Repo`s for what the relay really writes:
//! incremental chunks, compactions, unreadable chunks left alone, two
//! writers compacting one document at once, sync states held back.
//! PostgreSQL's own duties (versions, migrations, collation) come last.
//!
//! The `postgres` crate blocks on a runtime of its own: every check is a
//! plain `#[test]`.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use server::{Backend, Storage};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{ActorId, Automerge, ROOT, ReadDoc};
use sync_core::{
    ChunkKind, Config, DocumentId, Input, Output, Repo, StorageId, StorageKey, StorageWrite, UnixMillis, load_chunks,
};

use crate::services;

/// Runs each named check against both backends: `stockage::sqlite::NAME`
/// and `stockage::postgres::NAME`.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $check() {
                super::$check(&super::Fixture::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $check() {
                super::$check(&super::Fixture::postgres(stringify!($check)));
            })*
        }
    };
}

conformance!(
    a_group_of_writes_applies_whole_or_not_at_all,
    sync_states_alone_wait_for_a_flush,
    readers_never_see_half_a_group,
    later_writes_win_within_and_across_groups,
    a_compacted_document_loads_whole,
    a_chunk_keeps_its_first_bytes_and_sync_states_are_replaced,
    unreadable_chunks_survive_compaction,
    two_writers_compacting_one_document_lose_nothing,
);

/// A storage under test and the way to reach its database behind the
/// backend's back (to install a failing trigger, to read the catalogue).
struct Fixture {
    storage: Storage,
    database: Database,
    /// SQLite's data directory; for PostgreSQL, the (unused) one
    /// `Storage::open` is given.
    _dir: tempfile::TempDir,
}

enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let storage = Storage::open(None, dir.path()).expect("open SQLite");
        // The backend creates the table; readers and triggers need it.
        drop(storage.backend().expect("SQLite backend"));
        Fixture { storage, database: Database::Sqlite(dir.path().to_owned()), _dir: dir }
    }

    fn postgres(tag: &str) -> Fixture {
        let url = services::postgres().fresh_schema(&format!("stockage_{tag}"));
        let dir = tempfile::tempdir().expect("temporary directory");
        let storage = Storage::open(Some(&url), dir.path()).expect("open PostgreSQL");
        Fixture { storage, database: Database::Postgres(url), _dir: dir }
    }

    /// Makes the database refuse (raise an error on) any insert of a key
    /// ending with `suffix`, until [`Fixture::cure`]: a real failure in the
    /// middle of the backend's transaction.
    fn poison(&self, suffix: &str) {
        assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()), "a plain suffix");
        match &self.database {
            Database::Sqlite(dir) => {
                sqlite_connection(dir)
                    .execute_batch(&format!(
                        "CREATE TRIGGER poison BEFORE INSERT ON kv WHEN NEW.key LIKE '%{suffix}'
                         BEGIN SELECT RAISE(ABORT, 'poisoned key'); END;"
                    ))
                    .expect("create the trigger");
            }
            Database::Postgres(url) => {
                services::postgres()
                    .client(url)
                    .batch_execute(&format!(
                        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                         BEGIN
                           IF NEW.key LIKE '%{suffix}' THEN RAISE EXCEPTION 'poisoned key %', NEW.key; END IF;
                           RETURN NEW;
                         END $$;
                         CREATE TRIGGER poison BEFORE INSERT ON kv FOR EACH ROW EXECUTE FUNCTION poison();"
                    ))
                    .expect("create the trigger");
            }
        }
    }

    /// Takes the trigger of [`Fixture::poison`] away.
    fn cure(&self) {
        match &self.database {
            Database::Sqlite(dir) => {
                sqlite_connection(dir).execute_batch("DROP TRIGGER poison").expect("drop the trigger");
            }
            Database::Postgres(url) => {
                services::postgres()
                    .client(url)
                    .batch_execute("DROP TRIGGER poison ON kv; DROP FUNCTION poison();")
                    .expect("drop the trigger");
            }
        }
    }

    fn postgres_url(&self) -> &str {
        match &self.database {
            Database::Postgres(url) => url,
            Database::Sqlite(_) => panic!("a PostgreSQL check run on SQLite"),
        }
    }

    fn backend(&self) -> Box<dyn Backend> {
        self.storage.backend().expect("backend")
    }

    fn reader(&self) -> Box<dyn server::Reader> {
        self.storage.reader().expect("reader")
    }
}

fn sqlite_connection(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join(server::DATABASE_FILE)).expect("open the SQLite file");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    conn
}

fn doc(n: u8) -> DocumentId {
    DocumentId::from_bytes(&[n; 16]).expect("document id")
}

fn incremental(doc: &DocumentId, name: &str) -> StorageKey {
    StorageKey::chunk(doc, ChunkKind::Incremental, name)
}

fn snapshot(doc: &DocumentId, name: &str) -> StorageKey {
    StorageKey::chunk(doc, ChunkKind::Snapshot, name)
}

fn sync_state(doc: &DocumentId, n: u8) -> StorageKey {
    StorageKey::sync_state(doc, &StorageId::from_random([n; 16]))
}

fn put(entries: &[(&StorageKey, &[u8])]) -> StorageWrite {
    StorageWrite { put: entries.iter().map(|(k, v)| ((*k).clone(), v.to_vec())).collect(), delete: Vec::new() }
}

fn delete(keys: &[&StorageKey]) -> StorageWrite {
    StorageWrite { put: Vec::new(), delete: keys.iter().map(|k| (*k).clone()).collect() }
}

/// Every entry of `doc`, through a reader on its own connection.
fn stored(fixture: &Fixture, doc: &DocumentId) -> BTreeMap<StorageKey, Vec<u8>> {
    fixture.reader().entries(doc).expect("entries").into_iter().collect()
}

// --- 1. Atomic writes ------------------------------------------------------

/// A group of writes (several documents, chunks, sync states, deletes)
/// whose last insert the database refuses leaves storage exactly as it was,
/// and the same backend then applies the group whole.
fn a_group_of_writes_applies_whole_or_not_at_all(fixture: &Fixture) {
    let (a, b) = (doc(1), doc(2));
    let old_chunk = incremental(&a, "0001");
    let state = sync_state(&a, 1);
    let mut backend = fixture.backend();
    backend.apply(&[put(&[(&old_chunk, b"old"), (&state, b"state 1")])]).expect("first group");
    let before_a = stored(fixture, &a);
    let versions_before = backend.versions(&[a.clone(), b.clone()]).expect("versions");

    let group = |last: &str| {
        let (c1, c2, c3, poisoned) =
            (incremental(&a, "00a1"), snapshot(&a, "00a2"), incremental(&b, "00b1"), incremental(&b, last));
        vec![
            StorageWrite { put: vec![(c1, b"c1".to_vec()), (c2, b"c2".to_vec())], delete: vec![old_chunk.clone()] },
            put(&[(&c3, b"c3"), (&state, b"state 2")]),
            // A write holding data, so that no backend may hold it back.
            put(&[(&incremental(&b, "00b2"), b"c4"), (&poisoned, b"refused")]),
        ]
    };
    fixture.poison("ffff");
    let refused = backend.apply(&group("00ffff"));
    assert!(refused.is_err(), "the database refused an insert, the group must fail: {refused:?}");
    assert_eq!(stored(fixture, &a), before_a, "nothing of a failed group is visible");
    assert!(stored(fixture, &b).is_empty(), "nothing of a failed group is visible");
    assert_eq!(backend.versions(&[a.clone(), b.clone()]).expect("versions"), versions_before);

    // The backend is still usable, and applies the whole group.
    fixture.cure();
    backend.apply(&group("00ffff")).expect("the same group, cured");
    backend.flush().expect("flush");
    let after_a = stored(fixture, &a);
    let after_b = stored(fixture, &b);
    let expected_a: BTreeMap<StorageKey, Vec<u8>> = [
        (incremental(&a, "00a1"), b"c1".to_vec()),
        (snapshot(&a, "00a2"), b"c2".to_vec()),
        (state.clone(), b"state 2".to_vec()),
    ]
    .into_iter()
    .collect();
    assert_eq!(after_a, expected_a);
    let expected_b: BTreeMap<StorageKey, Vec<u8>> = [
        (incremental(&b, "00b1"), b"c3".to_vec()),
        (incremental(&b, "00b2"), b"c4".to_vec()),
        (incremental(&b, "00ffff"), b"refused".to_vec()),
    ]
    .into_iter()
    .collect();
    assert_eq!(after_b, expected_b);
    for (key, value) in expected_a.iter().chain(&expected_b) {
        assert_eq!(backend.get(key).expect("get").as_ref(), Some(value), "{key}");
    }
}

/// A reader on another connection, polling while groups commit, sees
/// either all of a group or none of it: each group replaces a document's
/// whole set of chunks (deletes then puts, in two documents), and every
/// read finds exactly one group's set.
fn readers_never_see_half_a_group(fixture: &Fixture) {
    const GROUPS: usize = 60;
    const KEYS: usize = 40;
    let docs = [doc(3), doc(4)];
    let keys = |group: usize, doc: &DocumentId| -> Vec<StorageKey> {
        (0..KEYS).map(|k| incremental(doc, &format!("g{group:03}k{k:03}"))).collect()
    };
    let group_docs = docs.clone();
    let group = move |n: usize| -> Vec<StorageWrite> {
        group_docs
            .iter()
            .map(|d| StorageWrite {
                put: keys(n, d).into_iter().map(|k| (k, format!("group {n}").into_bytes())).collect(),
                delete: if n == 0 { Vec::new() } else { keys(n - 1, d) },
            })
            .collect()
    };
    let mut backend = fixture.backend();
    backend.apply(&group(0)).expect("first group");
    let writer = std::thread::spawn(move || {
        for n in 1..GROUPS {
            backend.apply(&group(n)).expect("group");
        }
    });
    let mut reader = fixture.reader();
    let mut reads = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    // Bounded: the writer finishes; one read per iteration.
    while !writer.is_finished() || reads == 0 {
        for d in &docs {
            let entries = reader.entries(d).expect("entries");
            let values: std::collections::BTreeSet<&[u8]> = entries.iter().map(|(_, v)| v.as_slice()).collect();
            assert_eq!(entries.len(), KEYS, "one whole group, read {reads}: {} entries", entries.len());
            assert_eq!(values.len(), 1, "one group only, read {reads}");
            seen.extend(values.into_iter().map(<[u8]>::to_vec));
        }
        reads += 1;
        assert!(reads < 1_000_000, "bounded");
    }
    writer.join().expect("writer");
    let last = format!("group {}", GROUPS - 1).into_bytes();
    for d in &docs {
        assert!(reader.entries(d).expect("entries").iter().all(|(_, v)| *v == last));
    }
    eprintln!("{reads} reads saw {} distinct groups", seen.len());
}

// --- 2. Ordering -----------------------------------------------------------

/// Within one `apply` and across calls, the later write of a key wins:
/// put then delete leaves it absent, delete then put present, for chunks
/// and sync states alike, and when a sync state's later write is one of
/// sync states alone.
fn later_writes_win_within_and_across_groups(fixture: &Fixture) {
    let d = doc(5);
    let (c1, c2, c3) = (incremental(&d, "0c1"), incremental(&d, "0c2"), snapshot(&d, "0c3"));
    let (s1, s2, s3, s4) = (sync_state(&d, 1), sync_state(&d, 2), sync_state(&d, 3), sync_state(&d, 4));
    let mut backend = fixture.backend();
    // Present before, so that "delete then put" deletes something.
    backend.apply(&[put(&[(&c2, b"c2"), (&s2, b"s2 old")])]).expect("setup");

    backend
        .apply(&[
            put(&[(&c1, b"c1"), (&s1, b"s1")]),
            delete(&[&c1, &s1]),
            delete(&[&c2, &s2]),
            put(&[(&c2, b"c2 again"), (&s2, b"s2 new")]),
            // A data write putting a sync state, then a write of sync
            // states alone deleting it: the delete is later.
            put(&[(&c3, b"c3"), (&s3, b"s3")]),
            delete(&[&s3]),
            // And the other way round.
            delete(&[&s4]),
            put(&[(&incremental(&d, "0c4"), b"c4"), (&s4, b"s4")]),
        ])
        .expect("one group");
    backend.flush().expect("flush");
    let after = stored(fixture, &d);
    let expected: BTreeMap<StorageKey, Vec<u8>> = [
        (c2.clone(), b"c2 again".to_vec()),
        (c3.clone(), b"c3".to_vec()),
        (incremental(&d, "0c4"), b"c4".to_vec()),
        (s2.clone(), b"s2 new".to_vec()),
        (s4.clone(), b"s4".to_vec()),
    ]
    .into_iter()
    .collect();
    assert_eq!(after, expected, "within one group");

    // Across calls: each call's writes after the previous call's.
    backend.apply(&[delete(&[&c2, &s2])]).expect("delete");
    backend.apply(&[put(&[(&c1, b"c1")])]).expect("put");
    backend.apply(&[delete(&[&c1])]).expect("delete");
    backend.apply(&[put(&[(&c2, b"c2 third"), (&s2, b"s2 third")])]).expect("put");
    backend.apply(&[put(&[(&s1, b"s1")])]).expect("sync state alone");
    backend.apply(&[delete(&[&s1])]).expect("sync state alone");
    backend.apply(&[delete(&[&s4])]).expect("sync state alone");
    backend.apply(&[put(&[(&s4, b"s4 again")])]).expect("sync state alone");
    backend.flush().expect("flush");
    let after = stored(fixture, &d);
    let expected: BTreeMap<StorageKey, Vec<u8>> = [
        (c2, b"c2 third".to_vec()),
        (c3, b"c3".to_vec()),
        (incremental(&d, "0c4"), b"c4".to_vec()),
        (s2, b"s2 third".to_vec()),
        (s4, b"s4 again".to_vec()),
    ]
    .into_iter()
    .collect();
    assert_eq!(after, expected, "across groups");
}

// --- A repo driven against a backend ----------------------------------------

/// A real repo writing through one backend, as the relay's storage thread
/// would: every output carried out in order, loads answered from the
/// backend.
struct Writer {
    repo: Repo,
    backend: Box<dyn Backend>,
    clock: u64,
}

impl Writer {
    fn start(storage: &Storage, seed: u8) -> Writer {
        let mut backend = storage.backend().expect("backend");
        let stored_id = backend.get(&StorageKey::storage_id()).expect("storage id");
        let config =
            Config::new(format!("stockage-{seed}").parse().expect("peer id"), ActorId::from([seed; 16]), "s".into());
        let (repo, started) = Repo::start(config, stored_id.as_deref(), [seed; 16]).expect("repo");
        let mut writer = Writer { repo, backend, clock: 1_700_000_000_000 };
        writer.carry_out(started);
        writer
    }

    fn now(&mut self) -> UnixMillis {
        self.clock += 1_000;
        UnixMillis(self.clock)
    }

    /// Carries out outputs in order; returns the writes applied.
    fn carry_out(&mut self, outputs: Vec<Output>) -> Vec<StorageWrite> {
        let mut queue: std::collections::VecDeque<Output> = outputs.into();
        let mut written = Vec::new();
        let mut steps = 0;
        while let Some(output) = queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "bounded");
            match output {
                Output::Write(write) => {
                    self.backend.apply(std::slice::from_ref(&write)).expect("apply");
                    written.push(write);
                }
                Output::Load { doc } => {
                    let (_, entries) = self.backend.load(&doc).expect("load");
                    let now = self.now();
                    // Its outputs come before anything queued after the load.
                    for (i, more) in self.repo.handle(now, Input::Loaded { doc, entries }).into_iter().enumerate() {
                        queue.insert(i, more);
                    }
                }
                _ => {}
            }
        }
        written
    }

    fn create(&mut self, id: u8) -> (DocumentId, Vec<StorageWrite>) {
        let now = self.now();
        let (doc, outputs) = self.repo.create_document(now, &[id; 16]).expect("create");
        (doc, self.carry_out(outputs))
    }

    fn open(&mut self, doc: &DocumentId) {
        let now = self.now();
        let outputs = self.repo.handle(now, Input::Open { doc: doc.clone() });
        self.carry_out(outputs);
        assert!(self.repo.document(doc).is_some(), "loaded");
    }

    fn change(&mut self, doc: &DocumentId, key: &str, value: &str) -> Vec<StorageWrite> {
        let now = self.now();
        let outputs =
            self.repo.change_document(now, doc, |tx| tx.put(ROOT, key, value).map(drop)).expect("local change");
        self.carry_out(outputs)
    }

    /// Takes in chunks another writer committed.
    fn take_in(&mut self, doc: &DocumentId, chunks: Vec<(StorageKey, Vec<u8>)>) {
        let now = self.now();
        let outputs = self.repo.handle(now, Input::CommittedElsewhere { doc: doc.clone(), chunks });
        let written = self.carry_out(outputs);
        assert!(written.is_empty(), "taking in chunks writes nothing");
    }

    fn heads(&self, doc: &DocumentId) -> Vec<sync_core::automerge::ChangeHash> {
        self.repo.document(doc).expect("loaded").get_heads()
    }
}

/// The value of `key` at the document's root, as text.
fn text(doc: &Automerge, key: &str) -> Option<String> {
    let (value, _) = doc.get(ROOT, key).expect("read")?;
    value.as_str().map(str::to_owned)
}

/// A compaction: a snapshot put, replacing chunks.
fn is_compaction(write: &StorageWrite) -> bool {
    write.put.iter().any(|(k, _)| matches!(k.as_chunk(), Some((ChunkKind::Snapshot, _))))
}

/// Text that deflate cannot shrink much: the snapshot grows with the changes.
fn noise(seed: u64, len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(state % 36) as usize])
        })
        .collect()
}

fn chunk_counts(listing: &[(StorageKey, u64)]) -> (usize, usize) {
    let count = |kind| listing.iter().filter(|(k, _)| matches!(k.as_chunk(), Some((c, _)) if c == kind)).count();
    (count(ChunkKind::Snapshot), count(ChunkKind::Incremental))
}

// --- 3. Load after compaction ------------------------------------------------

/// A repo writes changes until it has compacted incremental chunks into a
/// snapshot: the listing is then one snapshot; two small changes more add
/// two incremental chunks; the listing matches the writes key for key and
/// size for size; and the document loads whole through the backend, through
/// `load_chunks` and through a second repo.
fn a_compacted_document_loads_whole(fixture: &Fixture) {
    let mut writer = Writer::start(&fixture.storage, 11);
    let (d, _) = writer.create(30);
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut compactions_after_incrementals = 0;
    let mut incrementals_since = 0;
    let mut snapshot_bytes = 0;
    for i in 0..200u64 {
        let (key, value) = (format!("k{i:03}"), noise(i, 300));
        let writes = writer.change(&d, &key, &value);
        expected.push((key, value));
        assert_eq!(writes.len(), 1, "one write per change");
        if is_compaction(&writes[0]) {
            if incrementals_since > 0 {
                assert_eq!(writes[0].delete.len(), incrementals_since + 1, "the snapshot and incrementals known");
                compactions_after_incrementals += 1;
            }
            incrementals_since = 0;
            snapshot_bytes = writes[0].put[0].1.len();
            if compactions_after_incrementals >= 2 && snapshot_bytes >= 1024 {
                break;
            }
        } else {
            incrementals_since += 1;
        }
    }
    assert!(compactions_after_incrementals >= 2, "the repo compacted incremental chunks twice");
    let listing = fixture.reader().sizes(&d).expect("sizes");
    assert_eq!(chunk_counts(&listing), (1, 0), "one snapshot after compaction: {listing:?}");
    assert_eq!(listing[0].1 as usize, snapshot_bytes);

    // Two small changes: incremental chunks next to the snapshot.
    let mut model: BTreeMap<StorageKey, usize> = listing.iter().map(|(k, s)| (k.clone(), *s as usize)).collect();
    for i in 0..2 {
        let (key, value) = (format!("petit{i}"), format!("{i}"));
        for write in writer.change(&d, &key, &value) {
            assert!(!is_compaction(&write) && write.delete.is_empty(), "a small change is an incremental chunk");
            model.extend(write.put.iter().map(|(k, v)| (k.clone(), v.len())));
        }
        expected.push((key, value));
    }
    let listing = fixture.reader().sizes(&d).expect("sizes");
    assert_eq!(chunk_counts(&listing), (1, 2), "{listing:?}");
    let listed: BTreeMap<StorageKey, usize> = listing.iter().map(|(k, s)| (k.clone(), *s as usize)).collect();
    assert_eq!(listed, model, "the listing is what was written");

    let (_, entries) = fixture.backend().load(&d).expect("load");
    assert_eq!(entries, fixture.reader().entries(&d).expect("entries"), "backend and reader agree");
    let loaded = load_chunks(&d, entries);
    assert_eq!(loaded.get_heads(), writer.heads(&d));
    for (key, value) in &expected {
        assert_eq!(text(&loaded, key).as_deref(), Some(value.as_str()), "{key}");
    }
    let mut other = Writer::start(&fixture.storage, 12);
    other.open(&d);
    assert_eq!(other.heads(&d), writer.heads(&d), "a second repo loads the same document");
}

// --- 4. A chunk's bytes never change -----------------------------------------

/// A chunk key written again with other bytes (in the same group or a
/// later one) keeps its first bytes; a sync state is replaced.
fn a_chunk_keeps_its_first_bytes_and_sync_states_are_replaced(fixture: &Fixture) {
    let d = doc(6);
    let (inc, snap, state) = (incremental(&d, "0aaa"), snapshot(&d, "0bbb"), sync_state(&d, 6));
    let mut backend = fixture.backend();
    backend.apply(&[put(&[(&inc, b"A"), (&snap, b"A")])]).expect("first bytes");
    backend.apply(&[put(&[(&inc, b"B"), (&snap, b"B")])]).expect("other bytes, later group");
    backend.apply(&[put(&[(&state, b"state A")])]).expect("sync state");
    backend
        .apply(&[put(&[(&state, b"state B")]), put(&[(&inc, b"C")]), put(&[(&snap, b"C")])])
        .expect("other bytes, same group as a sync state");
    backend.flush().expect("flush");
    assert_eq!(backend.get(&inc).expect("get").as_deref(), Some(&b"A"[..]));
    assert_eq!(backend.get(&snap).expect("get").as_deref(), Some(&b"A"[..]));
    assert_eq!(backend.get(&state).expect("get").as_deref(), Some(&b"state B"[..]));
    let mut reader = fixture.reader();
    assert_eq!(reader.value(&inc).expect("value").as_deref(), Some(&b"A"[..]));
    assert_eq!(reader.value(&snap).expect("value").as_deref(), Some(&b"A"[..]));
    assert_eq!(reader.value(&state).expect("value").as_deref(), Some(&b"state B"[..]));

    // Within one group too: the first bytes written stay.
    let fresh = incremental(&d, "0ccc");
    backend.apply(&[put(&[(&fresh, b"first")]), put(&[(&fresh, b"second")])]).expect("one group");
    assert_eq!(reader.value(&fresh).expect("value").as_deref(), Some(&b"first"[..]));
}

// --- 5. Unreadable chunks kept ---------------------------------------------

/// A garbage incremental chunk next to real ones: a repo loading the
/// document loads the real ones, and when it compacts it deletes them but
/// never the garbage.
fn unreadable_chunks_survive_compaction(fixture: &Fixture) {
    let mut first = Writer::start(&fixture.storage, 21);
    let (d, _) = first.create(31);
    for i in 0..3u64 {
        first.change(&d, &format!("k{i}"), &noise(i, 40));
    }
    let garbage = incremental(&d, "0badc0ffee");
    fixture.backend().apply(&[put(&[(&garbage, b"not an automerge chunk")])]).expect("garbage");
    let before: Vec<StorageKey> = stored(fixture, &d).into_keys().collect();
    assert!(before.len() >= 2, "real chunks next to the garbage: {before:?}");

    let mut second = Writer::start(&fixture.storage, 22);
    second.open(&d);
    assert_eq!(second.heads(&d), first.heads(&d), "the real chunks load");
    let writes = second.change(&d, "apres", "compaction");
    assert!(writes.iter().any(is_compaction), "a small document compacts at every save");
    let deleted: Vec<&StorageKey> = writes.iter().flat_map(|w| &w.delete).collect();
    assert!(!deleted.contains(&&garbage), "the garbage is never deleted");
    let after = stored(fixture, &d);
    assert_eq!(after.get(&garbage).map(Vec::as_slice), Some(&b"not an automerge chunk"[..]), "still stored");
    for key in before.iter().filter(|k| **k != garbage) {
        assert!(!after.contains_key(key), "the real chunk {key} was compacted away");
    }
    let loaded = load_chunks(&d, after.into_iter().collect());
    assert_eq!(text(&loaded, "apres").as_deref(), Some("compaction"));
    assert_eq!(loaded.get_heads(), second.heads(&d));
}

// --- 6. Two writers on one document ----------------------------------------

/// Two repos, each on its own backend (its own connection), both having
/// loaded one document, change and compact it at the same moments, round
/// after round, and take in each other's chunks as a cluster relay would:
/// after every round, storage holds every change both made.
fn two_writers_compacting_one_document_lose_nothing(fixture: &Fixture) {
    const ROUNDS: usize = 40;
    let mut setup = Writer::start(&fixture.storage, 40);
    let (d, _) = setup.create(32);
    setup.change(&d, "debut", "oui");
    let barrier = Arc::new(Barrier::new(2));
    let (to_second, from_first) = mpsc::channel::<Vec<(StorageKey, Vec<u8>)>>();
    let (to_first, from_second) = mpsc::channel::<Vec<(StorageKey, Vec<u8>)>>();
    // A panic on one side must not leave the other waiting at the barrier
    // forever: each side catches its own, and both stop at the same round.
    let failed = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = [(41u8, to_second, from_second), (42u8, to_first, from_first)]
        .into_iter()
        .map(|(seed, to_other, from_other)| {
            let (storage, barrier, failed, d) = (fixture.storage.clone(), barrier.clone(), failed.clone(), d.clone());
            std::thread::spawn(move || {
                let go_on = |ok: bool| {
                    if !ok {
                        failed.store(true, Ordering::SeqCst);
                    }
                    barrier.wait();
                    !failed.load(Ordering::SeqCst)
                };
                let started = catch_unwind(AssertUnwindSafe(|| {
                    let mut writer = Writer::start(&storage, seed);
                    writer.open(&d);
                    writer
                }));
                let (mut writer, mut ok) = match started {
                    Ok(writer) => (Some(writer), true),
                    Err(_) => (None, false),
                };
                let mut compactions = 0;
                for round in 0..ROUNDS {
                    if !go_on(ok) {
                        return None;
                    }
                    let writer = writer.as_mut().expect("started");
                    ok = catch_unwind(AssertUnwindSafe(|| {
                        let writes = writer.change(&d, &format!("w{seed}-{round:03}"), &noise(round as u64, 8));
                        compactions += writes.iter().filter(|w| is_compaction(w)).count();
                        let chunks = writes.into_iter().flat_map(|w| w.put).filter(|(k, _)| k.as_chunk().is_some());
                        to_other.send(chunks.collect()).expect("the other writer is there");
                    }))
                    .is_ok();
                    barrier.wait();
                    ok = ok
                        && catch_unwind(AssertUnwindSafe(|| {
                            for chunks in from_other.try_iter() {
                                writer.take_in(&d, chunks);
                            }
                            // Nothing either made so far is missing from storage.
                            let (_, entries) = writer.backend.load(&d).expect("load");
                            let in_storage = load_chunks(&d, entries);
                            for r in 0..=round {
                                for s in [41, 42] {
                                    let key = format!("w{s}-{r:03}");
                                    assert!(
                                        text(&in_storage, &key).is_some(),
                                        "{key} lost from storage after round {round}"
                                    );
                                }
                            }
                        }))
                        .is_ok();
                }
                go_on(ok).then(|| (compactions, writer.expect("started").heads(&d)))
            })
        })
        .collect();
    let mut heads = Vec::new();
    let mut compactions = 0;
    for thread in threads {
        let (count, h) = thread.join().expect("writer thread").expect("no writer failed (see its panic above)");
        compactions += count;
        heads.extend(h);
    }
    assert!(compactions >= ROUNDS / 4, "the writers compacted often: {compactions}");
    let (_, entries) = fixture.backend().load(&d).expect("load");
    let in_storage = load_chunks(&d, entries);
    for hash in &heads {
        assert!(in_storage.get_change_by_hash(hash).is_some(), "every change of both writers is stored");
    }
    assert_eq!(text(&in_storage, "debut").as_deref(), Some("oui"));
    eprintln!("{compactions} compactions in {ROUNDS} rounds of two writers");
}

// --- 7. Sync states held back (both); PostgreSQL's versions -------------

/// Each transaction touching a document's chunks (puts or deletes) bumps
/// its version once, whatever the number of writes; sync states alone do
/// not; `load` returns the version with the entries.
#[test]
fn postgres_versions_count_transactions_touching_chunks() {
    let fixture = Fixture::postgres("versions");
    let (a, b) = (doc(7), doc(8));
    let mut backend = fixture.backend();
    assert!(backend.versions(&[a.clone(), b.clone()]).expect("versions").is_empty(), "never written");
    assert_eq!(backend.load(&a).expect("load"), (0, Vec::new()));

    let got = backend.apply(&[put(&[(&incremental(&a, "01"), b"1")])]).expect("apply");
    assert_eq!(got, vec![(a.clone(), 1)]);
    let got = backend
        .apply(&[put(&[(&incremental(&a, "02"), b"2")]), put(&[(&incremental(&a, "03"), b"3")])])
        .expect("apply");
    assert_eq!(got, vec![(a.clone(), 2)], "once per transaction, not per write");
    let mut got = backend
        .apply(&[
            StorageWrite { put: vec![(snapshot(&a, "04"), b"4".to_vec())], delete: vec![incremental(&a, "01")] },
            put(&[(&incremental(&b, "01"), b"1")]),
        ])
        .expect("apply");
    got.sort();
    assert_eq!(got, vec![(a.clone(), 3), (b.clone(), 1)], "each document touched");
    let got = backend.apply(&[delete(&[&incremental(&a, "02")])]).expect("apply");
    assert_eq!(got, vec![(a.clone(), 4)], "a delete of a chunk counts");

    // Sync states alone: held or written, never counted.
    let got = backend.apply(&[put(&[(&sync_state(&a, 1), b"s")])]).expect("apply");
    assert!(got.is_empty());
    backend.flush().expect("flush");
    let got = backend.apply(&[put(&[(&sync_state(&a, 2), b"s")]), delete(&[&sync_state(&a, 1)])]).expect("apply");
    assert!(got.is_empty());
    backend.flush().expect("flush");
    let mut versions = backend.versions(&[a.clone(), b.clone(), doc(9)]).expect("versions");
    versions.sort();
    assert_eq!(versions, vec![(a.clone(), 4), (b.clone(), 1)]);
    let (version, entries) = backend.load(&a).expect("load");
    assert_eq!(version, 4);
    assert_eq!(entries.len(), 3, "two chunks and a sync state: {entries:?}");
    assert_eq!(fixture.backend().versions(std::slice::from_ref(&a)).expect("versions"), vec![(a, 4)]);
}

/// `load` reads the version before the entries: polled while another
/// connection commits one chunk per transaction, the entries it returns
/// always hold every chunk up to the version it returns.
#[test]
fn postgres_load_reads_the_version_before_the_entries() {
    const WRITES: u64 = 300;
    let fixture = Fixture::postgres("load_version");
    let d = doc(10);
    let name = |n: u64| format!("0{n:05}");
    let mut writer = fixture.backend();
    let d2 = d.clone();
    let thread = std::thread::spawn(move || {
        for n in 1..=WRITES {
            let got = writer.apply(&[put(&[(&incremental(&d2, &name(n)), b"x")])]).expect("apply");
            assert_eq!(got, vec![(d2.clone(), n)]);
        }
    });
    let mut loader = fixture.backend();
    let mut loads = 0;
    let mut ahead = 0;
    while !thread.is_finished() || loads == 0 {
        let (version, entries) = loader.load(&d).expect("load");
        let names: std::collections::BTreeSet<String> =
            entries.iter().filter_map(|(k, _)| Some(k.as_chunk()?.1.to_owned())).collect();
        for n in 1..=version {
            assert!(names.contains(&name(n)), "version {version} read, but chunk {n} missing");
        }
        ahead += usize::from(entries.len() as u64 > version);
        loads += 1;
        assert!(loads < 1_000_000, "bounded");
    }
    thread.join().expect("writer");
    assert_eq!(loader.load(&d).expect("load").0, WRITES);
    eprintln!("{loads} loads, {ahead} with entries newer than their version");
}

/// A write of sync states alone, soon after a write of data, is held: a
/// reader on another connection does not see it until `flush`, and a later
/// write of data does not carry it.
fn sync_states_alone_wait_for_a_flush(fixture: &Fixture) {
    /// `SYNC_STATE_PERIOD` in `server/src/store/mod.rs`.
    const PERIOD: Duration = Duration::from_secs(1);
    let d = doc(11);
    let mut backend = fixture.backend();
    let mut reader = fixture.reader();
    // A sync state written less than a period after data must be held; a
    // run slower than that (a loaded machine) proves nothing and tries again.
    let mut held = 0;
    for attempt in 0..20u8 {
        let started = Instant::now();
        backend.apply(&[put(&[(&incremental(&d, &format!("0{attempt}")), b"x")])]).expect("data");
        let (state, chunk) = (sync_state(&d, attempt), incremental(&d, &format!("1{attempt}")));
        backend.apply(&[put(&[(&state, b"state")])]).expect("sync state alone");
        if started.elapsed() >= PERIOD {
            backend.flush().expect("flush");
            continue;
        }
        assert_eq!(reader.value(&state).expect("value"), None, "held until a flush");
        assert!(!reader.entries(&d).expect("entries").iter().any(|(k, _)| *k == state));
        if attempt % 2 == 1 {
            // A later write of data does not carry it (held sync states
            // never delay a change), nor does a flush before the period.
            backend.apply(&[put(&[(&chunk, b"y")])]).expect("data");
            backend.flush_if_due().expect("flush if due");
            if started.elapsed() < PERIOD {
                assert_eq!(reader.value(&state).expect("value"), None, "still held");
            }
        }
        backend.flush().expect("flush");
        assert_eq!(reader.value(&state).expect("value").as_deref(), Some(&b"state"[..]), "written");
        held += 1;
        if held == 4 {
            break;
        }
    }
    assert!(held >= 2, "the machine was too slow to see a sync state held ({held})");
    // A flush with nothing held writes nothing and fails nothing.
    backend.flush().expect("empty flush");
    // Data touching a held key supersedes it: the later value stays.
    let state = sync_state(&d, 99);
    backend.apply(&[put(&[(&state, b"old")])]).expect("held");
    let both = put(&[(&incremental(&d, "99"), b"z"), (&state, b"new")]);
    backend.apply(&[both]).expect("data with a sync state");
    backend.flush().expect("flush");
    assert_eq!(reader.value(&state).expect("value").as_deref(), Some(&b"new"[..]), "the newer value");
}

// --- 8. PostgreSQL: migrations and key order -----------------------------

/// Relays opening a fresh schema at the same moment apply each migration
/// once, and both open.
#[test]
fn postgres_migrations_apply_once_when_relays_race() {
    for attempt in 0..5 {
        let url = services::postgres().fresh_schema(&format!("migrations_{attempt}"));
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let dir = tempfile::tempdir().expect("temporary directory");
                    barrier.wait();
                    Storage::open(Some(&url), dir.path()).map(drop)
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread").expect("both open");
        }
        let mut client = services::postgres().client(&url);
        let rows = client.query("SELECT version FROM essaim_migrations ORDER BY version", &[]).expect("migrations");
        let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(versions, (1..=server::SCHEMA_VERSION).collect::<Vec<_>>(), "each migration recorded once");
        // A third opening finds nothing to do.
        let dir = tempfile::tempdir().expect("temporary directory");
        Storage::open(Some(&url), dir.path()).expect("open again");
        let count: i64 = client.query_one("SELECT count(*) FROM essaim_migrations", &[]).expect("count").get(0);
        assert_eq!(count, i64::from(server::SCHEMA_VERSION));
    }
}

/// Keys are ordered byte by byte (`COLLATE "C"`, whatever the database's
/// default): readers list in byte order, and a document's range holds its
/// own keys only, never a key of a neighbour whose id it prefixes.
#[test]
fn postgres_keys_are_in_byte_order() {
    let fixture = Fixture::postgres("collation");
    let d = doc(12);
    let mine = [
        incremental(&d, "Zb"),
        incremental(&d, "aa"),
        snapshot(&d, "B0"),
        sync_state(&d, 1),
        StorageKey::sync_state_used(&d, &StorageId::from_random([1; 16])),
    ];
    let neighbours: Vec<StorageKey> = ["0", "-0", ".x", "_x", "1", "A", "a", "-", " "]
        .iter()
        .map(|suffix| {
            StorageKey::from_components(vec![format!("{d}{suffix}"), "snapshot".into(), "n".into()]).expect("key")
        })
        .chain([StorageKey::from_components(vec![format!("{d}0")]).expect("key")])
        .collect();
    let all: Vec<(&StorageKey, &[u8])> = mine.iter().chain(&neighbours).map(|k| (k, &b"v"[..])).collect();
    let mut backend = fixture.backend();
    backend.apply(&[put(&all)]).expect("apply");
    backend.flush().expect("flush");

    let mut expected: Vec<String> = mine.iter().map(ToString::to_string).collect();
    expected.sort(); // Rust orders strings byte by byte.
    let listed = |keys: Vec<StorageKey>| keys.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut reader = fixture.reader();
    assert_eq!(listed(reader.entries(&d).expect("entries").into_iter().map(|(k, _)| k).collect()), expected);
    assert_eq!(listed(reader.sizes(&d).expect("sizes").into_iter().map(|(k, _)| k).collect()), expected);
    assert_eq!(listed(backend.load(&d).expect("load").1.into_iter().map(|(k, _)| k).collect()), expected);

    // The table orders every key byte by byte, whatever the server's locale.
    let mut client = services::postgres().client(fixture.postgres_url());
    let keys: Vec<String> =
        client.query("SELECT key FROM kv ORDER BY key", &[]).expect("keys").iter().map(|r| r.get(0)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // On a server whose default collation is already byte order (initdb
    // in the C locale, as the private test server is) the listings above
    // cannot tell; the column's declared collation can.
    let collation: Option<String> = client
        .query_one(
            "SELECT collation_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'kv' AND column_name = 'key'",
            &[],
        )
        .expect("collation")
        .get(0);
    assert_eq!(collation.as_deref(), Some("C"));
}
