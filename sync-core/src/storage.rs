//! What is stored, under which keys, and when chunks are compacted.
//!
//! The key layout is automerge-repo's, shared by the relay (SQLite) and the
//! browser (IndexedDB), so a JS data directory can be imported and the other
//! way round:
//!
//! | key                                    | value                                   |
//! |----------------------------------------|-----------------------------------------|
//! | `["storage-adapter-id"]`               | this store's [`StorageId`], UTF-8       |
//! | `[doc, "snapshot", sha256(heads)]`     | the compressed whole document (`save`)  |
//! | `[doc, "incremental", sha256(chunk)]`  | changes since the previous save         |
//! | `[doc, "sync-state", storageId]`       | the encoded sync state with that store  |
//! | `[doc, "sync-state-used", storageId]`  | when that state was last written, in ms since the epoch, decimal UTF-8 |
//!
//! The `sync-state-used` entries are Essaim's own (automerge-repo ignores
//! kinds it does not know): they let a relay expire the sync states of
//! stores that stopped coming and evict the least recently used.
//!
//! A driver applies each [`StorageWrite`] atomically and in the order emitted
//! (one SQLite transaction, one IndexedDB read-write transaction), which makes
//! compaction a single write: put the snapshot, delete the chunks it replaces.
//! This module decides what to write; it never touches a disk.
//!
//! A device that downloaded a document's chunks from a relay over HTTP also
//! stores a sync state with that relay ([`sync_state_after_download`]), so
//! that its first websocket sync does not send a Bloom filter over every
//! change. Its shared heads are the heads of the downloaded chunks. That is
//! sound because the relay served those chunks from its committed storage
//! under the storage id it announced with them: it has every change in
//! them (a store never loses a committed change; compaction only rewrites
//! chunks). So only a driver that downloaded the chunks from the store
//! `remote` may call it. A wrong claim is not silent data loss: a store that
//! lacks those heads answers with Automerge's sync reset, and the pair then
//! syncs from scratch.

use std::fmt;

use automerge::sync;
use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad};
use sha2::{Digest, Sha256};

use crate::ids::{DocumentId, StorageId};

/// Below this snapshot size a save always rewrites the snapshot (JS rule).
const SMALL_SNAPSHOT_BYTES: usize = 1024;

/// A storage key: a short list of components, none containing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey(Vec<String>);

/// Longest chunk name accepted from outside ([`StorageKey::is_chunk_name`]):
/// names are SHA-256 hex (64 characters).
const MAX_CHUNK_NAME: usize = 128;

/// The HTTP header in which a relay names its store (its [`StorageId`])
/// when it lists a document's chunks (`GET /d/{doc}/chunks`): the `remote`
/// of [`sync_state_after_download`].
pub const STORAGE_ID_HEADER: &str = "essaim-storage-id";

/// The second component of a document's chunk keys. Ordered as a load
/// reads them: snapshots first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChunkKind {
    /// A whole saved document.
    Snapshot,
    /// Changes since a previous save.
    Incremental,
}

impl ChunkKind {
    /// Its name in keys (and in the relay's chunk URLs).
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Snapshot => "snapshot",
            ChunkKind::Incremental => "incremental",
        }
    }

    /// The kind named `name` in keys; `None` for any other name.
    pub fn parse(name: &str) -> Option<ChunkKind> {
        match name {
            "snapshot" => Some(ChunkKind::Snapshot),
            "incremental" => Some(ChunkKind::Incremental),
            _ => None,
        }
    }
}

impl StorageKey {
    /// `["storage-adapter-id"]`.
    pub fn storage_id() -> StorageKey {
        StorageKey(vec!["storage-adapter-id".into()])
    }

    /// `[doc]`: the prefix of everything stored about one document. A driver
    /// answers [`crate::Output::Load`] with every entry under it.
    pub fn document_prefix(doc: &DocumentId) -> StorageKey {
        StorageKey(vec![doc.to_string()])
    }

    /// The `/`-joined text keys of everything stored about `doc`, as a
    /// half-open range `[doc + "/", doc + "0")` (`0` is the character after
    /// `/`), the same in SQLite and IndexedDB.
    pub fn document_range(doc: &DocumentId) -> (String, String) {
        (format!("{doc}/"), format!("{doc}0"))
    }

    /// `[doc, kind, name]`.
    pub fn chunk(doc: &DocumentId, kind: ChunkKind, name: &str) -> StorageKey {
        StorageKey(vec![doc.to_string(), kind.as_str().into(), name.into()])
    }

