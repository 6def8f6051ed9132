//! Validation of a peer's Automerge sync message before Automerge uses it.
//!
//! Longer than the ~600 lines a file usually gets, on purpose: every check
//! of a peer's bytes before Automerge sees them is in this one file, so
//! that a review of what a peer can make Automerge do reads one file.
//!
//! Automerge trusts what a peer sends. The parameters of the Bloom filters
//! in its `have`s: a filter with entries but no bits makes it compute
//! `x % 0` when it next generates a message for that peer (a panic, which
//! took the relay down), and a filter with 2^26 probes per hash stalls it
//! for seconds and allocates hundreds of MiB. And what its changes expand
//! to: a 4 KB message whose "changes" is a compressed document chunk
//! (run-length and deflate encoded columns) expanded to 4 million
//! operations, blocking the relay for 11 s and taking 2 GiB. This module
//! refuses such messages at the decoding boundary, in three steps:
//!
//! 1. [`scan_sync_message`] walks the encoded message before Automerge
//!    decodes it, so that counts Automerge would allocate for (many tiny
//!    `have`s or change entries cost it ~30 times their bytes) are bounded.
//! 2. [`check_sync_message`] checks every Bloom filter of the decoded
//!    message against the shape Automerge itself produces.
//! 3. [`measure_changes`] walks every chunk of the message's changes:
//!    it counts the rows of every column (runs, without expanding them),
//!    inflates compressed columns and chunks through a capped decoder, and
//!    refuses chunk types Automerge never sends in a sync message. Its
//!    [`Expansion`] tells `repo` what the message would cost the document.
//!
//! What it does not do: decide what a refusal means for the connection
//! (`repo` sends `error` and closes), or compare the expansion with the
//! document (`repo` does, with the document's size and waiting changes).

use std::io::Read;

use automerge::{ChangeHash, sync};

/// Bits per entry of the Bloom filters Automerge builds (automerge 0.12,
/// `sync/bloom.rs`, `BITS_PER_ENTRY`; JavaScript automerge is the same Rust
/// compiled to wasm). A filter using more buys nothing a real peer needs
/// and costs us more work per change.
pub(crate) const MAX_BLOOM_BITS_PER_ENTRY: u64 = 10;

/// Probes per hash of the Bloom filters Automerge builds (`NUM_PROBES`).
/// Each probe is work for every change of the document, so this bounds the
/// cost of one peer's filter to what Automerge's own would cost.
pub(crate) const MAX_BLOOM_PROBES: u64 = 7;

/// `have` entries accepted in one sync message. Automerge sends at most one;
/// each one is checked against every change of the document.
pub(crate) const MAX_HAVES: usize = 4;

/// Change entries accepted in one sync message. Automerge sends one entry
/// per change (or one document chunk); a territory of 10,000 changes (the
/// benchmarks' large one, years of a busy territory) sent whole by a peer
/// that does not speak sync V2 is 10,000 entries. Each entry costs
/// Automerge a vector even when empty, so the count is bounded too.
pub(crate) const MAX_CHANGE_ENTRIES: usize = 100_000;

/// Smallest chunk: magic bytes, checksum, type and a one-byte length.
const MIN_CHUNK_BYTES: usize = 10;

/// Magic bytes that open every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Bytes of a change hash.
const HASH_BYTES: usize = 32;

