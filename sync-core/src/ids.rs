//! Identifiers of the automerge-repo protocol: documents, peers and stores.
//!
//! Every identifier that arrives from the network or from storage is parsed
//! here, once, into a newtype whose invariant is then guaranteed by its type:
//! a [`DocumentId`] is a valid bs58check string of bounded length, a [`PeerId`]
//! and a [`StorageId`] are bounded strings safe to use as storage key parts.
//! This module does not decide anything about documents or peers.

use std::fmt;
use std::str::FromStr;

use automerge::ChangeHash;

/// Longest binary document id accepted. automerge-repo mints 16 bytes, but
/// other factories exist (Keyhive), so the id is not assumed to be 16 bytes.
pub const MAX_DOCUMENT_ID_BYTES: usize = 64;

/// Longest peer id accepted, in bytes of UTF-8.
pub const MAX_PEER_ID_BYTES: usize = 256;

/// Longest storage id accepted, in bytes.
pub const MAX_STORAGE_ID_BYTES: usize = 128;

/// The URL scheme of documents: `automerge:<documentId>[#<head>|<head>…]`.
pub const URL_SCHEME: &str = "automerge:";

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("empty identifier")]
    Empty,
    /// The string is longer than the bound for its kind.
    #[error("identifier too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the rejected input.
        len: usize,
        /// The bound for this kind of identifier.
        max: usize,
    },
    /// The string is not base58 or its 4-byte checksum does not match.
    #[error("not a bs58check string: {0}")]
    NotBs58Check(String),
    /// A character not allowed in this kind of identifier.
    #[error("invalid character {0:?}")]
    InvalidCharacter(char),
    /// A URL that does not start with `automerge:`.
    #[error("not an automerge URL (expected the prefix `automerge:`)")]
    NotAnAutomergeUrl,
    /// A head in the `#heads` part that is not a 32-byte bs58check hash.
    #[error("invalid head in URL: {0}")]
    InvalidHead(String),
    /// A `/path` sub-document suffix (automerge-repo 2.6 alphas); not supported.
    #[error("sub-document paths in automerge URLs are not supported")]
    PathNotSupported,
}

/// A document identifier: the bs58check encoding of a binary id.
///
/// Invariant: the string decodes as bs58check to 1..=[`MAX_DOCUMENT_ID_BYTES`]
/// bytes, so it is safe as a storage key component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(String);

impl DocumentId {
    /// A document id for the given binary id (for example 16 random bytes
    /// passed in by the driver).
    pub fn from_bytes(bytes: &[u8]) -> Result<DocumentId, IdError> {
        if bytes.is_empty() {
            return Err(IdError::Empty);
        }
        if bytes.len() > MAX_DOCUMENT_ID_BYTES {
            return Err(IdError::TooLong { len: bytes.len(), max: MAX_DOCUMENT_ID_BYTES });
        }
        Ok(DocumentId(bs58::encode(bytes).with_check().into_string()))
    }