    /// `[doc, kind, name]` from text received from outside (a chunk URL, a
    /// chunk listing); `None` if `kind` is not a chunk kind or `name`
    /// could not name a chunk ([`StorageKey::is_chunk_name`]).
    pub fn chunk_named(doc: &DocumentId, kind: &str, name: &str) -> Option<StorageKey> {
        let kind = ChunkKind::parse(kind)?;
        StorageKey::is_chunk_name(name).then(|| StorageKey::chunk(doc, kind, name))
    }

    /// Whether `name` could be a chunk's name: names are hashes in hex, so
    /// up to 128 ASCII letters and digits pass, and nothing else (no `/`,
    /// no dot, not empty).
    pub fn is_chunk_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_CHUNK_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// `[doc, "sync-state", storageId]`.
    pub fn sync_state(doc: &DocumentId, peer_store: &StorageId) -> StorageKey {
        StorageKey(vec![doc.to_string(), "sync-state".into(), peer_store.to_string()])
    }

    /// `[doc, "sync-state-used", storageId]`: when that sync state was last
    /// written.
    pub fn sync_state_used(doc: &DocumentId, peer_store: &StorageId) -> StorageKey {
        StorageKey(vec![doc.to_string(), "sync-state-used".into(), peer_store.to_string()])
    }

    /// The components, for drivers that store keys as arrays (IndexedDB).
    pub fn components(&self) -> &[String] {
        &self.0
    }

    /// Rebuilds a key read back from storage. `None` for an empty key or a
    /// component containing `/` (never written by this crate).
    pub fn from_components(components: Vec<String>) -> Option<StorageKey> {
        let valid = !components.is_empty() && components.iter().all(|c| !c.is_empty() && !c.contains('/'));
        valid.then_some(StorageKey(components))
    }

    /// Reads back a key stored as its `/`-joined text (see the `Display`
    /// impl); `None` as for [`StorageKey::from_components`].
    pub fn from_text(text: &str) -> Option<StorageKey> {
        StorageKey::from_components(text.split('/').map(str::to_owned).collect())
    }

    /// True when `self` starts with all of `prefix`'s components.
    pub fn starts_with(&self, prefix: &StorageKey) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The kind and name of a document chunk key `[doc, kind, name]`;
    /// `None` for any other key (sync states, the storage id).
    pub fn as_chunk(&self) -> Option<(ChunkKind, &str)> {
        match self.0.as_slice() {
            [_, kind, name] => Some((ChunkKind::parse(kind)?, name)),
            _ => None,
        }
    }

    /// Whether this is a sync state or when one was used: advisory data a
    /// store may write late (losing it costs a longer sync, never a change).
    pub fn is_sync_state(&self) -> bool {
        self.0.len() == 3 && matches!(self.kind(), Some("sync-state" | "sync-state-used"))
    }

    fn kind(&self) -> Option<&str> {
        self.0.get(1).map(String::as_str)
    }
}

/// `/`-joined, for drivers that store keys as text (SQLite). A prefix range
/// is then `key >= 'p/' AND key < 'p0'`.
impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// One atomic change to storage: the driver applies all of it or none of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageWrite {
    /// Entries to write (insert or replace).
    pub put: Vec<(StorageKey, Vec<u8>)>,
    /// Keys to delete.
    pub delete: Vec<StorageKey>,
}

impl StorageWrite {
    /// Whether the write puts or deletes any part of a document (a chunk),
    /// rather than only sync states or the storage id. A driver must not
    /// advertise a change before the write holding it is durable; a write
    /// of sync states alone is advisory (losing it costs a longer sync,
    /// never a change), so nothing needs to wait for it.
    pub fn holds_document_data(&self) -> bool {
        let is_chunk = |key: &StorageKey| key.as_chunk().is_some();
        self.put.iter().any(|(key, _)| is_chunk(key)) || self.delete.iter().any(is_chunk)
    }
}

/// The state of one document on disk, as far as this process knows it.
///
/// Only chunks this process loaded or wrote are ever deleted, so several
/// writers can share a store without locks (automerge-repo's rule).
#[derive(Debug, Default, Clone)]
pub(crate) struct OnDisk {
    /// Heads at the last save; empty when nothing was saved.
    saved_heads: Vec<ChangeHash>,
    /// Chunks known to hold part of the document, with their sizes.
    chunks: Vec<(StorageKey, ChunkKind, usize)>,
}