/// Why a peer's sync message is refused before Automerge sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerInputError {
    /// More `have` entries than any real peer sends.
    #[error("{0} `have` entries in one sync message, at most {MAX_HAVES}")]
    TooManyHaves(usize),
    /// A Bloom filter whose header cannot be read.
    #[error("unreadable Bloom filter")]
    UnreadableBloom,
    /// A Bloom filter with entries but no bits, or with more bits per entry
    /// or probes than Automerge uses.
    #[error("Bloom filter with {entries} entries, {bits_per_entry} bits per entry and {probes} probes refused")]
    BadBloom {
        /// Entries it claims.
        entries: u64,
        /// Bits per entry it claims.
        bits_per_entry: u64,
        /// Probes per hash it claims.
        probes: u64,
    },
    /// A sync message whose layout cannot be read (a count or a length
    /// larger than what follows, say).
    #[error("unreadable sync message: {0}")]
    UnreadableMessage(&'static str),
    /// More change entries than any real peer sends.
    #[error("{0} change entries in one sync message, at most {MAX_CHANGE_ENTRIES}")]
    TooManyChanges(usize),
    /// A chunk of the message's changes that cannot be read.
    #[error("unreadable change chunk: {0}")]
    UnreadableChunk(&'static str),
    /// A chunk type Automerge never sends in a sync message (a bundle).
    #[error("chunk type {0} is not accepted in a sync message")]
    ChunkType(u8),
    /// Changes that expand to more operations than allowed.
    #[error("changes expanding to more than {max} operations refused")]
    TooManyOps {
        /// The bound.
        max: u64,
    },
    /// Changes whose compressed parts inflate past the allowed size.
    #[error("changes inflating to more than {max} bytes refused")]
    TooLargeInflated {
        /// The bound.
        max: u64,
    },
    /// A Bloom filter whose bit array is not the length its header implies.
    #[error("Bloom filter of {found} bytes of bits, {expected} expected")]
    BloomLength {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: usize,
    },
}

/// Walks an encoded sync message before Automerge decodes it: its version
/// byte, heads, needs, `have`s and change entries must be where their
/// counts and lengths say, `have`s and change entries within their
/// bounds, and each change entry long enough to hold a chunk. Automerge's
/// decoder then allocates at most a few times the message's size.
pub(crate) fn scan_sync_message(bytes: &[u8]) -> Result<(), PeerInputError> {
    let mut rest = bytes;
    let unreadable = PeerInputError::UnreadableMessage;
    match take(&mut rest, 1).ok_or(unreadable("empty"))? {
        [0x42 | 0x43] => {}
        _ => return Err(unreadable("unknown message type")),
    }
    skip_hashes(&mut rest).ok_or(unreadable("heads"))?;
    skip_hashes(&mut rest).ok_or(unreadable("needs"))?;
    let haves = read_count(&mut rest, 2).ok_or(unreadable("haves"))?;
    if haves > MAX_HAVES {
        return Err(PeerInputError::TooManyHaves(haves));
    }
    for _ in 0..haves {
        skip_hashes(&mut rest).ok_or(unreadable("have"))?;
        read_bytes(&mut rest).ok_or(unreadable("have"))?;
    }
    let entries = read_count(&mut rest, 1).ok_or(unreadable("changes"))?;
    if entries > MAX_CHANGE_ENTRIES {
        return Err(PeerInputError::TooManyChanges(entries));
    }
    for _ in 0..entries {
        let entry = read_bytes(&mut rest).ok_or(unreadable("change"))?;
        if entry.len() < MIN_CHUNK_BYTES {
            return Err(unreadable("change entry shorter than a chunk"));
        }
    }
    // What follows is the flags section, which Automerge reads leniently.
    Ok(())
}

/// What a message's changes expand to, from [`measure_changes`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Expansion {
    /// Operations: for each chunk, the rows of its longest column (a
    /// column of a document chunk's change metadata counts too), summed.
    pub(crate) ops: u64,
    /// Bytes of the chunks once their compressed parts are inflated.
    pub(crate) inflated_bytes: u64,
    /// The document chunks, by heads: Automerge skips a document chunk
    /// whose heads it already has.
    pub(crate) documents: Vec<DocumentChunk>,
    /// The change chunks, in message order.
    pub(crate) changes: Vec<ChangeChunk>,
}

/// A document chunk of a sync message (`save()` output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentChunk {
    /// Its heads.
    pub(crate) heads: Vec<ChangeHash>,
    /// Its operations, as counted by [`measure_changes`].
    pub(crate) ops: u64,
}

