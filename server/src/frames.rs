//! The inbound side of a websocket, watched below tungstenite: what an
//! unfinished message may hold, and for how long (issue 12, item 6).
//!
//! tungstenite buffers the fragments of a message until its last one and
//! does not say how far it got, and a pong keeps a connection alive however
//! long a message takes. So [`Inbound`] wraps the upgraded socket and reads
//! the client's frame headers (FIN, opcode, length, mask) as the bytes go
//! by, without copying or changing them. It refuses, by failing the read:
//! - a message whose frames add up to more than the message limit, as soon
//!   as the header of the frame that passes it arrives;
//! - a message not complete within the message timeout of its first byte
//!   (control frames in between do not extend it);
//! - payload bytes that would take the unfinished messages of all
//!   connections together past the global budget.
//!
//! It does not validate frames (tungstenite does, and refuses bad ones) and
//! does not look at payloads. The reader task turns its errors into the
//! usual `error` frame and close.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::metrics::{ErrorKind, Metrics};

/// Why [`Inbound`] stopped reading a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InboundError {
    /// The message's frames add up to more than the message limit.
    #[error("message too large: more than {max} bytes")]
    TooLarge { max: usize },
    /// The message was not complete in time.
    #[error("message not completed within {seconds} s of its first byte")]
    Timeout { seconds: u64 },
    /// The unfinished messages of all connections fill the global budget.
    #[error("relay busy: too many unfinished messages, retry later")]
    Busy,
}

impl InboundError {
    /// The [`InboundError`] behind a read error, if it is one.
    pub(crate) fn of(error: &io::Error) -> Option<InboundError> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<InboundError>()).copied()
    }

    /// The metrics kind of the close it causes.
    pub(crate) fn kind(self) -> ErrorKind {
        match self {
            InboundError::TooLarge { .. } => ErrorKind::TooLarge,
            InboundError::Timeout { .. } => ErrorKind::MessageTimeout,
            InboundError::Busy => ErrorKind::InboundBusy,
        }
    }
}

/// The limits every connection shares, from [`crate::Config`].
#[derive(Debug)]
pub(crate) struct InboundLimits {
    /// Largest message (all its frames together).
    pub(crate) max_message_bytes: usize,
    /// Time from a message's first byte to its last.
    pub(crate) message_timeout: Duration,
    /// Payload bytes of unfinished messages, all connections together.
    pub(crate) max_unfinished_bytes: usize,
    /// Holds the global count (`essaim_inbound_unfinished_bytes`).
    pub(crate) metrics: Arc<Metrics>,
}

/// A connection's socket, read through the frame watch. See the module
/// documentation.
pub(crate) struct Inbound<S> {
    inner: S,
    limits: Arc<InboundLimits>,
    frames: FrameWatch,
    /// Bytes this connection counts in the global budget now.
    counted: usize,
    /// The busy period the deadline was set for.
    period: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Once refused, every later read fails the same way.
    failed: Option<InboundError>,
}

impl<S> Inbound<S> {
    pub(crate) fn new(inner: S, limits: Arc<InboundLimits>) -> Inbound<S> {
        Inbound { inner, limits, frames: FrameWatch::default(), counted: 0, period: 0, deadline: None, failed: None }
    }

    fn fail(&mut self, error: InboundError) -> Poll<io::Result<()>> {
        self.failed = Some(error);
        self.deadline = None;
        Poll::Ready(Err(io::Error::other(error)))
    }

    /// Moves this connection's share of the global budget to `bytes`;
    /// false (and nothing moved) if that would pass the budget.
    fn count(&mut self, bytes: usize) -> bool {
        let total = &self.limits.metrics.inbound_unfinished_bytes;
        if bytes <= self.counted {
            total.fetch_sub((self.counted - bytes) as u64, Ordering::Relaxed);
        } else {
            let more = (bytes - self.counted) as u64;
            let before = total.fetch_add(more, Ordering::Relaxed);
            if before + more > self.limits.max_unfinished_bytes as u64 {
                total.fetch_sub(more, Ordering::Relaxed);
                return false;
            }
        }
        self.counted = bytes;
        true
    }
}