impl OnDisk {
    /// Decides what to write so that storage holds the whole document:
    /// nothing if the heads did not move, otherwise an incremental chunk or,
    /// under the JS compaction rule, a snapshot replacing every known chunk.
    pub(crate) fn save(&mut self, id: &DocumentId, doc: &Automerge) -> Option<StorageWrite> {
        let heads = doc.get_heads();
        if heads == self.saved_heads || heads.is_empty() {
            return None;
        }
        let snapshot_size: usize = self.size_of(ChunkKind::Snapshot);
        let incremental_size: usize = self.size_of(ChunkKind::Incremental);
        let compact =
            self.saved_heads.is_empty() || snapshot_size < SMALL_SNAPSHOT_BYTES || incremental_size >= snapshot_size;
        let write = if compact {
            let bytes = doc.save();
            let key = StorageKey::chunk(id, ChunkKind::Snapshot, &snapshot_name(&heads));
            let delete: Vec<StorageKey> = self.chunks.drain(..).map(|(k, _, _)| k).filter(|k| *k != key).collect();
            self.chunks.push((key.clone(), ChunkKind::Snapshot, bytes.len()));
            StorageWrite { put: vec![(key, bytes)], delete }
        } else {
            let bytes = doc.save_after(&self.saved_heads);
            let key = StorageKey::chunk(id, ChunkKind::Incremental, &hex::encode(Sha256::digest(&bytes)));
            self.chunks.push((key.clone(), ChunkKind::Incremental, bytes.len()));
            StorageWrite { put: vec![(key, bytes)], delete: Vec::new() }
        };
        self.saved_heads = heads;
        Some(write)
    }

    /// Counts a chunk another process committed, whose changes the document
    /// now holds, among those on disk. `caught_up`: the document's heads if
    /// everything before the chunk was saved, so the next save writes only
    /// what is newer instead of the other process's changes again.
    pub(crate) fn committed_elsewhere(
        &mut self,
        key: StorageKey,
        kind: ChunkKind,
        size: usize,
        caught_up: Option<Vec<ChangeHash>>,
    ) {
        if let Some(heads) = caught_up {
            self.saved_heads = heads;
        }
        self.chunks.push((key, kind, size));
    }

    /// Whether this chunk is known on disk.
    pub(crate) fn knows(&self, key: &StorageKey) -> bool {
        self.chunks.iter().any(|(known, _, _)| known == key)
    }

    /// Heads at the last save (or load).
    pub(crate) fn saved_heads(&self) -> &[ChangeHash] {
        &self.saved_heads
    }

    /// Bytes of every chunk known to hold part of the document.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.chunks.iter().map(|(_, _, size)| size).sum()
    }

    fn size_of(&self, kind: ChunkKind) -> usize {
        self.chunks.iter().filter(|(_, k, _)| *k == kind).map(|(_, _, size)| size).sum()
    }

    /// Number of chunks known on disk.
    #[cfg(test)]
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

/// JS names a snapshot by the SHA-256 of its sorted heads' hex strings.
pub(crate) fn snapshot_name(heads: &[ChangeHash]) -> String {
    let mut hexes: Vec<String> = heads.iter().map(|h| hex::encode(h.as_ref())).collect();
    hexes.sort();
    hex::encode(Sha256::digest(hexes.concat().as_bytes()))
}

/// A document rebuilt from its stored entries.
#[derive(Debug)]
pub(crate) struct LoadedDocument {
    pub(crate) doc: Automerge,
    pub(crate) on_disk: OnDisk,
    /// Encoded sync states by the remote store they were shared with.
    pub(crate) sync_states: Vec<(StorageId, Vec<u8>)>,
    /// When each sync state was last written, by store, where known.
    pub(crate) sync_states_used: Vec<(StorageId, u64)>,
    /// Chunks that could not be read; left on disk untouched, never deleted.
    pub(crate) unreadable: Vec<StorageKey>,
}