    /// The binary id.
    pub fn to_bytes(&self) -> Vec<u8> {
        bs58::decode(&self.0).with_check(None).into_vec().expect("a DocumentId is valid bs58check by construction")
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document's URL without heads.
    pub fn url(&self) -> AutomergeUrl {
        AutomergeUrl { document: self.clone(), heads: None }
    }
}

impl FromStr for DocumentId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<DocumentId, IdError> {
        // bs58 grows the input by about 37 %, plus the 4-byte checksum.
        let max_chars = (MAX_DOCUMENT_ID_BYTES + 4) * 138 / 100 + 1;
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > max_chars {
            return Err(IdError::TooLong { len: s.len(), max: max_chars });
        }
        let bytes = bs58::decode(s).with_check(None).into_vec().map_err(|e| IdError::NotBs58Check(e.to_string()))?;
        if bytes.is_empty() {
            return Err(IdError::Empty);
        }
        if bytes.len() > MAX_DOCUMENT_ID_BYTES {
            return Err(IdError::TooLong { len: bytes.len(), max: MAX_DOCUMENT_ID_BYTES });
        }
        // No need to encode the bytes again to find the canonical form:
        // base58 decoding is one-to-one (each leading `1` is a zero byte,
        // the rest a number with no leading zero digit), so `s` is the only
        // string that decodes to these bytes. Tests check it on every id.
        debug_assert_eq!(DocumentId::from_bytes(&bytes).as_ref().map(|id| id.0.as_str()), Ok(s), "canonical");
        Ok(DocumentId(s.to_owned()))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `automerge:<documentId>`, optionally pinned to heads with `#<head>|<head>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomergeUrl {
    /// The document the URL names.
    pub document: DocumentId,
    /// The heads the URL is pinned to, if any (a view of the past).
    pub heads: Option<Vec<ChangeHash>>,
}

impl FromStr for AutomergeUrl {
    type Err = IdError;

    fn from_str(s: &str) -> Result<AutomergeUrl, IdError> {
        let rest = s.strip_prefix(URL_SCHEME).ok_or(IdError::NotAnAutomergeUrl)?;
        let (id_and_path, heads) = match rest.split_once('#') {
            Some((id, heads)) => (id, Some(heads)),
            None => (rest, None),
        };
        if id_and_path.contains('/') {
            return Err(IdError::PathNotSupported);
        }
        let document = id_and_path.parse()?;
        let heads = heads.map(parse_heads).transpose()?;
        Ok(AutomergeUrl { document, heads })
    }
}

fn parse_heads(s: &str) -> Result<Vec<ChangeHash>, IdError> {
    let mut heads = s
        .split('|')
        .map(|head| {
            let bytes =
                bs58::decode(head).with_check(None).into_vec().map_err(|_| IdError::InvalidHead(head.to_owned()))?;
            ChangeHash::try_from(bytes.as_slice()).map_err(|_| IdError::InvalidHead(head.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    heads.sort();
    Ok(heads)
}

impl fmt::Display for AutomergeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{URL_SCHEME}{}", self.document)?;
        if let Some(heads) = &self.heads {
            let mut heads = heads.clone();
            heads.sort();
            let encoded: Vec<String> =
                heads.iter().map(|h| bs58::encode(h.as_ref()).with_check().into_string()).collect();
            write!(f, "#{}", encoded.join("|"))?;
        }
        Ok(())
    }
}

/// A peer's self-asserted identity (`senderId` / `targetId` on the wire).
///
/// Free-form UTF-8 in automerge-repo; here it is non-empty, bounded, and has no
/// control characters. It is never trusted: the driver binds a connection to
/// it, and the repo rejects messages whose sender differs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

impl PeerId {
    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PeerId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<PeerId, IdError> {
        check_bounded(s, MAX_PEER_ID_BYTES)?;
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return Err(IdError::InvalidCharacter(c));
        }
        Ok(PeerId(s.to_owned()))
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of a persistent store (one IndexedDB, one SQLite file).
///
/// automerge-repo mints a UUID; here any string of ASCII letters, digits, `-`,
/// `_` and `.` up to [`MAX_STORAGE_ID_BYTES`] is accepted, so that it is safe as
/// a storage key component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageId(String);

impl StorageId {
    /// A UUID v4 string built from 16 random bytes passed in by the driver.
    pub fn from_random(mut bytes: [u8; 16]) -> StorageId {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let h = hex::encode(bytes);
        StorageId(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
    }

    /// The id as sent on the wire and used in storage keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StorageId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<StorageId, IdError> {
        check_bounded(s, MAX_STORAGE_ID_BYTES)?;
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c))) {
            return Err(IdError::InvalidCharacter(c));
        }
        Ok(StorageId(s.to_owned()))
    }
}

impl fmt::Display for StorageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_bounded(s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > max {
        return Err(IdError::TooLong { len: s.len(), max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_id_round_trips_and_rejects_bad_input() {
        let id: DocumentId = "4NMNnkMhL8jXrdJ9jamS58PAVdXu".parse().expect("id from the protocol reference");
        assert_eq!(id.to_bytes().len(), 16);
        assert_eq!(id.to_string(), "4NMNnkMhL8jXrdJ9jamS58PAVdXu");
        assert_eq!(DocumentId::from_bytes(&id.to_bytes()), Ok(id));

        // Not 16 bytes: still a valid id.
        let short = DocumentId::from_bytes(&[1, 2, 3]).expect("3 bytes");
        assert_eq!(short.as_str().parse::<DocumentId>(), Ok(short.clone()));

        assert_eq!("".parse::<DocumentId>(), Err(IdError::Empty));
        assert!(matches!("4NMNnkMhL8jXrdJ9jamS58PAVdXv".parse::<DocumentId>(), Err(IdError::NotBs58Check(_))));
        assert!(matches!("0OIl".parse::<DocumentId>(), Err(IdError::NotBs58Check(_))));
        assert!(matches!("../../etc/passwd".parse::<DocumentId>(), Err(IdError::NotBs58Check(_))));
        let long = DocumentId(bs58::encode(vec![7u8; 65]).with_check().into_string());
        assert!(matches!(long.as_str().parse::<DocumentId>(), Err(IdError::TooLong { .. })));
        assert!(matches!("1".repeat(500).parse::<DocumentId>(), Err(IdError::TooLong { .. })));
        // A checksum over nothing: no id.
        assert_eq!(bs58::encode(b"").with_check().into_string().parse::<DocumentId>(), Err(IdError::Empty));
    }

    /// Leading zero bytes are where base58 could have two spellings: each
    /// is one leading `1`, and adding or dropping one breaks the checksum.
    #[test]
    fn document_ids_with_leading_zeros_have_one_spelling() {
        for zeros in 0..4 {
            let mut bytes = vec![0u8; zeros];
            bytes.extend_from_slice(&[0x5e, 0x11, 0, 3]);
            let id = DocumentId::from_bytes(&bytes).expect("id");
            assert_eq!(id.as_str().chars().take_while(|c| *c == '1').count(), zeros);
            assert_eq!(id.as_str().parse::<DocumentId>(), Ok(id.clone()));
            assert_eq!(id.to_bytes(), bytes);
            let padded = format!("1{id}");
            assert!(matches!(padded.parse::<DocumentId>(), Err(IdError::NotBs58Check(_))), "{padded}");
            if let Some(trimmed) = id.as_str().strip_prefix('1') {
                assert!(matches!(trimmed.parse::<DocumentId>(), Err(IdError::NotBs58Check(_))), "{trimmed}");
            }
        }
    }

    #[test]
    fn url_with_and_without_heads() {
        let url: AutomergeUrl = "automerge:4NMNnkMhL8jXrdJ9jamS58PAVdXu".parse().expect("plain url");
        assert_eq!(url.heads, None);
        assert_eq!(url.to_string(), "automerge:4NMNnkMhL8jXrdJ9jamS58PAVdXu");

        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        let pinned = AutomergeUrl { document: url.document.clone(), heads: Some(vec![b, a]) };
        let printed = pinned.to_string();
        let parsed: AutomergeUrl = printed.parse().expect("printed url parses");
        assert_eq!(parsed.heads, Some(vec![a, b]));
        assert_eq!(parsed.to_string(), printed);

        assert_eq!("http://x".parse::<AutomergeUrl>(), Err(IdError::NotAnAutomergeUrl));
        assert_eq!(
            "automerge:4NMNnkMhL8jXrdJ9jamS58PAVdXu/path".parse::<AutomergeUrl>(),
            Err(IdError::PathNotSupported)
        );
        assert!(matches!(
            "automerge:4NMNnkMhL8jXrdJ9jamS58PAVdXu#abc".parse::<AutomergeUrl>(),
            Err(IdError::InvalidHead(_))
        ));
    }

    #[test]
    fn peer_and_storage_ids() {
        assert!("peer-abc123".parse::<PeerId>().is_ok());
        assert!("storage-server-hôte".parse::<PeerId>().is_ok());
        assert_eq!("".parse::<PeerId>(), Err(IdError::Empty));
        assert_eq!("a\nb".parse::<PeerId>(), Err(IdError::InvalidCharacter('\n')));
        assert!(matches!("p".repeat(257).parse::<PeerId>(), Err(IdError::TooLong { .. })));

        let sid = StorageId::from_random([0xab; 16]);
        assert_eq!(sid.as_str(), "abababab-abab-4bab-abab-abababababab");
        assert_eq!(sid.as_str().parse::<StorageId>(), Ok(sid));
        assert_eq!("a/b".parse::<StorageId>(), Err(IdError::InvalidCharacter('/')));
    }
}