/// A change chunk of a sync message (plain or compressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeChunk {
    /// The change's hash.
    pub(crate) hash: ChangeHash,
    /// The changes it depends on.
    pub(crate) deps: Vec<ChangeHash>,
    /// Its operations.
    pub(crate) ops: u64,
    /// Its bytes, inflated.
    pub(crate) bytes: u64,
}

/// Bounds for [`measure_changes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExpansionLimits {
    /// Operations the message may expand to.
    pub(crate) max_ops: u64,
    /// Bytes its chunks may take once inflated.
    pub(crate) max_inflated_bytes: u64,
}

/// Measures the changes of a sync message (each entry holds one or more
/// concatenated chunks, as Automerge reads them) without building them:
/// column rows are counted run by run, compressed parts are inflated under
/// the remaining byte budget, and a bound passed stops the walk at once.
/// Chunk types Automerge does not send in sync (bundles) are refused.
pub(crate) fn measure_changes<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    limits: ExpansionLimits,
) -> Result<Expansion, PeerInputError> {
    let mut expansion = Expansion::default();
    for entry in entries {
        let mut rest = entry;
        while !rest.is_empty() {
            measure_chunk(&mut rest, limits, &mut expansion)?;
        }
    }
    Ok(expansion)
}

/// Measures the chunk at the start of `rest` and moves past it.
fn measure_chunk(rest: &mut &[u8], limits: ExpansionLimits, expansion: &mut Expansion) -> Result<(), PeerInputError> {
    let unreadable = PeerInputError::UnreadableChunk;
    let start = *rest;
    if take(rest, 4) != Some(&CHUNK_MAGIC[..]) {
        return Err(unreadable("no chunk magic bytes"));
    }
    take(rest, 4).ok_or(unreadable("checksum"))?;
    let kind = take(rest, 1).ok_or(unreadable("type"))?[0];
    let len = read_uleb(rest).and_then(|l| usize::try_from(l).ok()).ok_or(unreadable("length"))?;
    let data = take(rest, len).ok_or(unreadable("shorter than its length"))?;
    let chunk = &start[..start.len() - rest.len()];
    let mut budget = Budget { limits, expansion };
    match kind {
        0 => {
            budget.add_bytes(data.len())?;
            let (heads, ops) = measure_document(data, &mut budget)?;
            budget.add_ops(ops)?;
            expansion.documents.push(DocumentChunk { heads, ops });
        }
        1 | 2 => {
            let inflated;
            let body = if kind == 2 {
                inflated = budget.inflate(data)?;
                &inflated[..]
            } else {
                budget.add_bytes(data.len())?;
                data
            };
            let ops = measure_change(body, &mut budget)?;
            budget.add_ops(ops)?;
            // Automerge reads the hash and dependencies; the operations
            // were bounded above, so building the change costs little.
            let change = automerge::Change::try_from(chunk).map_err(|_| unreadable("invalid change"))?;
            let bytes = u64::try_from(body.len()).unwrap_or(u64::MAX);
            expansion.changes.push(ChangeChunk { hash: change.hash(), deps: change.deps().to_vec(), ops, bytes });
        }
        other => return Err(PeerInputError::ChunkType(other)),
    }
    Ok(())
}

/// Running totals of one message against its limits.
struct Budget<'a> {
    limits: ExpansionLimits,
    expansion: &'a mut Expansion,
}

