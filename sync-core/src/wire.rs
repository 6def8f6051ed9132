//! The wire codec of the automerge-repo websocket protocol, version "1".
//!
//! Longer than the ~600 lines a file usually gets, on purpose: only this
//! file knows the wire format, and each message's encoding sits beside its
//! decoding and its bounds, so a change to one is seen with the other.
//!
//! One websocket binary frame carries one definite-length CBOR map with text
//! keys; its `type` field names the message:
//!
//! | `type`                       | fields                                                          |
//! |------------------------------|-----------------------------------------------------------------|
//! | `join`                       | `senderId`, `peerMetadata` (or `metadata`), `supportedProtocolVersions` |
//! | `peer`                       | `senderId`, `targetId`, `peerMetadata`, `selectedProtocolVersion` |
//! | `error`                      | `message`, optional `senderId`, `targetId`                      |
//! | `leave`                      | `senderId`                                                      |
//! | `request`, `sync`            | `senderId`, `targetId`, `documentId`, `data` (a sync message)   |
//! | `doc-unavailable`            | `senderId`, `targetId`, `documentId`                            |
//! | `ephemeral`                  | `senderId`, `targetId`, `documentId`, `sessionId`, `count`, `data` |
//! | `remote-subscription-change` | `senderId`, `targetId`, optional `add`, `remove` (storage ids)  |
//! | `remote-heads-changed`       | `senderId`, `targetId`, `documentId`, `newHeads`                |
//!
//! Decoding is tolerant exactly where the JavaScript implementation is loose:
//! `peerMetadata` or `metadata`; CBOR `undefined` or `null` for an absent
//! optional field; integer or float `count` and `timestamp`; unknown keys
//! (skipped without being built, under the same bounds as the rest) and
//! unknown message types ignored. It is strict everywhere else (definite
//! lengths, field types, identifiers validated, no trailing bytes), and every
//! failure is a typed [`DecodeError`].
//!
//! Encoding follows what JS expects: ids as text, `data` as an untagged byte
//! string, optional fields omitted rather than `null`. A `sync` message for
//! several peers is encoded once up to its last field, `targetId`
//! ([`SyncFrame`]); each peer's [`Frame`] is those shared bytes and its own
//! target, encoded once per connection ([`Target`]).
//!
//! This module only translates bytes; what a message means is decided by
//! `repo`.

use std::collections::BTreeMap;
use std::sync::Arc;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::ids::{DocumentId, IdError, PeerId, StorageId};

/// The only protocol version Essaim speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// Nesting depth accepted inside a known field (newHeads is the deepest: 3).
const MAX_DEPTH: usize = 16;

/// Entries accepted in one map or array: far above any real message, far
/// below what a 64 MiB frame could hold.
const MAX_ENTRIES: u64 = 10_000;

/// Longest ephemeral session id accepted (JS sends about 11 characters).
const MAX_SESSION_ID_BYTES: usize = 64;