/// Rebuilds a document from every entry stored under its prefix.
///
/// Snapshots come first, then incrementals, as in automerge-repo. The fast
/// path loads them all at once; if that fails, each chunk is tried alone and
/// the unreadable ones are reported (and kept out of compaction, so they are
/// never deleted). Entries of other kinds are ignored.
pub(crate) fn load_document(id: &DocumentId, entries: Vec<(StorageKey, Vec<u8>)>) -> LoadedDocument {
    let mut chunks = Vec::new();
    let mut sync_states = Vec::new();
    let mut sync_states_used = Vec::new();
    let prefix = StorageKey::document_prefix(id);
    for (key, bytes) in entries {
        if !key.starts_with(&prefix) || key.0.len() != 3 {
            continue;
        }
        match key.kind() {
            Some("snapshot") => chunks.push((key, ChunkKind::Snapshot, bytes)),
            Some("incremental") => chunks.push((key, ChunkKind::Incremental, bytes)),
            Some("sync-state") => {
                if let Ok(store) = key.0[2].parse::<StorageId>() {
                    sync_states.push((store, bytes));
                }
            }
            Some("sync-state-used") => {
                let at = std::str::from_utf8(&bytes).ok().and_then(|t| t.parse::<u64>().ok());
                if let (Ok(store), Some(at)) = (key.0[2].parse::<StorageId>(), at) {
                    sync_states_used.push((store, at));
                }
            }
            _ => {}
        }
    }
    chunks.sort_by_key(|(key, kind, _)| (*kind, key.clone()));

    let strict = || LoadOptions::new().on_partial_load(OnPartialLoad::Error);
    let all: Vec<u8> = chunks.iter().flat_map(|(_, _, bytes)| bytes.iter().copied()).collect();
    let (doc, good, unreadable) = match Automerge::load_with_options(&all, strict()) {
        Ok(doc) => (doc, chunks.iter().map(|(k, kind, b)| (k.clone(), *kind, b.len())).collect(), Vec::new()),
        Err(_) => {
            let mut doc = Automerge::new();
            let mut good = Vec::new();
            let mut unreadable = Vec::new();
            for (key, kind, bytes) in &chunks {
                // Parse the chunk alone first: `load_incremental` would
                // silently skip the unreadable part of a damaged chunk.
                let readable = Automerge::load_with_options(bytes, strict()).and_then(|_| doc.load_incremental(bytes));
                match readable {
                    Ok(_) => good.push((key.clone(), *kind, bytes.len())),
                    Err(e) => {
                        tracing::warn!(key = %key, error = %e, "unreadable chunk left on disk");
                        unreadable.push(key.clone());
                    }
                }
            }
            (doc, good, unreadable)
        }
    };
    let saved_heads = if good.is_empty() { Vec::new() } else { doc.get_heads() };
    LoadedDocument { doc, on_disk: OnDisk { saved_heads, chunks: good }, sync_states, sync_states_used, unreadable }
}

/// A document rebuilt from its stored entries (`[doc, …]`), the way a
/// repo loads it: every readable chunk, snapshots first; a chunk that does
/// not parse whole on its own is skipped entirely (and logged), never
/// loaded in part; sync states and other entries are ignored. An empty
/// document (no heads) when no chunk loads. For readers outside a repo,
/// such as the relay's feeds.
pub fn load_chunks(doc: &DocumentId, entries: Vec<(StorageKey, Vec<u8>)>) -> Automerge {
    load_document(doc, entries).doc
}

