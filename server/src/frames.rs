//! Websocket frames (RFC 6455 §5) as the relay reads and writes them: a pure
//! reader of a client's byte stream and the header of a server frame.
//!
//! [`FrameReader`] takes the bytes as they come, in pieces of any size, and
//! gives each complete message or control frame. It holds only the header
//! of the frame under way, and the payload of a message only while that
//! message arrives: an idle connection holds no buffer. It refuses what the
//! relay never accepts:
//! - a message whose frames add up to more than the message limit, as soon
//!   as the header of the frame that passes it arrives ([`FrameError::TooLarge`]);
//! - anything RFC 6455 forbids from a client (an unmasked frame, reserved
//!   bits or opcodes, a fragmented or long control frame, a continuation
//!   out of place, a malformed close) ([`FrameError::Protocol`]).
//!
//! Text messages are not part of the protocol: the reader says one began
//! ([`Frame::Text`]) and drops its payload. It knows nothing of time, of
//! sockets or of the budget all connections share: `websocket.rs` does.

use std::collections::VecDeque;

/// The longest client frame header: 2 bytes, an 8-byte length, a 4-byte
/// mask key (RFC 6455 §5.2).
const MAX_HEADER: usize = 14;
/// The longest server frame header: 2 bytes and an 8-byte length.
pub(crate) const MAX_SERVER_HEADER: usize = 10;
/// What a message's buffer reserves first, whatever its header says.
const RESERVE_STEP: usize = 64 * 1024;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// What the client sent, whole.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A binary message, its fragments joined.
    Binary(Vec<u8>),
    /// A text message began (its payload is dropped).
    Text,
    Ping(Vec<u8>),
    Pong,
    /// A close frame and its status code, if it had one.
    Close(Option<u16>),
}

/// Why a client's bytes are refused. After one, the reader refuses
/// everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("message too large: more than {max} bytes")]
    TooLarge { max: usize },
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
}

/// The frame whose header is complete and whose payload is arriving.
#[derive(Debug)]
struct Current {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes still to come.
    left: u64,
    /// Payload bytes received (the mask's phase).
    received: usize,
}

/// A client's byte stream, frame by frame. See the module documentation.
#[derive(Debug)]
pub(crate) struct FrameReader {
    max_message: usize,
    header: [u8; MAX_HEADER],
    header_len: usize,
    current: Option<Current>,
    /// A data message began and its last frame has not arrived.
    in_message: bool,
    /// The message under way is text (its payload is dropped).
    text: bool,
    /// Payload of the binary message under way.
    message: Vec<u8>,
    /// Payload bytes of the message under way, text included.
    message_len: u64,
    /// Payload of the control frame under way (at most 125 bytes).
    control: Vec<u8>,
    /// Counts busy periods: from a frame's first byte to the end of the
    /// message (or control frame outside a message) it belongs to.
    periods: u64,
    busy: bool,
    failed: Option<FrameError>,
}

impl FrameReader {
    pub(crate) fn new(max_message: usize) -> FrameReader {
        FrameReader {
            max_message,
            header: [0; MAX_HEADER],
            header_len: 0,
            current: None,
            in_message: false,
            text: false,
            message: Vec::new(),
            message_len: 0,
            control: Vec::new(),
            periods: 0,
            busy: false,
            failed: None,
        }
    }

