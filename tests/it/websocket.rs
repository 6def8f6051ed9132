//! The relay's own websocket layer (`server/src/websocket.rs`, `frames.rs`)
//! against a real relay: what RFC 6455 asks of a server beyond what a
//! well-behaved client exercises. Fragments with control frames between
//! them, the close handshake, frames a client may not send, and a frame
//! arriving a byte at a time.

use futures_util::{SinkExt, StreamExt};
use sync_core::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::support::{WAIT, join, raw_socket, silent_socket, start_relay};

/// Frames from the relay until it closes or `found` says enough.
async fn frames_until(
    socket: &mut crate::support::Socket,
    mut found: impl FnMut(&WsMessage) -> bool,
) -> Vec<WsMessage> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let frame = tokio::time::timeout(WAIT, socket.next()).await.expect("a frame in time");
        let Some(Ok(frame)) = frame else { return seen };
        let done = found(&frame);
        seen.push(frame);
        if done {
            return seen;
        }
    }
    panic!("100 frames without what was awaited: {seen:?}")
}

#[tokio::test]
async fn a_message_in_fragments_with_a_ping_between_them_is_one_message_and_the_ping_is_answered() {
    let relay = start_relay().await;
    let mut socket = raw_socket(&relay).await;
    let message = join("fragments", &["1"]);
    let (first, rest) = message.split_at(message.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let binary = Frame::message(first.to_vec(), OpCode::Data(Data::Binary), false);
    socket.send(WsMessage::Frame(binary)).await.expect("first fragment");
    socket.send(WsMessage::Ping(b"essaim".to_vec().into())).await.expect("ping");
    socket
        .send(WsMessage::Frame(Frame::message(second.to_vec(), OpCode::Data(Data::Continue), false)))
        .await
        .expect("second");
    socket
        .send(WsMessage::Frame(Frame::message(third.to_vec(), OpCode::Data(Data::Continue), true)))
        .await
        .expect("last");
    let (mut pong, mut peer) = (false, false);
    frames_until(&mut socket, |frame| {
        match frame {
            WsMessage::Pong(payload) => pong = payload.as_ref() == b"essaim",
            WsMessage::Binary(bytes) => peer = matches!(Message::decode(bytes), Ok(Message::Peer { .. })),
            _ => {}
        }
        pong && peer
    })
    .await;
    assert!(pong, "the ping's payload came back in a pong");
    assert!(peer, "the join sent in three fragments was answered with `peer`");
}

#[tokio::test]
async fn a_close_is_answered_with_its_code_and_the_connection_ends() {
    let relay = start_relay().await;
    let mut socket = raw_socket(&relay).await;
    let close = CloseFrame { code: 4001.into(), reason: "au revoir".into() };
    socket.send(WsMessage::Close(Some(close))).await.expect("close");
    let frames = frames_until(&mut socket, |_| false).await;
    let codes: Vec<u16> = frames
        .iter()
        .filter_map(|f| match f {
            WsMessage::Close(Some(close)) => Some(close.code.into()),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![4001], "{frames:?}");
}

/// A server frame read by hand: opcode and payload.
async fn raw_frame(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 2];
    tokio::time::timeout(WAIT, stream.read_exact(&mut header)).await.expect("a frame in time").ok()?;
    assert_eq!(header[1] & 0x80, 0, "server frames are not masked");
    let len = match header[1] & 0x7f {
        126 => usize::from(stream.read_u16().await.ok()?),
        127 => usize::try_from(stream.read_u64().await.ok()?).expect("a length that fits"),
        short => usize::from(short),
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.ok()?;
    Some((header[0] & 0x0f, payload))
}

/// What the relay sends on `stream` until its close: the `error`
/// messages' texts and the close code.
async fn errors_and_close(stream: &mut TcpStream) -> (Vec<String>, Option<u16>) {
    let mut errors = Vec::new();
    for _ in 0..100 {
        match raw_frame(stream).await {
            Some((0x2, payload)) => {
                if let Ok(Message::Error { message, .. }) = Message::decode(&payload) {
                    errors.push(message);
                }
            }
            Some((0x8, payload)) => return (errors, Some(u16::from_be_bytes([payload[0], payload[1]]))),
            Some(_) => {}
            None => return (errors, None),
        }
    }
    panic!("100 frames without a close")
}

#[tokio::test]
async fn frames_a_client_may_not_send_get_an_error_and_a_protocol_close() {
    let relay = start_relay().await;
    let mask = [1u8, 2, 3, 4];
    let masked = |first: u8, payload: &[u8]| {
        let mut frame = vec![first, 0x80 | payload.len() as u8];
        frame.extend(mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("unmasked", vec![0x82, 0x01, 0x00], "masked"),
        ("reserved opcode", masked(0x83, b""), "reserved opcode"),
        ("reserved bit", masked(0xc2, b"x"), "reserved bits"),
        (
            "long ping",
            {
                let mut f = vec![0x89, 0x80 | 126, 0, 126];
                f.extend(mask);
                f.extend([0; 126]);
                f
            },
            "control frames",
        ),
        ("lone continuation", masked(0x80, b"x"), "continuation"),
        ("bad close code", masked(0x88, &1005u16.to_be_bytes()), "close code"),
    ];
    for (name, bytes, expected) in cases {
        let mut stream = silent_socket(relay.addr).await;
        stream.write_all(&bytes).await.expect("write");
        let (errors, code) = errors_and_close(&mut stream).await;
        assert_eq!(code, Some(1002), "{name}: {errors:?}");
        assert!(errors.iter().any(|e| e.contains(expected)), "{name}: {errors:?}");
    }
    // The relay still serves everyone else.
    let client = relay.client().await;
    let _ = client.create().await.expect("create after the bad frames");
}

#[tokio::test]
async fn a_join_arriving_one_byte_at_a_time_is_answered() {
    let relay = start_relay().await;
    let mut stream = silent_socket(relay.addr).await;
    let payload = join("slow", &["1"]);
    assert!(payload.len() < 126);
    let mask = [9u8, 8, 7, 6];
    let mut frame = vec![0x82, 0x80 | payload.len() as u8];
    frame.extend(mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    for byte in frame {
        stream.write_all(&[byte]).await.expect("one byte");
        stream.flush().await.expect("flush");
    }
    for _ in 0..10 {
        let (opcode, payload) = raw_frame(&mut stream).await.expect("a frame");
        if opcode == 0x2 {
            assert!(matches!(Message::decode(&payload), Ok(Message::Peer { .. })), "{payload:?}");
            return;
        }
    }
    panic!("no `peer` answer");
}

#[tokio::test]
async fn what_came_whole_before_a_refusal_is_still_handled() {
    let relay = start_relay().await;
    let mut stream = silent_socket(relay.addr).await;
    let payload = join("avant-le-refus", &["1"]);
    let mask = [5u8, 6, 7, 8];
    let mut bytes = vec![0x82, 0x80 | payload.len() as u8];
    bytes.extend(mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    // In the same write: the header of a message far over any limit.
    bytes.extend([0x82, 0x80 | 127]);
    bytes.extend((1u64 << 40).to_be_bytes());
    bytes.extend(mask);
    stream.write_all(&bytes).await.expect("write");
    let (opcode, first) = raw_frame(&mut stream).await.expect("a frame");
    assert_eq!(opcode, 0x2);
    assert!(matches!(Message::decode(&first), Ok(Message::Peer { .. })), "the join was answered first: {first:?}");
    let (errors, code) = errors_and_close(&mut stream).await;
    assert_eq!(code, Some(1009), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("too large")), "{errors:?}");
}
