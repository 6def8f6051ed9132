//! The agenda target: arbitrary bytes as an Automerge document, read and
//! rendered the way the relay's feeds and the PWA read and render a
//! territory, then edited the way an organiser's device edits it.
//!
//! The input is loaded with [`Automerge::load_with_options`], tolerating a
//! partial load and skipping the heads check (the feeds read whatever
//! chunks they can, and an organiser can write any change). So that the
//! fuzzer's mutations reach the reader instead of stopping at a checksum,
//! the harness first rewrites the checksum of every uncompressed chunk in
//! the input ([`with_valid_checksums`]); compressed change chunks keep
//! theirs (it covers the inflated bytes).
//!
//! Loading itself is bounded by the input's size ([`MAX_DOCUMENT_BYTES`]);
//! what a compressed column inflates to is not (that is issue 12 item 3,
//! bounded in `sync-core`'s sync path), and shows as a libFuzzer timeout or
//! out-of-memory finding.
//!
//! Does not: sync, store, or check what the feeds say (only that they are
//! produced, in bounded time and memory, without a panic).

use sync_core::agenda::{self, Edit};
use sync_core::automerge::{Automerge, LoadOptions, OnPartialLoad, VerificationMode};
use sync_core::flux::{self, Territoire};
use sync_core::rythme::Timestamp;

/// Largest document read: 256 KiB of Automerge is thousands of records, far
/// more than a territory holds, and keeps one execution short.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Automerge's chunk magic bytes (the binary format's specification).
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Chunk type of a deflated change: its checksum covers the inflated bytes.
const COMPRESSED_CHANGE: u8 = 2;

/// Chunks rewritten at most, so that rewriting stays linear.
const MAX_CHUNKS: usize = 4096;

/// The feeds' clock: 2026-03-02 09:00 UTC.
const NOW_SECONDS: i64 = 1_772_442_000;

/// Target `agenda_reader`.
pub fn agenda_reader(data: &[u8]) {
    if data.len() > MAX_DOCUMENT_BYTES {
        return;
    }
    let bytes = with_valid_checksums(data);
    let options =
        LoadOptions::new().on_partial_load(OnPartialLoad::Ignore).verification_mode(VerificationMode::DontCheck);
    let Ok(mut am) = Automerge::load_with_options(&bytes, options) else { return };
    read_and_render(&am);
    edit(&mut am);
    read_and_render(&am);
}

/// Everything the relay and the PWA derive from a territory document.
fn read_and_render(am: &Automerge) {
    let lu = agenda::lire(am);
    let _ = agenda::historique(am);
    let Ok(now) = Timestamp::from_second(NOW_SECONDS) else { return };
    let territoire = Territoire::new(crate::seeds::territory_id().as_str(), &lu, "https://essaim.example");
    let _ = flux::ics(&territoire, &lu, now);
    let _ = flux::ics_compat(&territoire, &lu, now);
    let _ = flux::json_ld(&territoire, &lu, now);
    let _ = flux::html(&territoire, &lu, now);
    for action in lu.actions.keys() {
        let _ = flux::action_html(&territoire, &lu, action, now, &flux::Essaimage::default());
        let _ = agenda::ActionPublique::de(&lu, &territoire.document, &[], action);
    }
    let _ = lu.chantiers();
    let tous = [(territoire, lu)];
    let _ = flux::ics_national(&tous, now);
    let _ = flux::json_ld_national(&tous, now);
    let _ = flux::territoires_json(&tous, now);
    let _ = flux::annuaire_html(&tous, &flux::Filtre::default(), now, None);
}

/// Edits an organiser's device makes on a document others wrote: each is
/// either applied or refused with an error, never a panic.
fn edit(am: &mut Automerge) {
    let lu = agenda::lire(am);
    let mut edits = vec![serde_json::json!({ "type": "modifier_profil", "champs": { "nom": "Commune" } })];
    if let Some(id) = lu.actions.keys().next() {
        edits.push(serde_json::json!({ "type": "modifier", "collection": "actions", "id": id,
            "champs": { "titre": "Titre modifié" } }));
        edits.push(serde_json::json!({ "type": "modifier_occurrence", "collection": "actions", "id": id,
            "origine": "2026-03-11T18:30:00", "exception": { "etat": "annule" } }));
        edits.push(serde_json::json!({ "type": "definir_besoin", "action_id": id, "besoin_id": "b9",
            "besoin": { "type": "benevoles", "description": "Des bras" } }));
    }
    let auteur = "f0".repeat(16);
    for edit in edits {
        // The edits above are well-formed; one the schema refuses is
        // simply not applied.
        let Ok(edit) = serde_json::from_value::<Edit>(edit) else { continue };
        let _ = agenda::appliquer(am, NOW_SECONDS * 1000, &auteur, edit);
    }
    let _ = am.get_heads();
}

/// `data` with the checksum of each uncompressed chunk recomputed, as far
/// as the chunk headers parse; the rest is copied unchanged.
pub fn with_valid_checksums(data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = data.to_vec();
    let mut at = 0;
    for _ in 0..MAX_CHUNKS {
        let Some(header) = out.get(at..) else { break };
        if header.len() < 9 || header[..4] != MAGIC {
            break;
        }
        let kind = header[8];
        let Some((len, len_bytes)) = leb128(&header[9..]) else { break };
        let start = at + 9 + len_bytes;
        let Some(end) = usize::try_from(len).ok().and_then(|len| start.checked_add(len)) else { break };
        if end > out.len() {
            break;
        }
        if kind != COMPRESSED_CHANGE {
            let mut hasher = Sha256::new();
            hasher.update([kind]);
            hasher.update(&out[at + 9..start]);
            hasher.update(&out[start..end]);
            let hash = hasher.finalize();
            out[at + 4..at + 8].copy_from_slice(&hash[..4]);
        }
        at = end;
    }
    out
}

/// An unsigned LEB128 number and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * u32::try_from(i).ok()?)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Whether an agenda seed loads (used by the seed tests).
pub fn loads(data: &[u8]) -> bool {
    let options =
        LoadOptions::new().on_partial_load(OnPartialLoad::Ignore).verification_mode(VerificationMode::DontCheck);
    Automerge::load_with_options(&with_valid_checksums(data), options).is_ok()
}