impl Budget<'_> {
    fn add_ops(&mut self, ops: u64) -> Result<(), PeerInputError> {
        self.expansion.ops = self.expansion.ops.saturating_add(ops);
        if self.expansion.ops > self.limits.max_ops {
            return Err(PeerInputError::TooManyOps { max: self.limits.max_ops });
        }
        Ok(())
    }

    fn add_bytes(&mut self, bytes: usize) -> Result<(), PeerInputError> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.expansion.inflated_bytes = self.expansion.inflated_bytes.saturating_add(bytes);
        if self.expansion.inflated_bytes > self.limits.max_inflated_bytes {
            return Err(PeerInputError::TooLargeInflated { max: self.limits.max_inflated_bytes });
        }
        Ok(())
    }

    /// Inflates raw deflate data, reading at most one byte past what the
    /// budget has left: a bomb stops there instead of filling memory.
    fn inflate(&mut self, data: &[u8]) -> Result<Vec<u8>, PeerInputError> {
        let left = self.limits.max_inflated_bytes.saturating_sub(self.expansion.inflated_bytes);
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .take(left.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|_| PeerInputError::UnreadableChunk("invalid deflate data"))?;
        self.add_bytes(out.len())?;
        Ok(out)
    }

    /// Rows of the columns laid out in `data` after their metadata, the
    /// longest column's; compressed columns inflated when allowed.
    fn columns_rows(
        &mut self,
        columns: &[(u32, usize)],
        data: &mut &[u8],
        compressed_allowed: bool,
    ) -> Result<u64, PeerInputError> {
        let mut rows = 0;
        for &(spec, len) in columns {
            let raw = take(data, len).ok_or(PeerInputError::UnreadableChunk("column shorter than its length"))?;
            let inflated;
            let column = if spec & COLUMN_DEFLATE != 0 {
                if !compressed_allowed {
                    return Err(PeerInputError::UnreadableChunk("compressed column in a change"));
                }
                inflated = self.inflate(raw)?;
                &inflated[..]
            } else {
                raw
            };
            let column_rows = column_rows(spec, column).ok_or(PeerInputError::UnreadableChunk("column"))?;
            // A single column past the bound is refused before the next.
            if column_rows > self.limits.max_ops {
                return Err(PeerInputError::TooManyOps { max: self.limits.max_ops });
            }
            rows = rows.max(column_rows);
        }
        Ok(rows)
    }
}

/// The bit of a column specification saying its data is deflated.
const COLUMN_DEFLATE: u32 = 0b1000;