    /// Reads `bytes`, the next bytes from the client, and appends what they
    /// complete to `out`.
    pub(crate) fn read(&mut self, mut bytes: &[u8], out: &mut VecDeque<Frame>) -> Result<(), FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        while !bytes.is_empty() {
            if !self.busy {
                self.busy = true;
                self.periods += 1;
            }
            let read = match self.current.is_some() {
                true => self.payload(bytes, out),
                false => self.header(bytes, out),
            };
            match read {
                Ok(taken) => bytes = &bytes[taken..],
                Err(error) => {
                    self.failed = Some(error);
                    self.message = Vec::new();
                    self.control = Vec::new();
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Bytes the unfinished message holds (what the shared budget counts):
    /// its payload so far, or the room its buffer took if more.
    pub(crate) fn unfinished_bytes(&self) -> u64 {
        self.message_len.max(self.message.capacity() as u64)
    }

    /// The current busy period, if a frame or message is under way.
    pub(crate) fn busy_period(&self) -> Option<u64> {
        self.busy.then_some(self.periods)
    }

    /// Takes header bytes; returns how many.
    fn header(&mut self, bytes: &[u8], out: &mut VecDeque<Frame>) -> Result<usize, FrameError> {
        let take = (self.header_needed() - self.header_len).min(bytes.len());
        self.header[self.header_len..self.header_len + take].copy_from_slice(&bytes[..take]);
        self.header_len += take;
        if self.header_len == self.header_needed() {
            self.start_frame(out)?;
        }
        Ok(take)
    }

    /// The header's length, as far as the bytes received tell: 2 until the
    /// second byte is in, then exactly.
    fn header_needed(&self) -> usize {
        if self.header_len < 2 {
            return 2;
        }
        let extended = match self.header[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        2 + extended + mask
    }

    fn start_frame(&mut self, out: &mut VecDeque<Frame>) -> Result<(), FrameError> {
        let (first, second) = (self.header[0], self.header[1]);
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0f;
        if first & 0x70 != 0 {
            return Err(FrameError::Protocol("reserved bits set without an extension"));
        }
        if second & 0x80 == 0 {
            return Err(FrameError::Protocol("a client's frame must be masked"));
        }
        let len = match second & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => u64::from_be_bytes(self.header[2..10].try_into().expect("eight bytes")),
            short => u64::from(short),
        };
        if len >> 63 != 0 {
            return Err(FrameError::Protocol("frame length with its high bit set"));
        }
        let mask_at = self.header_len - 4;
        let mask: [u8; 4] = self.header[mask_at..self.header_len].try_into().expect("four bytes");
        self.header_len = 0;
        match opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin || len > 125 {
                    return Err(FrameError::Protocol("control frames are whole and at most 125 bytes"));
                }
            }
            OP_CONTINUATION if !self.in_message => {
                return Err(FrameError::Protocol("continuation frame outside a message"));
            }
            OP_TEXT | OP_BINARY if self.in_message => {
                return Err(FrameError::Protocol("new message before the last one ended"));
            }
            OP_CONTINUATION | OP_TEXT | OP_BINARY => {
                if self.message_len.saturating_add(len) > self.max_message as u64 {
                    return Err(FrameError::TooLarge { max: self.max_message });
                }
                if !self.in_message {
                    self.in_message = true;
                    self.text = opcode == OP_TEXT;
                    if self.text {
                        out.push_back(Frame::Text);
                    }
                }
            }
            _ => return Err(FrameError::Protocol("reserved opcode")),
        }
        self.current = Some(Current { opcode, fin, mask, left: len, received: 0 });
        if len == 0 {
            self.end_frame(out)?;
        }
        Ok(())
    }

    /// Takes payload bytes of the current frame, unmasked; returns how many.
    fn payload(&mut self, bytes: &[u8], out: &mut VecDeque<Frame>) -> Result<usize, FrameError> {
        let Some(current) = self.current.as_mut() else { return Ok(0) };
        let take = usize::try_from(current.left).unwrap_or(usize::MAX).min(bytes.len());
        let data = current.opcode < OP_CLOSE;
        let target = match (data, self.text) {
            (true, true) => None,
            (true, false) => Some(&mut self.message),
            (false, _) => Some(&mut self.control),
        };
        if let Some(target) = target {
            if target.capacity() - target.len() < take {
                // Doubling, but never past what the frame declares: the
                // buffer holds no more than the message limit, and the
                // shared budget counts its room.
                let left = usize::try_from(current.left).unwrap_or(usize::MAX);
                target.reserve_exact(left.min(target.len().max(RESERVE_STEP)).max(take));
            }
            let phase = current.received;
            target.extend(bytes[..take].iter().enumerate().map(|(i, b)| b ^ current.mask[(phase + i) % 4]));
        }
        current.left -= take as u64;
        current.received += take;
        if data {
            self.message_len += take as u64;
        }
        if current.left == 0 {
            self.end_frame(out)?;
        }
        Ok(take)
    }

    fn end_frame(&mut self, out: &mut VecDeque<Frame>) -> Result<(), FrameError> {
        let Some(current) = self.current.take() else { return Ok(()) };
        match current.opcode {
            OP_PING => out.push_back(Frame::Ping(std::mem::take(&mut self.control))),
            OP_PONG => {
                self.control = Vec::new();
                out.push_back(Frame::Pong);
            }
            OP_CLOSE => {
                let payload = std::mem::take(&mut self.control);
                out.push_back(Frame::Close(close_code(&payload)?));
            }
            _ if current.fin => {
                if !self.text {
                    out.push_back(Frame::Binary(std::mem::take(&mut self.message)));
                }
                self.in_message = false;
                self.text = false;
                self.message_len = 0;
            }
            _ => {}
        }
        if !self.in_message {
            self.busy = false;
        }
        Ok(())
    }
}

/// The status code of a close frame's payload, checked (RFC 6455 §5.5.1,
/// §7.4): none, or a code a peer may send followed by UTF-8.
fn close_code(payload: &[u8]) -> Result<Option<u16>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(FrameError::Protocol("close frame with a one-byte payload")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !allowed {
                return Err(FrameError::Protocol("close code a peer may not send"));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(FrameError::Protocol("close reason not UTF-8"));
            }
            Ok(Some(code))
        }
    }
}