/// The `[doc, "sync-state", remote]` entry to store with a document's
/// chunks just downloaded from the store `remote`: an Automerge sync state
/// whose shared heads are the heads of what `chunks` load to, so the next
/// sync with `remote` exchanges only what is newer. `None` when nothing in
/// `chunks` loads. Only for chunks `remote` served (see the module doc).
pub fn sync_state_after_download(
    doc: &DocumentId,
    remote: &StorageId,
    chunks: &[(StorageKey, Vec<u8>)],
) -> Option<(StorageKey, Vec<u8>)> {
    let heads = load_chunks(doc, chunks.to_vec()).get_heads();
    if heads.is_empty() {
        return None;
    }
    let mut state = sync::State::new();
    state.shared_heads = heads;
    Some((StorageKey::sync_state(doc, remote), state.encode()))
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    use super::*;

    fn doc_with(n: usize) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(&[1u8; 16][..]));
        for i in 0..n {
            let mut tx = doc.transaction();
            tx.put(ROOT, format!("k{i}"), "x".repeat(600)).expect("put");
            tx.commit();
        }
        doc
    }

    fn apply(store: &mut Vec<(StorageKey, Vec<u8>)>, write: StorageWrite) {
        store.retain(|(k, _)| !write.delete.contains(k));
        for (k, v) in write.put {
            store.retain(|(existing, _)| *existing != k);
            store.push((k, v));
        }
    }

    #[test]
    fn first_save_is_a_snapshot_then_incrementals_until_compaction() {
        let id = DocumentId::from_bytes(&[9; 16]).expect("id");
        let mut doc = doc_with(1);
        let mut on_disk = OnDisk::default();
        let mut store = Vec::new();

        let first = on_disk.save(&id, &doc).expect("first save");
        assert_eq!(first.put[0].0.kind(), Some("snapshot"));
        apply(&mut store, first);
        assert!(on_disk.save(&id, &doc).is_none(), "unchanged heads write nothing");

        // Grow the document past the small-snapshot threshold with one save,
        // then add small changes: incrementals accumulate until they outweigh
        // the snapshot, which triggers one compaction deleting all of them.
        let mut kinds = Vec::new();
        for i in 0..40 {
            let mut tx = doc.transaction();
            // Hex of hashes: text that does not compress away.
            let size = if i == 0 { 4000 } else { 300 };
            let value: String = (0..size / 64 + 1).map(|j| hex::encode(Sha256::digest(format!("{i}-{j}")))).collect();
            tx.put(ROOT, format!("n{i}"), &value[..size]).expect("put");
            tx.commit();
            let write = on_disk.save(&id, &doc).expect("heads moved");
            kinds.push(write.put[0].0.kind().map(str::to_owned));
            apply(&mut store, write);
        }
        assert!(kinds.iter().any(|k| k.as_deref() == Some("incremental")));
        assert!(kinds.iter().skip(1).any(|k| k.as_deref() == Some("snapshot")), "{kinds:?}");
        assert_eq!(store.len(), on_disk.chunk_count());

        let loaded = load_document(&id, store.clone());
        assert_eq!(loaded.doc.get_heads(), doc.get_heads());
        assert!(loaded.unreadable.is_empty());
        assert_eq!(loaded.on_disk.chunk_count(), store.len());
    }

    #[test]
    fn unreadable_chunks_are_reported_and_never_compacted_away() {
        let id = DocumentId::from_bytes(&[9; 16]).expect("id");
        let doc = doc_with(2);
        let mut on_disk = OnDisk::default();
        let mut store = Vec::new();
        apply(&mut store, on_disk.save(&id, &doc).expect("save"));
        let bad = StorageKey::chunk(&id, ChunkKind::Incremental, "garbage");
        store.push((bad.clone(), vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]));

        let mut loaded = load_document(&id, store);
        assert_eq!(loaded.unreadable, vec![bad.clone()]);
        assert_eq!(loaded.doc.get_heads(), doc.get_heads());

        let mut tx = loaded.doc.transaction();
        tx.put(ROOT, "z", 1).expect("put");
        tx.commit();
        let write = loaded.on_disk.save(&id, &loaded.doc).expect("save");
        assert!(!write.delete.contains(&bad));
    }

    #[test]
    fn only_writes_of_chunks_hold_document_data() {
        let id = DocumentId::from_bytes(&[9; 16]).expect("id");
        let remote = StorageId::from_random([7; 16]);
        let mut disk = OnDisk::default();
        let first = disk.save(&id, &doc_with(1)).expect("a snapshot");
        assert!(first.holds_document_data());
        let state = StorageWrite { put: vec![(StorageKey::sync_state(&id, &remote), vec![1])], delete: Vec::new() };
        assert!(!state.holds_document_data());
        let id_only = StorageWrite { put: vec![(StorageKey::storage_id(), b"x".to_vec())], delete: Vec::new() };
        assert!(!id_only.holds_document_data());
        let compaction_delete =
            StorageWrite { put: Vec::new(), delete: vec![StorageKey::chunk(&id, ChunkKind::Incremental, "ab")] };
        assert!(compaction_delete.holds_document_data());
    }

    #[test]
    fn a_sync_state_after_download_shares_the_downloaded_heads_with_that_store() {
        let id = DocumentId::from_bytes(&[9; 16]).expect("id");
        let remote = StorageId::from_random([7; 16]);
        let doc = doc_with(3);
        let mut store = Vec::new();
        apply(&mut store, OnDisk::default().save(&id, &doc).expect("save"));

        let (key, bytes) = sync_state_after_download(&id, &remote, &store).expect("the chunks load");
        assert_eq!(key, StorageKey::sync_state(&id, &remote));
        let state = sync::State::decode(&bytes).expect("an encoded sync state");
        assert_eq!(state.shared_heads, doc.get_heads());
        // What `load_document` gives back to the repo, under that store.
        store.push((key, bytes.clone()));
        assert_eq!(load_document(&id, store).sync_states, vec![(remote.clone(), bytes)]);

        // Nothing that loads: nothing to claim.
        assert_eq!(sync_state_after_download(&id, &remote, &[]), None);
        let garbage = (StorageKey::chunk(&id, ChunkKind::Incremental, "bad"), vec![0x85, 0x6f, 0x4a, 0x83, 1]);
        assert_eq!(sync_state_after_download(&id, &remote, &[garbage]), None);
    }

    /// Two clients open a document of many changes held by the relay, both
    /// from the relay's chunks (as downloaded), one with the seeded sync
    /// state: its first sync message carries no Bloom filter over them.
    #[test]
    fn a_download_seeded_sync_state_makes_the_first_websocket_sync_small() {
        use crate::tests::sim::{RELAY, Sim};

        let mut am = Automerge::new().with_actor(ActorId::from(&[3u8; 16][..]));
        for i in 0..4000 {
            let mut tx = am.transaction();
            tx.put(ROOT, format!("k{}", i % 100), i).expect("put");
            tx.commit();
        }
        let mut sim = Sim::new(&["seeded", "fresh"]);
        let id = Sim::doc_id("telecharge");
        sim.nodes[RELAY].storage.insert(StorageKey::chunk(&id, ChunkKind::Snapshot, "s"), am.save());
        sim.restart(RELAY);
        sim.run_until_quiet();
        let remote = sim.nodes[RELAY].repo.storage_id().expect("a persistent relay").clone();
        let prefix = StorageKey::document_prefix(&id);
        let chunks: Vec<(StorageKey, Vec<u8>)> = sim.nodes[RELAY]
            .storage
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

        let mut first_and_total = Vec::new();
        for (name, seed) in [("seeded", true), ("fresh", false)] {
            let client = sim.node(name);
            sim.nodes[client].storage.extend(chunks.iter().cloned());
            if seed {
                let (key, bytes) = sync_state_after_download(&id, &remote, &chunks).expect("seeded");
                sim.nodes[client].storage.insert(key, bytes);
            }
            sim.restart(client);
            sim.run_until_quiet();
            let before = sim.bytes_on_wire;
            sim.open(client, &id);
            sim.settle(client);
            let link = sim.links.iter().find(|l| l.client == client).expect("a link");
            let first = link.to_relay.front().expect("a first sync message").clone();
            assert_eq!(crate::Message::decode(&first).expect("a message").kind(), "sync");
            sim.run_until_quiet();
            assert_eq!(sim.heads(client, &id), Some(am.get_heads()), "{name}");
            first_and_total.push((first.len(), sim.bytes_on_wire - before));
        }
        let [(seeded_first, seeded_total), (fresh_first, fresh_total)] = first_and_total[..] else { unreachable!() };
        assert!(seeded_first < 500, "seeded: a first message of {seeded_first} bytes");
        assert!(fresh_first > 4000, "not seeded: a first message of {fresh_first} bytes");
        assert!(seeded_total < 1000 && fresh_total > 4000, "{seeded_total} against {fresh_total} bytes");
    }

    #[test]
    fn keys_print_like_automerge_repo() {
        let id: DocumentId = "4NMNnkMhL8jXrdJ9jamS58PAVdXu".parse().expect("id");
        let store: StorageId = "3760df37-a4c6-4f66-9ecd-732039a9385d".parse().expect("sid");
        assert_eq!(
            StorageKey::sync_state(&id, &store).to_string(),
            "4NMNnkMhL8jXrdJ9jamS58PAVdXu/sync-state/3760df37-a4c6-4f66-9ecd-732039a9385d"
        );
        assert_eq!(StorageKey::storage_id().to_string(), "storage-adapter-id");
        let chunk = StorageKey::chunk(&id, ChunkKind::Incremental, "ab12");
        assert_eq!(chunk.as_chunk(), Some((ChunkKind::Incremental, "ab12")));
        assert_eq!(StorageKey::sync_state(&id, &store).as_chunk(), None);
        assert_eq!(StorageKey::storage_id().as_chunk(), None);
        assert_eq!(StorageKey::from_components(vec!["a/b".into()]), None);
    }
}