/// Measures a document chunk's data: returns its heads and operations.
fn measure_document(data: &[u8], budget: &mut Budget<'_>) -> Result<(Vec<ChangeHash>, u64), PeerInputError> {
    let unreadable = PeerInputError::UnreadableChunk;
    let mut rest = data;
    let actors = read_count(&mut rest, 1).ok_or(unreadable("actors"))?;
    for _ in 0..actors {
        read_bytes(&mut rest).ok_or(unreadable("actor"))?;
    }
    let heads = read_count(&mut rest, HASH_BYTES).ok_or(unreadable("heads"))?;
    let heads = (0..heads)
        .map(|_| take(&mut rest, HASH_BYTES).and_then(|h| ChangeHash::try_from(h).ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or(unreadable("heads"))?;
    let change_columns = read_columns(&mut rest).ok_or(unreadable("change columns"))?;
    let op_columns = read_columns(&mut rest).ok_or(unreadable("operation columns"))?;
    let changes = budget.columns_rows(&change_columns, &mut rest, true)?;
    let ops = budget.columns_rows(&op_columns, &mut rest, true)?;
    // What remains is the heads' indices, one number per head.
    Ok((heads, changes.max(ops)))
}

/// Measures a change chunk's data (inflated if it was compressed): returns
/// its operations. Automerge refuses compressed columns in a change.
fn measure_change(data: &[u8], budget: &mut Budget<'_>) -> Result<u64, PeerInputError> {
    let unreadable = PeerInputError::UnreadableChunk;
    let mut rest = data;
    skip_hashes(&mut rest).ok_or(unreadable("dependencies"))?;
    read_bytes(&mut rest).ok_or(unreadable("actor"))?;
    read_uleb(&mut rest).ok_or(unreadable("sequence number"))?;
    read_uleb(&mut rest).ok_or(unreadable("start operation"))?;
    read_sleb(&mut rest).ok_or(unreadable("time"))?;
    read_bytes(&mut rest).ok_or(unreadable("message"))?;
    let others = read_count(&mut rest, 1).ok_or(unreadable("actors"))?;
    for _ in 0..others {
        read_bytes(&mut rest).ok_or(unreadable("actor"))?;
    }
    let columns = read_columns(&mut rest).ok_or(unreadable("operation columns"))?;
    // What remains is extra bytes Automerge keeps as they are.
    budget.columns_rows(&columns, &mut rest, false)
}

/// Reads a column metadata list: (specification, length) pairs.
fn read_columns(input: &mut &[u8]) -> Option<Vec<(u32, usize)>> {
    let count = read_count(input, 2)?;
    (0..count)
        .map(|_| {
            let spec = u32::try_from(read_uleb(input)?).ok()?;
            let len = usize::try_from(read_uleb(input)?).ok()?;
            Some((spec, len))
        })
        .collect()
}

/// Rows of one column, from its type (the low three bits of its
/// specification): booleans are alternating run lengths, raw values have
/// no rows of their own (their metadata column has), everything else is
/// run-length encoded. Runs are counted, never expanded.
fn column_rows(spec: u32, mut data: &[u8]) -> Option<u64> {
    const BOOLEAN: u32 = 4;
    const STRING: u32 = 5;
    const VALUE: u32 = 7;
    let mut rows: u64 = 0;
    match spec & 0b111 {
        VALUE => {}
        BOOLEAN => {
            while !data.is_empty() {
                rows = rows.saturating_add(read_uleb(&mut data)?);
            }
        }
        kind => {
            let skip_value = |input: &mut &[u8]| -> Option<()> {
                if kind == STRING { read_bytes(input).map(drop) } else { read_uleb(input).map(drop) }
            };
            while !data.is_empty() {
                let count = read_sleb(&mut data)?;
                if count > 0 {
                    skip_value(&mut data)?;
                    rows = rows.saturating_add(count.unsigned_abs());
                } else if count < 0 {
                    // A literal run: one value per row, so at most one row
                    // per remaining byte; the loop ends with the data.
                    for _ in 0..count.unsigned_abs() {
                        skip_value(&mut data)?;
                    }
                    rows = rows.saturating_add(count.unsigned_abs());
                } else {
                    rows = rows.saturating_add(read_uleb(&mut data)?);
                }
            }
        }
    }
    Some(rows)
}

/// Takes `n` bytes.
fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Some(head)
}

/// Reads a count of items that take at least `min_item_bytes` each: a
/// count larger than what follows could hold is refused before any loop.
fn read_count(input: &mut &[u8], min_item_bytes: usize) -> Option<usize> {
    let count = usize::try_from(read_uleb(input)?).ok()?;
    (count.checked_mul(min_item_bytes)? <= input.len()).then_some(count)
}

/// Reads a length-prefixed byte string.
fn read_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(read_uleb(input)?).ok()?;
    take(input, len)
}

/// Skips a length-prefixed list of change hashes.
fn skip_hashes(input: &mut &[u8]) -> Option<()> {
    let count = read_count(input, HASH_BYTES)?;
    take(input, count * HASH_BYTES).map(drop)
}