impl<S> Drop for Inbound<S> {
    fn drop(&mut self) {
        let total = &self.limits.metrics.inbound_unfinished_bytes;
        total.fetch_sub(self.counted as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inbound<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(error) = this.failed {
            return Poll::Ready(Err(io::Error::other(error)));
        }
        // Polled first so that its timer wakes this task even while the
        // socket has nothing to read.
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            let seconds = this.limits.message_timeout.as_secs();
            return this.fail(InboundError::Timeout { seconds });
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let max = this.limits.max_message_bytes;
        if this.frames.watch(&buf.filled()[before..], max as u64).is_err() {
            buf.set_filled(before);
            return this.fail(InboundError::TooLarge { max });
        }
        let unfinished = usize::try_from(this.frames.message_bytes).unwrap_or(usize::MAX);
        if !this.count(unfinished) {
            buf.set_filled(before);
            return this.fail(InboundError::Busy);
        }
        match this.frames.busy_period() {
            None => this.deadline = None,
            Some(period) if period != this.period || this.deadline.is_none() => {
                this.period = period;
                this.deadline = Some(Box::pin(tokio::time::sleep(this.limits.message_timeout)));
            }
            Some(_) => {}
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inbound<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The longest client frame header: 2 bytes, an 8-byte length, a 4-byte
/// mask key (RFC 6455 §5.2).
const MAX_HEADER: usize = 14;

/// Where the client's byte stream is, frame by frame. Pure: bytes in,
/// counts out.
#[derive(Debug, Default)]
struct FrameWatch {
    header: [u8; MAX_HEADER],
    /// Header bytes received of the current frame.
    header_len: usize,
    /// Payload bytes still to come of the current frame (its header being
    /// complete).
    payload_left: u64,
    /// The current frame is a data frame (not a control frame).
    data: bool,
    /// The current frame has FIN set.
    fin: bool,
    /// A data frame without FIN arrived whole: the message goes on.
    unfinished: bool,
    /// Payload bytes received of the current message.
    message_bytes: u64,
    /// Counts busy periods: from a frame's first byte to the end of the
    /// message (or control frame outside a message) it belongs to.
    periods: u64,
    busy: bool,
}

/// A message would pass the size limit.
#[derive(Debug)]
struct TooLarge;

impl FrameWatch {
    /// Follows `bytes`, the next bytes from the client.
    fn watch(&mut self, mut bytes: &[u8], max_message: u64) -> Result<(), TooLarge> {
        while !bytes.is_empty() {
            if !self.busy {
                self.busy = true;
                self.periods += 1;
            }
            if self.header_len < MAX_HEADER && !self.header_done() {
                let take = (self.header_needed() - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_done() {
                    self.start_payload(max_message)?;
                }
                continue;
            }
            let take = usize::try_from(self.payload_left).unwrap_or(usize::MAX).min(bytes.len());
            self.payload_left -= take as u64;
            if self.data {
                self.message_bytes += take as u64;
            }
            bytes = &bytes[take..];
            if self.payload_left == 0 {
                self.end_frame();
            }
        }
        Ok(())
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

    fn header_done(&self) -> bool {
        self.header_len >= 2 && self.header_len == self.header_needed()
    }

    fn start_payload(&mut self, max_message: u64) -> Result<(), TooLarge> {
        let opcode = self.header[0] & 0x0f;
        self.fin = self.header[0] & 0x80 != 0;
        self.data = opcode < 0x8;
        self.payload_left = match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => u64::from_be_bytes(self.header[2..10].try_into().expect("eight bytes")),
            short => u64::from(short),
        };
        if self.data && self.message_bytes.saturating_add(self.payload_left) > max_message {
            return Err(TooLarge);
        }
        if self.payload_left == 0 {
            self.end_frame();
        }
        Ok(())
    }

    fn end_frame(&mut self) {
        self.header_len = 0;
        if self.data {
            self.unfinished = !self.fin;
            if self.fin {
                self.message_bytes = 0;
            }
        }
        if !self.unfinished {
            self.busy = false;
        }
    }

    /// The current busy period, if one is going on.
    fn busy_period(&self) -> Option<u64> {
        self.busy.then_some(self.periods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (mask key zero) with `len` payload bytes.
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => out.push(0x80 | len as u8),
            126..=65535 => {
                out.push(0x80 | 126);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend((len as u64).to_be_bytes());
            }
        }
        out.extend([0; 4]);
        out.extend(std::iter::repeat_n(7u8, len));
        out
    }

    #[test]
    fn fragments_count_until_the_last_one_and_pings_do_not_end_the_message() {
        let mut watch = FrameWatch::default();
        watch.watch(&frame(false, 0x2, 70_000), 1 << 20).expect("accepted");
        assert_eq!(watch.message_bytes, 70_000);
        let period = watch.busy_period().expect("a message is unfinished");
        watch.watch(&frame(true, 0xA, 4), 1 << 20).expect("accepted");
        assert_eq!(watch.busy_period(), Some(period), "a pong does not start a new period");
        watch.watch(&frame(true, 0x0, 10), 1 << 20).expect("accepted");
        assert_eq!(watch.message_bytes, 0);
        assert_eq!(watch.busy_period(), None);
    }

    #[test]
    fn bytes_arriving_one_at_a_time_are_followed() {
        let mut watch = FrameWatch::default();
        let bytes: Vec<u8> = [frame(false, 0x2, 300), frame(true, 0x9, 0), frame(true, 0x0, 5)].concat();
        for (i, byte) in bytes.iter().enumerate() {
            watch.watch(std::slice::from_ref(byte), 1 << 20).expect("accepted");
            assert!(watch.busy_period().is_some() || i == bytes.len() - 1);
        }
        assert_eq!(watch.busy_period(), None);
        assert_eq!(watch.message_bytes, 0);
    }

    #[test]
    fn a_message_over_the_limit_is_refused_at_the_header_of_the_frame_that_passes_it() {
        let mut watch = FrameWatch::default();
        watch.watch(&frame(false, 0x2, 600), 1000).expect("accepted");
        let next = frame(true, 0x0, 500);
        assert!(watch.watch(&next[..14], 1000).is_err());
        let mut one = FrameWatch::default();
        assert!(one.watch(&frame(true, 0x2, 1001)[..14], 1000).is_err());
    }
}