/// The header of a server frame (final, unmasked) of `opcode` with `len`
/// payload bytes, and its length.
pub(crate) fn server_header(opcode: u8, len: usize) -> ([u8; MAX_SERVER_HEADER], usize) {
    let mut header = [0; MAX_SERVER_HEADER];
    header[0] = 0x80 | opcode;
    let used = match len {
        0..=125 => {
            header[1] = len as u8;
            2
        }
        126..=0xffff => {
            header[1] = 126;
            header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    (header, used)
}

/// A close frame's payload: `code`, then `reason` cut (on a character
/// boundary) to the 123 bytes a control frame leaves it.
pub(crate) fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

    /// A client frame with `payload`, masked by [`MASK`].
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            len @ 0..=125 => out.push(0x80 | len as u8),
            len @ 126..=65535 => {
                out.push(0x80 | 126);
                out.extend((len as u16).to_be_bytes());
            }
            len => {
                out.push(0x80 | 127);
                out.extend((len as u64).to_be_bytes());
            }
        }
        out.extend(MASK);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        out
    }

    fn read_all(reader: &mut FrameReader, bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
        let mut out = VecDeque::new();
        reader.read(bytes, &mut out)?;
        Ok(out.into())
    }

    #[test]
    fn fragments_are_joined_unmasked_and_pings_between_them_come_first() {
        let mut reader = FrameReader::new(1 << 20);
        let first: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let bytes = [frame(false, OP_BINARY, &first), frame(true, OP_PING, b"hi"), frame(true, 0x0, b"end")].concat();
        let frames = read_all(&mut reader, &bytes).expect("accepted");
        let mut whole = first.clone();
        whole.extend(b"end");
        assert_eq!(frames, vec![Frame::Ping(b"hi".to_vec()), Frame::Binary(whole)]);
        assert_eq!(reader.unfinished_bytes(), 0);
        assert_eq!(reader.busy_period(), None);
        assert_eq!(reader.message.capacity(), 0, "nothing held between messages");
    }

    #[test]
    fn bytes_arriving_one_at_a_time_give_the_same_frames() {
        let payload: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let bytes = [
            frame(false, OP_BINARY, &payload),
            frame(true, OP_PONG, b""),
            frame(true, 0x0, b"xy"),
            frame(true, OP_CLOSE, &close_payload(1000, "bye")),
        ]
        .concat();
        let mut reader = FrameReader::new(1 << 20);
        let mut out = VecDeque::new();
        for (i, byte) in bytes.iter().enumerate() {
            reader.read(std::slice::from_ref(byte), &mut out).expect("accepted");
            assert!(reader.busy_period().is_some() || out.len() >= 2 || i == bytes.len() - 1);
        }
        let mut whole = payload;
        whole.extend(b"xy");
        assert_eq!(Vec::from(out), vec![Frame::Pong, Frame::Binary(whole), Frame::Close(Some(1000))]);
    }

    #[test]
    fn a_message_over_the_limit_is_refused_at_the_header_of_the_frame_that_passes_it() {
        let mut reader = FrameReader::new(1000);
        read_all(&mut reader, &frame(false, OP_BINARY, &[0; 600])).expect("accepted");
        assert_eq!(reader.unfinished_bytes(), 600);
        let next = frame(true, 0x0, &[0; 500]);
        assert_eq!(read_all(&mut reader, &next[..14]), Err(FrameError::TooLarge { max: 1000 }));
        assert_eq!(read_all(&mut reader, &frame(true, OP_PING, b"")), Err(FrameError::TooLarge { max: 1000 }));
        let mut one = FrameReader::new(1000);
        assert_eq!(
            read_all(&mut one, &frame(true, OP_BINARY, &[0; 1001])[..14]),
            Err(FrameError::TooLarge { max: 1000 })
        );
    }

    #[test]
    fn what_a_client_may_not_send_is_refused() {
        let unmasked = vec![0x82, 0x01, 0x00];
        let mut reserved_bit = frame(true, OP_BINARY, b"a");
        reserved_bit[0] |= 0x40;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("unmasked", unmasked),
            ("reserved bit", reserved_bit),
            ("reserved opcode", frame(true, 0x3, b"")),
            ("fragmented ping", frame(false, OP_PING, b"")),
            ("long ping", frame(true, OP_PING, &[0; 126])),
            ("lone continuation", frame(true, 0x0, b"a")),
            ("message inside a message", [frame(false, OP_BINARY, b"a"), frame(true, OP_BINARY, b"b")].concat()),
            ("one-byte close", frame(true, OP_CLOSE, &[3])),
            ("reserved close code", frame(true, OP_CLOSE, &close_payload(1005, ""))),
            ("close reason not UTF-8", frame(true, OP_CLOSE, &[0x03, 0xe8, 0xff])),
        ];
        for (name, bytes) in cases {
            let mut reader = FrameReader::new(1 << 20);
            assert!(matches!(read_all(&mut reader, &bytes), Err(FrameError::Protocol(_))), "{name}");
        }
        let mut huge = vec![0x82, 0xff];
        huge.extend(u64::MAX.to_be_bytes());
        huge.extend(MASK);
        assert!(read_all(&mut FrameReader::new(usize::MAX), &huge).is_err());
    }

    #[test]
    fn a_text_message_is_said_once_and_its_payload_dropped() {
        let mut reader = FrameReader::new(1 << 20);
        let bytes = [frame(false, OP_TEXT, b"{\"a\""), frame(true, 0x0, b":1}"), frame(true, OP_BINARY, b"z")].concat();
        assert_eq!(read_all(&mut reader, &bytes), Ok(vec![Frame::Text, Frame::Binary(b"z".to_vec())]));
        assert_eq!(reader.message.capacity(), 0);
    }

    /// A frame a client may send, for the property below.
    #[derive(Debug, Clone)]
    enum Sent {
        /// A binary message in fragments of these sizes.
        Binary(Vec<usize>),
        Ping(usize),
        Pong,
    }

    fn sent() -> impl proptest::strategy::Strategy<Value = Sent> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(0usize..300, 1..4).prop_map(Sent::Binary),
            (0usize..126).prop_map(Sent::Ping),
            Just(Sent::Pong),
        ]
    }

    proptest::proptest! {
        /// Valid frames cut at any points give the same frames, and nothing
        /// is kept once a message is whole; arbitrary bytes never panic and
        /// never hold more than the limit.
        #[test]
        fn frames_cut_anywhere_read_the_same(
            sent in proptest::collection::vec(sent(), 1..12),
            cuts in proptest::collection::vec(1usize..200, 0..40),
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
        ) {
            let (mut bytes, mut expected) = (Vec::new(), Vec::new());
            let mut counter = 0u8;
            let mut payload = |len: usize| (0..len).map(|_| { counter = counter.wrapping_add(1); counter }).collect::<Vec<u8>>();
            for each in &sent {
                match each {
                    Sent::Binary(parts) => {
                        let mut whole = Vec::new();
                        for (i, len) in parts.iter().enumerate() {
                            let part = payload(*len);
                            let opcode = if i == 0 { OP_BINARY } else { OP_CONTINUATION };
                            bytes.extend(frame(i + 1 == parts.len(), opcode, &part));
                            whole.extend(part);
                        }
                        expected.push(Frame::Binary(whole));
                    }
                    Sent::Ping(len) => {
                        let part = payload(*len);
                        bytes.extend(frame(true, OP_PING, &part));
                        expected.push(Frame::Ping(part));
                    }
                    Sent::Pong => {
                        bytes.extend(frame(true, OP_PONG, b""));
                        expected.push(Frame::Pong);
                    }
                }
            }
            let mut reader = FrameReader::new(1 << 20);
            let mut out = VecDeque::new();
            let mut rest = &bytes[..];
            for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
                let (now, later) = rest.split_at((*cut).min(rest.len()));
                reader.read(now, &mut out).expect("valid frames");
                rest = later;
            }
            proptest::prop_assert_eq!(Vec::from(out), expected);
            proptest::prop_assert_eq!(reader.busy_period(), None);
            proptest::prop_assert_eq!(reader.message.capacity(), 0);

            let mut reader = FrameReader::new(256);
            let mut out = VecDeque::new();
            for piece in noise.chunks(7) {
                if reader.read(piece, &mut out).is_err() {
                    break;
                }
                proptest::prop_assert!(reader.unfinished_bytes() <= 256);
            }
        }
    }

    #[test]
    fn server_headers_use_the_shortest_length() {
        assert_eq!(server_header(OP_BINARY, 5), ([0x82, 5, 0, 0, 0, 0, 0, 0, 0, 0], 2));
        assert_eq!(&server_header(OP_BINARY, 300).0[..4], &[0x82, 126, 1, 44]);
        assert_eq!(server_header(OP_CLOSE, 70_000).1, 10);
        let payload = close_payload(1000, &"é".repeat(100));
        assert_eq!(payload.len(), 2 + 122, "cut on a character boundary");
    }
}
