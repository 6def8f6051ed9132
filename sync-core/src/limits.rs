//! Validation of a peer's Automerge sync message before Automerge uses it.
//!
//! Automerge trusts the parameters of the Bloom filters a peer sends in its
//! `have`s: a filter with entries but no bits makes it compute `x % 0` when
//! it next generates a message for that peer (a panic, which took the relay
//! down), and a filter with 2^26 probes per hash stalls it for seconds and
//! allocates hundreds of MiB. This module refuses such messages at the
//! decoding boundary, so `repo` hands Automerge only filters shaped like the
//! ones Automerge itself produces.
//!
//! What it does not do: decide what a refusal means for the connection
//! (`repo` sends `error` and closes), or bound the changes a message carries
//! (`repo` checks the document size).

use automerge::sync;

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
    /// A Bloom filter whose bit array is not the length its header implies.
    #[error("Bloom filter of {found} bytes of bits, {expected} expected")]
    BloomLength {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: usize,
    },
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
}