/// One message of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// First message of the initiating side.
    Join {
        /// The joining peer.
        sender: PeerId,
        /// Its storage identity, if it told one.
        metadata: PeerMetadata,
        /// Versions it speaks; `None` when the field is absent (means "1").
        supported_versions: Option<Vec<String>>,
    },
    /// The receiving side's answer to a successful `join`.
    Peer {
        /// The answering peer.
        sender: PeerId,
        /// The peer that joined.
        target: PeerId,
        /// The answering peer's storage identity.
        metadata: PeerMetadata,
        /// The version selected; JS does not check it.
        selected_version: String,
    },
    /// A protocol error; the sender closes the connection after it.
    Error {
        /// Sender, which JS servers add.
        sender: Option<PeerId>,
        /// Target, which JS servers add.
        target: Option<PeerId>,
        /// Human-readable reason.
        message: String,
    },
    /// Advisory goodbye (only sent by in-browser channel adapters).
    Leave {
        /// The leaving peer.
        sender: PeerId,
    },
    /// First sync message for a document the sender does not have.
    Request(SyncMessage),
    /// Any other Automerge sync message.
    Sync(SyncMessage),
    /// The sender does not have the document (or will not say it has it).
    DocUnavailable {
        /// The answering peer.
        sender: PeerId,
        /// The requester.
        target: PeerId,
        /// The document.
        document: DocumentId,
    },
    /// An application broadcast, relayed unchanged except for `targetId`.
    Ephemeral(EphemeralMessage),
    /// Remote-heads gossip subscription (decoded, then ignored by the repo).
    RemoteSubscriptionChange {
        /// The subscriber.
        sender: PeerId,
        /// The peer asked.
        target: PeerId,
        /// Storage ids to add, if any.
        add: Option<Vec<StorageId>>,
        /// Storage ids to remove, if any.
        remove: Option<Vec<StorageId>>,
    },
    /// Remote-heads gossip (decoded, then ignored by the repo).
    RemoteHeadsChanged {
        /// The gossiping peer.
        sender: PeerId,
        /// The peer told.
        target: PeerId,
        /// The document.
        document: DocumentId,
        /// Heads per storage id, with the time they were seen.
        new_heads: BTreeMap<StorageId, RemoteHeads>,
    },
    /// A message type this version does not know; ignored, never an error.
    Unknown {
        /// The `type` field as received.
        kind: String,
    },
}

/// Fields shared by `request` and `sync`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncMessage {
    /// The sending peer.
    pub sender: PeerId,
    /// The receiving peer.
    pub target: PeerId,
    /// The document being synced.
    pub document: DocumentId,
    /// An encoded Automerge sync message.
    pub data: Vec<u8>,
}

/// The bytes of one message to send, as the driver writes them. Most are
/// encoded whole; a `sync` message generated once for several peers in
/// the same state ([`SyncFrame`]) is the part they share, then each peer's
/// target, written one after the other without being copied together.
///
/// Two frames are equal when they are built alike: a whole frame and an
/// addressed one with the same bytes are not (compare [`Frame::to_vec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A message encoded on its own.
    Whole(Vec<u8>),
    /// A message shared with other peers, then the value of its `targetId`.
    Addressed {
        /// Every field up to the value of `targetId`.
        untargeted: Arc<Vec<u8>>,
        /// That value: the target's peer id, encoded.
        target: Target,
    },
}

impl Frame {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        let [first, second] = self.parts();
        first.len() + second.len()
    }

    /// Whether it has no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its bytes, in two parts to write one after the other.
    pub fn parts(&self) -> [&[u8]; 2] {
        match self {
            Frame::Whole(bytes) => [bytes, &[]],
            Frame::Addressed { untargeted, target } => [untargeted, &target.0],
        }
    }

    /// Its bytes, copied into one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts().concat()
    }

    /// Its bytes in one buffer.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Frame::Whole(bytes) => bytes,
            addressed => addressed.to_vec(),
        }
    }
}

impl From<Vec<u8>> for Frame {
    fn from(bytes: Vec<u8>) -> Frame {
        Frame::Whole(bytes)
    }
}

/// A peer id encoded as the value of `targetId`, once per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target(Arc<[u8]>);

impl Target {
    /// `peer`'s id as CBOR text.
    pub fn new(peer: &PeerId) -> Target {
        let mut e = Encoder::new(Vec::with_capacity(peer.as_str().len() + 9));
        e.str(peer.as_str()).expect("writing CBOR to a Vec cannot fail");
        Target(e.into_writer().into())
    }
}

/// A `request` or `sync` message encoded once for several peers: every
/// field but the value of `targetId`, which comes last and which
/// [`SyncFrame::to`] adds. What the relay sends each reader in the same
/// sync state: the same bytes but for the target, neither encoded again
/// nor copied.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncFrame {
    untargeted: Arc<Vec<u8>>,
}