/// Reads one signed LEB128 number of at most 64 bits.
fn read_sleb(input: &mut &[u8]) -> Option<i64> {
    let mut value: i64 = 0;
    let mut shift = 0u32;
    for (i, byte) in input.iter().enumerate().take(10) {
        value |= i64::from(byte & 0x7f).checked_shl(shift)?;
        shift += 7;
        if byte & 0x80 == 0 {
            if shift < 64 && byte & 0x40 != 0 {
                value |= -1i64 << shift;
            }
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Checks every Bloom filter of a decoded sync message.
pub(crate) fn check_sync_message(message: &sync::Message) -> Result<(), PeerInputError> {
    if message.have.len() > MAX_HAVES {
        return Err(PeerInputError::TooManyHaves(message.have.len()));
    }
    message.have.iter().try_for_each(|have| check_bloom(&have.bloom.to_bytes()))
}

/// Checks one Bloom filter in its wire form: empty, or entries > 0, bits
/// per entry and probes within Automerge's own, and exactly the bits its
/// header implies.
pub(crate) fn check_bloom(bytes: &[u8]) -> Result<(), PeerInputError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut rest = bytes;
    let entries = read_uleb(&mut rest).ok_or(PeerInputError::UnreadableBloom)?;
    let bits_per_entry = read_uleb(&mut rest).ok_or(PeerInputError::UnreadableBloom)?;
    let probes = read_uleb(&mut rest).ok_or(PeerInputError::UnreadableBloom)?;
    let shaped = entries > 0
        && (1..=MAX_BLOOM_BITS_PER_ENTRY).contains(&bits_per_entry)
        && (1..=MAX_BLOOM_PROBES).contains(&probes)
        && u32::try_from(entries).is_ok();
    if !shaped {
        return Err(PeerInputError::BadBloom { entries, bits_per_entry, probes });
    }
    // Both factors are bounded above, so this cannot overflow.
    let expected = (entries * bits_per_entry).div_ceil(8);
    if u64::try_from(rest.len()).ok() != Some(expected) {
        return Err(PeerInputError::BloomLength { expected, found: rest.len() });
    }
    Ok(())
}

/// Reads one unsigned LEB128 number of at most 64 bits.
fn read_uleb(input: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        value |= part.checked_shl(7 * i as u32).filter(|shifted| shifted >> (7 * i as u32) == part)?;
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automerge_filters_pass() {
        use automerge::sync::SyncDoc;
        use automerge::transaction::Transactable;
        let mut doc = automerge::Automerge::new();
        for i in 0..50 {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, format!("k{i}"), i).expect("put");
            tx.commit();
        }
        let message = doc.generate_sync_message(&mut sync::State::new()).expect("a message");
        assert!(message.have.iter().any(|h| !h.bloom.to_bytes().is_empty()));
        assert_eq!(check_sync_message(&message), Ok(()));
    }

    #[test]
    fn hostile_filters_are_refused() {
        // Entries without bits: Automerge would compute `x % 0`.
        assert!(matches!(check_bloom(&[1, 0, 1]), Err(PeerInputError::BadBloom { bits_per_entry: 0, .. })));
        // 2^26 probes per hash.
        assert!(matches!(check_bloom(&[1, 10, 0x80, 0x80, 0x80, 0x20, 0, 0]), Err(PeerInputError::BadBloom { .. })));
        // Bits missing or left over.
        assert!(matches!(check_bloom(&[1, 10, 7, 0]), Err(PeerInputError::BloomLength { expected: 2, found: 1 })));
        assert!(matches!(check_bloom(&[1, 8, 7, 0, 0]), Err(PeerInputError::BloomLength { expected: 1, found: 2 })));
        assert_eq!(check_bloom(&[1, 8, 7, 0]), Ok(()));
        // Truncated header, and a number too long for 64 bits.
        assert_eq!(check_bloom(&[0x80]), Err(PeerInputError::UnreadableBloom));
        assert_eq!(check_bloom(&[0xff; 12]), Err(PeerInputError::UnreadableBloom));
    }

    const GENEROUS: ExpansionLimits = ExpansionLimits { max_ops: u64::MAX, max_inflated_bytes: u64::MAX };

    fn text_document(chars: usize) -> automerge::Automerge {
        use automerge::transaction::Transactable;
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        let text = tx.put_object(automerge::ROOT, "texte", automerge::ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, &"a".repeat(chars)).expect("splice");
        tx.commit();
        doc
    }

    #[test]
    fn r12_03_operations_are_counted_from_the_columns() {
        // See: issue #12, item 3.
        use automerge::ReadDoc;
        let doc = text_document(50_000);
        let ops = doc.stats().num_ops;
        // The saved document (compressed columns), and the change alone,
        // plain and compressed.
        let saved = doc.save();
        let measured = measure_changes([&saved[..]], GENEROUS).expect("honest");
        assert_eq!(measured.ops, ops);
        assert_eq!(measured.documents.len(), 1);
        assert_eq!(measured.documents[0].heads, doc.get_heads());
        assert!(measured.inflated_bytes > saved.len() as u64);
        let mut change = doc.get_changes(&[])[0].clone();
        let plain = change.raw_bytes().to_vec();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "a compressed change chunk");
        for chunk in [plain, compressed] {
            let measured = measure_changes([&chunk[..]], GENEROUS).expect("honest");
            assert_eq!(measured.ops, ops);
            assert_eq!(measured.changes[0].hash, change.hash());
        }
        // Both in one entry, as Automerge also reads them.
        let joined = [saved.clone(), change.raw_bytes().to_vec()].concat();
        assert_eq!(measure_changes([&joined[..]], GENEROUS).expect("honest").ops, 2 * ops);
        // Past the bound, refused.
        let tight = ExpansionLimits { max_ops: ops - 1, max_inflated_bytes: u64::MAX };
        assert_eq!(measure_changes([&saved[..]], tight), Err(PeerInputError::TooManyOps { max: ops - 1 }));
    }

    #[test]
    fn r12_03_a_deflate_bomb_stops_at_the_cap() {
        // See: issue #12, item 3. Ten megabytes of zeros deflate to about
        // ten kilobytes; inflating stops one byte past the budget.
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 10 * 1024 * 1024]).expect("deflate");
        let deflated = encoder.finish().expect("deflate");
        let mut chunk = CHUNK_MAGIC.to_vec();
        chunk.extend([0, 0, 0, 0, 2]);
        let mut len = deflated.len();
        while len >= 0x80 {
            chunk.push((len as u8) | 0x80);
            len >>= 7;
        }
        chunk.push(len as u8);
        chunk.extend(&deflated);
        let limits = ExpansionLimits { max_ops: u64::MAX, max_inflated_bytes: 1024 * 1024 };
        assert_eq!(measure_changes([&chunk[..]], limits), Err(PeerInputError::TooLargeInflated { max: 1024 * 1024 }));
    }

    #[test]
    fn r12_03_counts_are_bounded_before_automerge_decodes() {
        // See: issue #12, item 3. Automerge allocates a vector for every
        // `have` and change entry, ~30 times their bytes when empty.
        let mut haves = vec![0x42, 0, 0, 0xe8, 0x07];
        haves.extend([0u8; 2000]);
        haves.push(0);
        assert_eq!(scan_sync_message(&haves), Err(PeerInputError::TooManyHaves(1000)));
        let mut changes = vec![0x42, 0, 0, 0, 0xc0, 0x9a, 0x0c];
        changes.extend(vec![0u8; 200_000]);
        assert_eq!(scan_sync_message(&changes), Err(PeerInputError::TooManyChanges(200_000)));
        let empty_entries = [0x42, 0, 0, 0, 3, 0, 0, 0];
        assert!(matches!(scan_sync_message(&empty_entries), Err(PeerInputError::UnreadableMessage(_))));
        // A count larger than what follows could hold.
        assert!(matches!(scan_sync_message(&[0x42, 0xff, 0xff, 0x03]), Err(PeerInputError::UnreadableMessage(_))));
        // What Automerge produces passes.
        use automerge::sync::SyncDoc;
        let doc = text_document(100);
        let mut state = sync::State::new();
        let first = doc.generate_sync_message(&mut state).expect("first").encode();
        assert_eq!(scan_sync_message(&first), Ok(()));
        let mut peer = automerge::Automerge::new();
        let mut peer_state = sync::State::new();
        let request = peer.generate_sync_message(&mut peer_state).expect("request");
        let mut doc = doc;
        doc.receive_sync_message(&mut state, request).expect("receive");
        let with_changes = doc.generate_sync_message(&mut state).expect("changes");
        assert!(!with_changes.changes.is_empty());
        assert_eq!(scan_sync_message(&with_changes.clone().encode()), Ok(()));
        peer.receive_sync_message(&mut peer_state, with_changes).expect("applied");
    }
}