impl SyncFrame {
    /// `request` (`is_request`) or `sync` from `sender` for `document`.
    pub fn new(is_request: bool, sender: &PeerId, document: &DocumentId, data: &[u8]) -> SyncFrame {
        let kind = if is_request { "request" } else { "sync" };
        let room = UNTARGETED_OVERHEAD + sender.as_str().len() + document.as_str().len() + data.len();
        let mut e = Encoder::new(Vec::with_capacity(room));
        encode_sync_untargeted(&mut e, kind, sender, document, data).expect("writing CBOR to a Vec cannot fail");
        SyncFrame { untargeted: Arc::new(e.into_writer()) }
    }

    /// The frame for `target`: what [`Message::encode`] gives for the same
    /// message.
    pub fn to(&self, target: &Target) -> Frame {
        Frame::Addressed { untargeted: self.untargeted.clone(), target: target.clone() }
    }
}

/// Bytes of a `sync` message's keys, type and CBOR headers, besides the
/// sender, the document id and the data: enough to allocate once.
const UNTARGETED_OVERHEAD: usize = 96;

/// A `request` or `sync` message up to the value of `targetId` (the one
/// home of these messages' field order).
fn encode_sync_untargeted(
    e: &mut Encoder<Vec<u8>>,
    kind: &str,
    sender: &PeerId,
    document: &DocumentId,
    data: &[u8],
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(5)?.str("type")?.str(kind)?;
    e.str("documentId")?.str(document.as_str())?;
    e.str("data")?.bytes(data)?;
    e.str("senderId")?.str(sender.as_str())?;
    e.str("targetId")?;
    Ok(())
}

/// Fields of an `ephemeral` message.
#[derive(Debug, Clone, PartialEq)]
pub struct EphemeralMessage {
    /// The original author, preserved when relayed.
    pub sender: PeerId,
    /// The receiving peer (the only field a relay rewrites).
    pub target: PeerId,
    /// The document the broadcast belongs to.
    pub document: DocumentId,
    /// The author's session, random per repo start.
    pub session: String,
    /// Increases with every broadcast of that session.
    pub count: u64,
    /// CBOR-encoded application value.
    pub data: Vec<u8>,
}

/// What a peer says about its storage in `join` and `peer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerMetadata {
    /// The peer's persistent store, absent for storage-less peers.
    pub storage_id: Option<StorageId>,
    /// An ephemeral peer's sync states are not worth persisting.
    pub is_ephemeral: bool,
}

/// One entry of `newHeads` in `remote-heads-changed`.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteHeads {
    /// bs58check change hashes, as JS sends them.
    pub heads: Vec<String>,
    /// Milliseconds since the epoch (JS sends a float64).
    pub timestamp: u64,
}

/// Why bytes are not a valid protocol message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// A zero-length frame (JS refuses to send them).
    #[error("empty message")]
    Empty,
    /// The bytes are not well-formed CBOR.
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// The top-level item is not a map.
    #[error("expected a CBOR map, found {0}")]
    NotAMap(String),
    /// An indefinite-length map or array, which JS never emits.
    #[error("indefinite-length CBOR is not accepted")]
    IndefiniteLength,
    /// Bytes left after the message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A map key that is not text, or a key present twice.
    #[error("invalid or duplicate key: {0}")]
    BadKey(String),
    /// Nesting deeper than any message needs.
    #[error("CBOR nested too deeply")]
    TooDeep,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field of the wrong CBOR type.
    #[error("field `{field}`: expected {expected}, found {found}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What the protocol requires.
        expected: &'static str,
        /// What was received.
        found: String,
    },
    /// A number that cannot be a count or a timestamp, or a session id
    /// that is empty or too long.
    #[error("field `{0}`: out of range")]
    BadNumber(&'static str),
    /// A map or array with more entries than any message needs.
    #[error("CBOR map or array too large: {0} entries")]
    TooManyEntries(u64),
    /// An identifier that fails validation.
    #[error("field `{field}`: {source}")]
    BadId {
        /// The field.
        field: &'static str,
        /// Why the identifier is invalid.
        source: IdError,
    },
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> DecodeError {
        DecodeError::Cbor(e.to_string())
    }
}

/// A generic CBOR value, as much of CBOR as the protocol uses.
///
/// Also used by the golden tests to compare messages structurally.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'b> {
    /// CBOR `null` or `undefined`: an absent optional value.
    Absent,
    Bool(bool),
    Uint(u64),
    Int(i128),
    Float(f64),
    Text(&'b str),
    Bytes(&'b [u8]),
    Array(Vec<Value<'b>>),
    Map(Vec<(&'b str, Value<'b>)>),
}

impl<'b> Value<'b> {
    fn kind(&self) -> String {
        match self {
            Value::Absent => "null",
            Value::Bool(_) => "bool",
            Value::Uint(_) | Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
        .to_owned()
    }

    /// Decodes one value, rejecting indefinite lengths, tags and deep nesting.
    pub(crate) fn decode(d: &mut Decoder<'b>, depth: usize) -> Result<Value<'b>, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        Ok(match d.datatype()? {
            Type::Null => {
                d.null()?;
                Value::Absent
            }
            Type::Undefined => {
                d.undefined()?;
                Value::Absent
            }
            Type::Bool => Value::Bool(d.bool()?),
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::Uint(d.u64()?),
            Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => Value::Int(i128::from(d.int()?)),
            Type::F16 | Type::F32 | Type::F64 => Value::Float(d.f64()?),
            Type::String => Value::Text(d.str()?),
            Type::Bytes => Value::Bytes(d.bytes()?),
            Type::Array => {
                let len = d.array()?.ok_or(DecodeError::IndefiniteLength)?;
                if len > MAX_ENTRIES {
                    return Err(DecodeError::TooManyEntries(len));
                }
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(Value::decode(d, depth + 1)?);
                }
                Value::Array(items)
            }
            Type::Map => Value::Map(decode_map_entries(d, depth + 1, false)?),
            Type::BytesIndef | Type::StringIndef | Type::ArrayIndef | Type::MapIndef => {
                return Err(DecodeError::IndefiniteLength);
            }
            other => return Err(DecodeError::Cbor(format!("unsupported CBOR item: {other}"))),
        })
    }

    /// Decodes a whole buffer as one value with nothing after it.
    #[cfg(test)]
    pub(crate) fn decode_all(bytes: &'b [u8]) -> Result<Value<'b>, DecodeError> {
        let mut d = Decoder::new(bytes);
        let value = Value::decode(&mut d, 0)?;
        check_end(&d)?;
        Ok(value)
    }
}

fn check_end(d: &Decoder<'_>) -> Result<(), DecodeError> {
    let rest = d.input().len() - d.position();
    if rest > 0 {
        return Err(DecodeError::TrailingBytes(rest));
    }
    Ok(())
}

/// Keys of a map up to which repeated ones are found without hashing.
const FEW_KEYS: usize = 16;

/// Decodes a definite-length map with text keys. With `skip_unknown`, values of
/// keys the protocol does not use are skipped without being built.
fn decode_map_entries<'b>(
    d: &mut Decoder<'b>,
    depth: usize,
    skip_unknown: bool,
) -> Result<Vec<(&'b str, Value<'b>)>, DecodeError> {
    let len = d.map()?.ok_or(DecodeError::IndefiniteLength)?;
    if len > MAX_ENTRIES {
        return Err(DecodeError::TooManyEntries(len));
    }
    // Both bounded by MAX_ENTRIES, checked just above.
    let len = len as usize;
    let kept = if skip_unknown { len.min(KNOWN_FIELDS.len()) } else { len };
    // Room for a few entries at first: the count is the peer's word, and a
    // map that declares many and brings few must not reserve for them all.
    let mut entries = Vec::with_capacity(kept.min(FEW_KEYS));
    // Repeated keys: looked for among the few seen so far in a small map
    // (every message), in a hash set in a large one.
    let mut few = [""; FEW_KEYS];
    let mut many = (len > FEW_KEYS).then(std::collections::HashSet::new);
    for i in 0..len {
        if d.datatype()? != Type::String {
            return Err(DecodeError::BadKey(format!("non-text key of type {}", d.datatype()?)));
        }
        let key = d.str()?;
        let repeated = match many.as_mut() {
            Some(keys) => !keys.insert(key),
            None => {
                few[i] = key;
                few[..i].contains(&key)
            }
        };
        if repeated {
            return Err(DecodeError::BadKey(key.to_owned()));
        }
        if skip_unknown && !KNOWN_FIELDS.contains(&key) {
            skip_value(d, depth)?;
            continue;
        }
        let value = Value::decode(d, depth)?;
        entries.push((key, value));
    }
    Ok(entries)
}

/// Skips one value of a key the protocol does not use, without building it.
///
/// The same rules as [`Value::decode`] hold, so that skipping costs no more
/// than decoding: definite lengths only, at most [`MAX_DEPTH`] levels and
/// [`MAX_ENTRIES`] entries per map or array. `minicbor`'s own `skip` keeps a
/// stack entry per nested indefinite-length item, which made a 60 MiB
/// frame of them cost 1.1 GiB (issue #12, item 10); this recursion is
/// bounded by the depth and allocates nothing.
fn skip_value(d: &mut Decoder<'_>, depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    match d.datatype()? {
        Type::Array => {
            let len = d.array()?.ok_or(DecodeError::IndefiniteLength)?;
            if len > MAX_ENTRIES {
                return Err(DecodeError::TooManyEntries(len));
            }
            for _ in 0..len {
                skip_value(d, depth + 1)?;
            }
        }
        Type::Map => {
            let len = d.map()?.ok_or(DecodeError::IndefiniteLength)?;
            if len > MAX_ENTRIES {
                return Err(DecodeError::TooManyEntries(len));
            }
            for _ in 0..len {
                skip_value(d, depth + 1)?;
                skip_value(d, depth + 1)?;
            }
        }
        Type::Tag => {
            d.tag()?;
            skip_value(d, depth + 1)?;
        }
        Type::ArrayIndef | Type::MapIndef => return Err(DecodeError::IndefiniteLength),
        // Scalars and (possibly chunked) strings: no nesting, no allocation.
        _ => d.skip()?,
    }
    Ok(())
}

/// Top-level keys the protocol uses; others are skipped unread.
pub(crate) const KNOWN_FIELDS: &[&str] = &[
    "type",
    "senderId",
    "targetId",
    "peerMetadata",
    "metadata",
    "supportedProtocolVersions",
    "selectedProtocolVersion",
    "message",
    "documentId",
    "data",
    "sessionId",
    "count",
    "add",
    "remove",
    "newHeads",
];

/// The fields of one received message, consumed by name.
struct Fields<'b>(Vec<(&'b str, Value<'b>)>);

impl<'b> Fields<'b> {
    fn take(&mut self, field: &'static str) -> Option<Value<'b>> {
        let i = self.0.iter().position(|(k, _)| *k == field)?;
        match self.0.swap_remove(i).1 {
            Value::Absent => None,
            value => Some(value),
        }
    }

    fn required(&mut self, field: &'static str) -> Result<Value<'b>, DecodeError> {
        self.take(field).ok_or(DecodeError::MissingField(field))
    }

    fn text(&mut self, field: &'static str) -> Result<&'b str, DecodeError> {
        as_text(field, self.required(field)?)
    }

    fn optional_text(&mut self, field: &'static str) -> Result<Option<&'b str>, DecodeError> {
        self.take(field).map(|v| as_text(field, v)).transpose()
    }

    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        match self.required(field)? {
            Value::Bytes(b) => Ok(b.to_vec()),
            other => Err(wrong_type(field, "bytes", &other)),
        }
    }

    fn peer(&mut self, field: &'static str) -> Result<PeerId, DecodeError> {
        parse_id(field, self.text(field)?)
    }

    fn optional_peer(&mut self, field: &'static str) -> Result<Option<PeerId>, DecodeError> {
        self.optional_text(field)?.map(|s| parse_id(field, s)).transpose()
    }

    fn document(&mut self) -> Result<DocumentId, DecodeError> {
        parse_id("documentId", self.text("documentId")?)
    }

    /// A session id: random text from the author, bounded.
    fn session(&mut self) -> Result<String, DecodeError> {
        let session = self.text("sessionId")?;
        if session.is_empty() || session.len() > MAX_SESSION_ID_BYTES {
            return Err(DecodeError::BadNumber("sessionId"));
        }
        Ok(session.to_owned())
    }

    fn count(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        as_count(field, self.required(field)?)
    }

    fn storage_ids(&mut self, field: &'static str) -> Result<Option<Vec<StorageId>>, DecodeError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| parse_id(field, as_text(field, item)?))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(wrong_type(field, "array", &other)),
        }
    }

    /// `peerMetadata`, or `metadata` as the README calls it.
    fn metadata(&mut self) -> Result<PeerMetadata, DecodeError> {
        let value = match self.take("peerMetadata") {
            Some(v) => Some(v),
            None => self.take("metadata"),
        };
        let Some(value) = value else {
            return Ok(PeerMetadata::default());
        };
        let Value::Map(entries) = value else {
            return Err(wrong_type("peerMetadata", "map", &value));
        };
        let mut fields = Fields(entries);
        let storage_id = fields.optional_text("storageId")?.map(|s| parse_id("storageId", s)).transpose()?;
        let is_ephemeral = match fields.take("isEphemeral") {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(other) => return Err(wrong_type("isEphemeral", "bool", &other)),
        };
        Ok(PeerMetadata { storage_id, is_ephemeral })
    }

    fn versions(&mut self) -> Result<Option<Vec<String>>, DecodeError> {
        const FIELD: &str = "supportedProtocolVersions";
        match self.take(FIELD) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                items.into_iter().map(|v| as_text(FIELD, v).map(str::to_owned)).collect::<Result<Vec<_>, _>>().map(Some)
            }
            Some(other) => Err(wrong_type(FIELD, "array", &other)),
        }
    }

    fn new_heads(&mut self) -> Result<BTreeMap<StorageId, RemoteHeads>, DecodeError> {
        const FIELD: &str = "newHeads";
        let value = self.required(FIELD)?;
        let Value::Map(entries) = value else {
            return Err(wrong_type(FIELD, "map", &value));
        };
        let mut out = BTreeMap::new();
        for (storage, entry) in entries {
            let storage: StorageId = parse_id(FIELD, storage)?;
            let Value::Map(entry) = entry else {
                return Err(wrong_type(FIELD, "map", &entry));
            };
            let mut entry = Fields(entry);
            let heads = match entry.required("heads")? {
                Value::Array(items) => {
                    items.into_iter().map(|h| as_text("heads", h).map(str::to_owned)).collect::<Result<Vec<_>, _>>()?
                }
                other => return Err(wrong_type("heads", "array", &other)),
            };
            let timestamp = entry.count("timestamp")?;
            out.insert(storage, RemoteHeads { heads, timestamp });
        }
        Ok(out)
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value<'_>) -> DecodeError {
    DecodeError::WrongType { field, expected, found: found.kind() }
}

fn as_text<'b>(field: &'static str, value: Value<'b>) -> Result<&'b str, DecodeError> {
    match value {
        Value::Text(s) => Ok(s),
        other => Err(wrong_type(field, "text", &other)),
    }
}

/// An unsigned integer, or a float holding one (cbor-x emits float64 for
/// numbers beyond 32 bits, such as millisecond timestamps).
fn as_count(field: &'static str, value: Value<'_>) -> Result<u64, DecodeError> {
    match value {
        Value::Uint(n) => Ok(n),
        Value::Float(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(f as u64),
        Value::Float(_) | Value::Int(_) => Err(DecodeError::BadNumber(field)),
        other => Err(wrong_type(field, "unsigned integer", &other)),
    }
}

fn parse_id<T>(field: &'static str, s: &str) -> Result<T, DecodeError>
where
    T: std::str::FromStr<Err = IdError>,
{
    s.parse().map_err(|source| DecodeError::BadId { field, source })
}

impl Message {
    /// Decodes one frame.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        let mut d = Decoder::new(bytes);
        let top = d.datatype()?;
        if top != Type::Map {
            return Err(match top {
                Type::MapIndef => DecodeError::IndefiniteLength,
                other => DecodeError::NotAMap(other.to_string()),
            });
        }
        let mut fields = Fields(decode_map_entries(&mut d, 1, true)?);
        check_end(&d)?;
        let kind = fields.text("type")?;
        Ok(match kind {
            "join" => Message::Join {
                sender: fields.peer("senderId")?,
                metadata: fields.metadata()?,
                supported_versions: fields.versions()?,
            },
            "peer" => Message::Peer {
                sender: fields.peer("senderId")?,
                target: fields.peer("targetId")?,
                metadata: fields.metadata()?,
                selected_version: fields.text("selectedProtocolVersion")?.to_owned(),
            },
            "error" => Message::Error {
                sender: fields.optional_peer("senderId")?,
                target: fields.optional_peer("targetId")?,
                message: fields.text("message")?.to_owned(),
            },
            "leave" => Message::Leave { sender: fields.peer("senderId")? },
            "request" => Message::Request(sync_fields(&mut fields)?),
            "sync" => Message::Sync(sync_fields(&mut fields)?),
            "doc-unavailable" => Message::DocUnavailable {
                sender: fields.peer("senderId")?,
                target: fields.peer("targetId")?,
                document: fields.document()?,
            },
            "ephemeral" => Message::Ephemeral(EphemeralMessage {
                sender: fields.peer("senderId")?,
                target: fields.peer("targetId")?,
                document: fields.document()?,
                session: fields.session()?,
                count: fields.count("count")?,
                data: fields.bytes("data")?,
            }),
            "remote-subscription-change" => Message::RemoteSubscriptionChange {
                sender: fields.peer("senderId")?,
                target: fields.peer("targetId")?,
                add: fields.storage_ids("add")?,
                remove: fields.storage_ids("remove")?,
            },
            "remote-heads-changed" => Message::RemoteHeadsChanged {
                sender: fields.peer("senderId")?,
                target: fields.peer("targetId")?,
                document: fields.document()?,
                new_heads: fields.new_heads()?,
            },
            _ => Message::Unknown { kind: kind.to_owned() },
        })
    }

    /// Encodes one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        self.encode_into(&mut e).expect("writing CBOR to a Vec cannot fail");
        e.into_writer()
    }

    /// The `type` field.
    pub fn kind(&self) -> &str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Error { .. } => "error",
            Message::Leave { .. } => "leave",
            Message::Request(_) => "request",
            Message::Sync(_) => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral(_) => "ephemeral",
            Message::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Message::RemoteHeadsChanged { .. } => "remote-heads-changed",
            Message::Unknown { kind } => kind,
        }
    }

    fn encode_into(&self, e: &mut Encoder<Vec<u8>>) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        match self {
            Message::Join { sender, metadata, supported_versions } => {
                let len = 3 + u64::from(supported_versions.is_some());
                e.map(len)?.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender.as_str())?;
                e.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                if let Some(versions) = supported_versions {
                    e.str("supportedProtocolVersions")?.array(versions.len() as u64)?;
                    for v in versions {
                        e.str(v)?;
                    }
                }
            }
            Message::Peer { sender, target, metadata, selected_version } => {
                e.map(5)?.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender.as_str())?;
                e.str("targetId")?.str(target.as_str())?;
                e.str("peerMetadata")?;
                encode_metadata(e, metadata)?;
                e.str("selectedProtocolVersion")?.str(selected_version)?;
            }
            Message::Error { sender, target, message } => {
                let len = 2 + u64::from(sender.is_some()) + u64::from(target.is_some());
                e.map(len)?.str("type")?.str(self.kind())?;
                if let Some(sender) = sender {
                    e.str("senderId")?.str(sender.as_str())?;
                }
                if let Some(target) = target {
                    e.str("targetId")?.str(target.as_str())?;
                }
                e.str("message")?.str(message)?;
            }
            Message::Leave { sender } => {
                e.map(2)?.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender.as_str())?;
            }
            Message::Request(m) | Message::Sync(m) => {
                encode_sync_untargeted(e, self.kind(), &m.sender, &m.document, &m.data)?;
                e.str(m.target.as_str())?;
            }
            Message::DocUnavailable { sender, target, document } => {
                e.map(4)?.str("type")?.str(self.kind())?;
                e.str("documentId")?.str(document.as_str())?;
                e.str("senderId")?.str(sender.as_str())?;
                e.str("targetId")?.str(target.as_str())?;
            }
            Message::Ephemeral(m) => {
                e.map(7)?.str("type")?.str(self.kind())?;
                e.str("documentId")?.str(m.document.as_str())?;
                e.str("data")?.bytes(&m.data)?;
                e.str("senderId")?.str(m.sender.as_str())?;
                e.str("targetId")?.str(m.target.as_str())?;
                e.str("count")?.u64(m.count)?;
                e.str("sessionId")?.str(&m.session)?;
            }
            Message::RemoteSubscriptionChange { sender, target, add, remove } => {
                let len = 3 + u64::from(add.is_some()) + u64::from(remove.is_some());
                e.map(len)?.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender.as_str())?;
                e.str("targetId")?.str(target.as_str())?;
                for (field, ids) in [("add", add), ("remove", remove)] {
                    if let Some(ids) = ids {
                        e.str(field)?.array(ids.len() as u64)?;
                        for id in ids {
                            e.str(id.as_str())?;
                        }
                    }
                }
            }
            Message::RemoteHeadsChanged { sender, target, document, new_heads } => {
                e.map(5)?.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender.as_str())?;
                e.str("targetId")?.str(target.as_str())?;
                e.str("documentId")?.str(document.as_str())?;
                e.str("newHeads")?.map(new_heads.len() as u64)?;
                for (storage, entry) in new_heads {
                    e.str(storage.as_str())?.map(2)?;
                    e.str("heads")?.array(entry.heads.len() as u64)?;
                    for head in &entry.heads {
                        e.str(head)?;
                    }
                    e.str("timestamp")?.u64(entry.timestamp)?;
                }
            }
            Message::Unknown { kind } => {
                e.map(1)?.str("type")?.str(kind)?;
            }
        }
        Ok(())
    }
}

fn sync_fields(fields: &mut Fields<'_>) -> Result<SyncMessage, DecodeError> {
    Ok(SyncMessage {
        sender: fields.peer("senderId")?,
        target: fields.peer("targetId")?,
        document: fields.document()?,
        data: fields.bytes("data")?,
    })
}

fn encode_metadata(
    e: &mut Encoder<Vec<u8>>,
    metadata: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(1 + u64::from(metadata.storage_id.is_some()))?;
    if let Some(storage_id) = &metadata.storage_id {
        e.str("storageId")?.str(storage_id.as_str())?;
    }
    e.str("isEphemeral")?.bool(metadata.is_ephemeral)?;
    Ok(())
}
