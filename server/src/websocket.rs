//! One websocket connection, served by one task that only moves bytes
//! between the socket and the hub.
//!
//! The task reads the client's frames through [`FrameReader`] and hands
//! each binary message to the hub as an [`Event::Received`]; it writes what
//! the hub put in the connection's [`Outbox`] and its own control frames
//! (pongs, keepalive pings, closes). Everything it waits for (readable
//! socket, writable socket, outbox, one timer) is polled from one place, so
//! an idle connection is one small task, one socket and one timer: no read
//! buffer (bytes are read into the stack and only a message under way is
//! kept), no write buffer (a frame's header and payload go out in one
//! vectored write), no channel. While the hub's queue is full, the task
//! waits for room without reading more, but goes on writing: the hub's
//! answers to what the peer sent before never pile up behind it (a peer
//! uploading hundreds of documents at once would otherwise fill its outbox
//! and be dropped as too slow).
//!
//! The limits it keeps:
//! - a message over `max_message_bytes` is refused at the header of the
//!   frame that passes it, one not complete within `message_timeout` of its
//!   first byte is refused (control frames in between do not extend it),
//!   and the payload of unfinished messages, all connections together, may
//!   not pass `max_unfinished_bytes` (`essaim_inbound_unfinished_bytes`);
//!   each refusal goes to the hub ([`Event::Refused`]), which answers with
//!   an `error` frame and a close;
//! - a ping every `ping_interval`; a connection from which nothing (not
//!   even a pong) arrived for `ping_timeout` is closed, and so is one whose
//!   frame does not finish writing within `ping_timeout`, so a dead peer
//!   never blocks anything;
//! - after its close frame, the peer has [`CLOSE_GRACE`] to answer it.
//!
//! It decides nothing about messages: the hub and `sync-core` do.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use sync_core::ConnId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::error::{SendError, TrySendError};
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::time::{Instant, Sleep};

use crate::app::Held;
use crate::frames::{self, Frame, FrameError, FrameReader};
use crate::hub::{CLOSE_GOING_AWAY, CLOSE_NORMAL, Event, Outbound};
use crate::metrics::{ErrorKind, Metrics};

/// After sending a close frame, how long the peer has to answer it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Bytes read from the socket at a time, into the stack: only the message
/// under way is kept between reads.
const READ_STEP: usize = 16 * 1024;

/// Websocket settings, from [`crate::Config`].
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    /// Largest message (all its frames together).
    pub(crate) max_message_bytes: usize,
    /// Time from a message's first byte to its last.
    pub(crate) message_timeout: Duration,
    /// Payload bytes of unfinished messages, all connections together.
    pub(crate) max_unfinished_bytes: usize,
    pub(crate) max_connections: usize,
    /// Frames and bytes an outbox holds before its peer is called too slow.
    pub(crate) queue_frames: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
}

/// Why a client's input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("message not completed within {seconds} s of its first byte")]
    Timeout { seconds: u64 },
    #[error("relay busy: too many unfinished messages, retry later")]
    Busy,
    #[error("text frames are not part of the protocol: send binary CBOR frames")]
    Text,
}

impl Refusal {
    fn kind(self) -> ErrorKind {
        match self {
            Refusal::Frame(FrameError::TooLarge { .. }) => ErrorKind::TooLarge,
            Refusal::Frame(FrameError::Protocol(_)) => ErrorKind::Transport,
            Refusal::Timeout { .. } => ErrorKind::MessageTimeout,
            Refusal::Busy => ErrorKind::InboundBusy,
            Refusal::Text => ErrorKind::TextFrame,
        }
    }
}

/// What the hub has for one connection: frames to write, in order, and a
/// kill that goes before them. Shared by the hub ([`crate::hub::ConnHandle`])
/// and the connection's task; its queue is allocated only while it holds
/// something.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    max_frames: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Outbound>,
    bytes: usize,
    kill: Option<(u16, String)>,
    /// The hub let go of the connection without closing it.
    hub_gone: bool,
    /// The connection ended: nothing more is taken.
    ended: bool,
    waker: Option<Waker>,
}

/// Why [`Outbox::push`] did not queue a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushRefused {
    /// Too many frames or bytes wait: the peer is too slow.
    Full { queued_bytes: usize },
    /// The connection ended (its `Disconnected` is on its way).
    Ended,
}

/// What the connection does next for the hub.
enum Next {
    Write(Outbound),
    Kill(u16, String),
    HubGone,
}

impl Outbox {
    pub(crate) fn new(transport: &Transport) -> Arc<Outbox> {
        Arc::new(Outbox {
            queue: Mutex::new(Queue::default()),
            max_frames: transport.queue_frames,
            max_bytes: transport.queue_bytes,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a frame, unless the queue is full (a frame always fits in an
    /// empty one) or the connection ended.
    pub(crate) fn push(&self, outbound: Outbound) -> Result<(), PushRefused> {
        let len = queued_bytes(&outbound);
        let mut queue = self.lock();
        if queue.ended {
            return Err(PushRefused::Ended);
        }
        let over_bytes = queue.bytes > 0 && queue.bytes + len > self.max_bytes;
        if queue.frames.len() >= self.max_frames || over_bytes {
            return Err(PushRefused::Full { queued_bytes: queue.bytes });
        }
        queue.frames.push_back(outbound);
        queue.bytes += len;
        wake(&mut queue);
        Ok(())
    }

    /// Closes the connection now: before the frames queued, and even in the
    /// middle of a write (then without a close frame).
    pub(crate) fn kill(&self, code: u16, reason: String) {
        let mut queue = self.lock();
        queue.kill = Some((code, reason));
        wake(&mut queue);
    }

    /// The hub dropped the connection's handle.
    fn hub_gone(&self) {
        let mut queue = self.lock();
        queue.hub_gone = true;
        wake(&mut queue);
    }

    /// The kill if there is one, else (when `ready`) the next frame;
    /// remembers `cx`'s waker for the next push.
    fn next(&self, cx: &Context<'_>, ready: bool) -> Option<Next> {
        let mut queue = self.lock();
        if !queue.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            queue.waker = Some(cx.waker().clone());
        }
        if let Some((code, reason)) = queue.kill.take() {
            return Some(Next::Kill(code, reason));
        }
        if !ready {
            return None;
        }
        if let Some(outbound) = queue.frames.pop_front() {
            queue.bytes -= queued_bytes(&outbound);
            if queue.frames.is_empty() {
                // An idle connection keeps no queue.
                queue.frames = VecDeque::new();
            }
            return Some(Next::Write(outbound));
        }
        if std::mem::take(&mut queue.hub_gone) {
            return Some(Next::HubGone);
        }
        None
    }

    /// The connection ended: drops what waits and refuses what comes.
    fn end(&self) {
        let mut queue = self.lock();
        queue.ended = true;
        queue.frames = VecDeque::new();
        queue.bytes = 0;
        queue.waker = None;
    }
}

/// What a frame counts in its outbox's byte limit.
fn queued_bytes(outbound: &Outbound) -> usize {
    match outbound {
        Outbound::Frame(bytes) => bytes.len(),
        Outbound::Close { .. } => 0,
    }
}

fn wake(queue: &mut Queue) {
    if let Some(waker) = queue.waker.take() {
        waker.wake();
    }
}

/// The hub's side of an [`Outbox`]: dropping it without a close tells the
/// connection that the relay is going away.
#[derive(Debug)]
pub(crate) struct OutboxHandle(pub(crate) Arc<Outbox>);

impl Drop for OutboxHandle {
    fn drop(&mut self) {
        self.0.hub_gone();
    }
}

impl std::ops::Deref for OutboxHandle {
    type Target = Outbox;
    fn deref(&self) -> &Outbox {
        &self.0
    }
}

/// A frame being written.
struct Sending {
    header: [u8; frames::MAX_SERVER_HEADER],
    header_len: usize,
    payload: sync_core::Frame,
    written: usize,
    deadline: Instant,
    then: AfterSending,
}

/// What is left to write of a frame's `parts` once `written` bytes of
/// them went out.
fn unwritten(parts: [&[u8]; 3], mut written: usize) -> [IoSlice<'_>; 3] {
    parts.map(|part| {
        let skip = written.min(part.len());
        written -= skip;
        IoSlice::new(&part[skip..])
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterSending {
    Continue,
    /// Our close frame: wait for the peer's answer.
    AwaitCloseAnswer,
    /// Our answer to the peer's close: the connection ends.
    End,
}

/// An event the hub's full queue could not take yet, and the wait for
/// room (allocated only then).
struct HubWait {
    event: Event,
    room: Room,
    /// When the wait began: the peer's deadlines do not run meanwhile.
    since: Instant,
}

/// Room in the hub's queue, once there is some.
type Room = Pin<Box<dyn Future<Output = Result<OwnedPermit<Event>, SendError<()>>> + Send>>;

/// What the task does after polling the socket.
enum Step {
    Received(Vec<u8>),
    Refused(ErrorKind, String),
    Ended,
}

/// One connection's state. See the module documentation.
pub(crate) struct Connection {
    io: TokioIo<Upgraded>,
    conn: ConnId,
    hub: mpsc::Sender<Event>,
    /// While the hub's queue is full: nothing more is read or handed over,
    /// but frames are still written.
    hub_wait: Option<Box<HubWait>>,
    /// The socket is done with; then the hub is told, once.
    ended: bool,
    told_hub: bool,
    /// What the connection holds until it ends (its place in the
    /// connection counts).
    _held: Held,
    outbox: Arc<Outbox>,
    transport: Arc<Transport>,
    metrics: Arc<Metrics>,
    reader: FrameReader,
    /// Frames read and not yet acted on.
    received: VecDeque<Frame>,
    sending: Option<Sending>,
    /// The payload of the last ping, to answer.
    pong: Option<Vec<u8>>,
    ping_due: bool,
    timer: Pin<Box<Sleep>>,
    last_heard: Instant,
    next_ping: Instant,
    /// The busy period of the message under way and its deadline.
    message_deadline: Option<(u64, Instant)>,
    /// Bytes this connection counts in the shared budget.
    counted: u64,
    /// The socket is read (until the peer's close or the end of stream).
    reading: bool,
    /// What is read is parsed into frames; after a refusal the stream
    /// cannot be parsed further, and is read only so that the peer gets
    /// our close before its connection is reset.
    parsing: bool,
    /// Messages go to the hub (not after a refusal or a close).
    forwarding: bool,
    /// A refusal found while reading, said once the frames read whole
    /// before it are handed over.
    refused: Option<Refusal>,
    /// A close frame is due, written or answered: nothing else goes out.
    closing: bool,
    /// Our close frame's payload and what follows it, until it starts.
    close_due: Option<(Vec<u8>, AfterSending)>,
    /// When our close frame went out.
    close_sent: Option<Instant>,
}

impl Connection {
    pub(crate) fn new(
        io: TokioIo<Upgraded>,
        conn: ConnId,
        hub: mpsc::Sender<Event>,
        outbox: Arc<Outbox>,
        transport: Arc<Transport>,
        metrics: Arc<Metrics>,
        held: Held,
    ) -> Connection {
        let now = Instant::now();
        let next_ping = now + transport.ping_interval;
        Connection {
            io,
            conn,
            hub,
            hub_wait: None,
            ended: false,
            told_hub: false,
            _held: held,
            outbox,
            reader: FrameReader::new(transport.max_message_bytes),
            transport,
            metrics,
            received: VecDeque::new(),
            sending: None,
            pong: None,
            ping_due: false,
            timer: Box::pin(tokio::time::sleep_until(next_ping)),
            last_heard: now,
            next_ping,
            message_deadline: None,
            counted: 0,
            reading: true,
            parsing: true,
            forwarding: true,
            refused: None,
            closing: false,
            close_due: None,
            close_sent: None,
        }
    }

    /// Hands `event` to the hub, or waits for room in its queue; false if
    /// the hub is gone.
    fn hand_to_hub(&mut self, event: Event) -> bool {
        match self.hub.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(event)) => {
                let room = Box::pin(self.hub.clone().reserve_owned());
                self.hub_wait = Some(Box::new(HubWait { event, room, since: Instant::now() }));
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Delivers the event waiting for room, if any; `Ready(false)` if the
    /// hub is gone.
    fn poll_hub(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let Some(wait) = self.hub_wait.as_mut() else { return Poll::Ready(true) };
        let delivered = match ready!(wait.room.as_mut().poll(cx)) {
            Ok(permit) => {
                let wait = self.hub_wait.take().expect("polled just above");
                permit.send(wait.event);
                // Nothing was read meanwhile: the wait is not the peer's
                // silence, nor its message's time.
                let now = Instant::now();
                self.last_heard = self.last_heard.max(now);
                let waited = now.saturating_duration_since(wait.since);
                self.message_deadline = self.message_deadline.map(|(period, at)| (period, at + waited));
                true
            }
            Err(_) => false,
        };
        self.hub_wait = None;
        Poll::Ready(delivered)
    }
}

/// The connection's task: it serves the socket until the connection ends,
/// then tells the hub (`Event::Disconnected`, after anything still waiting
/// for room).
impl Future for Connection {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            // While the hub has no room, `poll_step` only writes and keeps
            // the deadlines: it reads and hands over nothing.
            match this.poll_hub(cx) {
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Ready(true) => {}
                Poll::Pending if this.ended => return Poll::Pending,
                Poll::Pending => {}
            }
            if this.ended {
                if this.told_hub {
                    return Poll::Ready(());
                }
                this.told_hub = true;
                let event = Event::Disconnected { conn: this.conn };
                if !this.hand_to_hub(event) {
                    return Poll::Ready(());
                }
                continue;
            }
            let event = match this.poll_step(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Step::Received(_) | Step::Refused(..)) if this.hub_wait.is_some() => {
                    unreachable!("nothing is read or refused while the hub has no room")
                }
                Poll::Ready(Step::Received(bytes)) => Event::Received { conn: this.conn, bytes },
                Poll::Ready(Step::Refused(kind, message)) => Event::Refused { conn: this.conn, kind, message },
                Poll::Ready(Step::Ended) => {
                    this.end();
                    continue;
                }
            };
            if !this.hand_to_hub(event) {
                return Poll::Ready(());
            }
        }
    }
}

impl Connection {
    /// The socket is done with: what it held goes now, the task only has
    /// the hub to tell.
    fn end(&mut self) {
        self.ended = true;
        self.count(0);
        self.outbox.end();
        self.received = VecDeque::new();
        self.sending = None;
        self.pong = None;
        tracing::debug!(conn = %self.conn, "connection ended");
    }

    /// Polls the socket and the timer until a step is due. While the hub
    /// waits for room, only writes and their deadlines go on.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        loop {
            let hub_full = self.hub_wait.is_some();
            if !hub_full && let Some(step) = self.act_on_received() {
                return Poll::Ready(step);
            }
            let now = Instant::now();
            if let Some(step) = self.check_deadlines(now) {
                return Poll::Ready(step);
            }
            let wrote = match self.poll_write(cx, now) {
                Poll::Ready(Ok(())) => true,
                Poll::Ready(Err(())) => return Poll::Ready(Step::Ended),
                Poll::Pending => false,
            };
            let read = match hub_full {
                true => false,
                false => match self.poll_read(cx, now) {
                    Poll::Ready(Ok(())) => true,
                    Poll::Ready(Err(step)) => return Poll::Ready(step),
                    Poll::Pending => false,
                },
            };
            if wrote || read {
                continue;
            }
            let wake_at = self.next_deadline();
            if self.timer.deadline() != wake_at {
                self.timer.as_mut().reset(wake_at);
            }
            if self.timer.as_mut().poll(cx).is_ready() {
                continue;
            }
            return Poll::Pending;
        }
    }

    /// Acts on the frames read, up to the first the hub must hear of.
    fn act_on_received(&mut self) -> Option<Step> {
        while let Some(frame) = self.received.pop_front() {
            match frame {
                Frame::Binary(bytes) if self.forwarding => {
                    self.metrics.frame_in(bytes.len());
                    return Some(Step::Received(bytes));
                }
                Frame::Text if self.forwarding => {
                    self.received.clear();
                    return Some(self.refuse(Refusal::Text));
                }
                Frame::Binary(_) | Frame::Text | Frame::Pong => {}
                Frame::Ping(payload) => self.pong = Some(payload),
                Frame::Close(code) => {
                    self.reading = false;
                    self.forwarding = false;
                    self.received.clear();
                    if self.close_sent.is_some() {
                        // The answer to ours.
                        return Some(Step::Ended);
                    }
                    if !self.closing {
                        // Answered with its own code; ours, if one is due,
                        // crosses it and ends the connection once written.
                        self.closing = true;
                        let payload = frames::close_payload(code.unwrap_or(CLOSE_NORMAL), "");
                        self.close_due = Some((payload, AfterSending::End));
                    }
                }
            }
        }
        // An idle connection keeps no queue.
        self.received = VecDeque::new();
        // What was read whole before the refusal went first.
        self.refused.take().map(|refusal| self.refuse(refusal))
    }

    fn check_deadlines(&mut self, now: Instant) -> Option<Step> {
        if self.close_sent.is_some_and(|sent| now >= sent + CLOSE_GRACE) {
            return Some(Step::Ended);
        }
        if self.sending.as_ref().is_some_and(|s| now >= s.deadline) {
            tracing::info!(conn = %self.conn, "write timed out: closing a stuck connection");
            self.metrics.error(ErrorKind::KeepaliveTimeout);
            return Some(Step::Ended);
        }
        if self.parsing && self.hub_wait.is_none() && self.message_deadline.is_some_and(|(_, at)| now >= at) {
            let seconds = self.transport.message_timeout.as_secs();
            return Some(self.refuse(Refusal::Timeout { seconds }));
        }
        if now >= self.next_ping {
            self.next_ping = now + self.transport.ping_interval;
            if now.saturating_duration_since(self.last_heard) > self.transport.ping_timeout {
                if !self.closing {
                    tracing::info!(conn = %self.conn, "no pong: closing a dead connection");
                    self.metrics.error(ErrorKind::KeepaliveTimeout);
                    self.close(CLOSE_GOING_AWAY, "keepalive timeout");
                }
            } else {
                self.ping_due = true;
            }
        }
        None
    }

    fn next_deadline(&self) -> Instant {
        let mut at = self.next_ping;
        let others = [
            self.close_sent.map(|sent| sent + CLOSE_GRACE),
            self.sending.as_ref().map(|s| s.deadline),
            self.message_deadline.filter(|_| self.parsing && self.hub_wait.is_none()).map(|(_, at)| at),
        ];
        for other in others.into_iter().flatten() {
            at = at.min(other);
        }
        at
    }

    /// Stops parsing after `refusal`, once and for all; the hub answers it.
    fn refuse(&mut self, refusal: Refusal) -> Step {
        self.stop_parsing();
        self.forwarding = false;
        Step::Refused(refusal.kind(), refusal.to_string())
    }

    /// The stream cannot be parsed further: it is only drained.
    fn stop_parsing(&mut self) {
        self.parsing = false;
        self.message_deadline = None;
        self.count(0);
    }

    /// Moves this connection's share of the shared budget to `bytes`;
    /// false (and nothing moved) if that would pass the budget.
    fn count(&mut self, bytes: u64) -> bool {
        let total = &self.metrics.inbound_unfinished_bytes;
        if bytes <= self.counted {
            total.fetch_sub(self.counted - bytes, Ordering::Relaxed);
        } else {
            let more = bytes - self.counted;
            let before = total.fetch_add(more, Ordering::Relaxed);
            if before + more > self.transport.max_unfinished_bytes as u64 {
                total.fetch_sub(more, Ordering::Relaxed);
                return false;
            }
        }
        self.counted = bytes;
        true
    }

    /// Closes after the frame being written, if any; nothing read goes to
    /// the hub any more.
    fn close(&mut self, code: u16, reason: &str) {
        self.forwarding = false;
        if !self.closing {
            self.closing = true;
            self.close_due = Some((frames::close_payload(code, reason), AfterSending::AwaitCloseAnswer));
        }
    }

    fn start(&mut self, opcode: u8, payload: sync_core::Frame, then: AfterSending, now: Instant) {
        let (header, header_len) = frames::server_header(opcode, payload.len());
        let deadline = now + self.transport.ping_timeout;
        self.sending = Some(Sending { header, header_len, payload, written: 0, deadline, then });
    }

    /// Writes what is due; `Ready(Ok)` when a frame went out, `Ready(Err)`
    /// when the connection must end.
    fn poll_write(&mut self, cx: &mut Context<'_>, now: Instant) -> Poll<Result<(), ()>> {
        // A pong goes before the frames queued, a ping after them.
        let ready = self.sending.is_none() && !self.closing && self.pong.is_none();
        match self.outbox.next(cx, ready) {
            Some(Next::Kill(code, reason)) => {
                if self.sending.is_some() {
                    tracing::info!(conn = %self.conn, code, %reason, "dropping a connection stuck in a write");
                    return Poll::Ready(Err(()));
                }
                self.close(code, &reason);
            }
            Some(Next::Write(Outbound::Frame(bytes))) => {
                self.metrics.frame_out(bytes.len());
                self.start(frames::OP_BINARY, bytes, AfterSending::Continue, now);
            }
            Some(Next::Write(Outbound::Close { code, reason })) => self.close(code, &reason),
            Some(Next::HubGone) => self.close(CLOSE_GOING_AWAY, "relay stopping"),
            None => {}
        }
        if self.sending.is_none() {
            if let Some((payload, then)) = self.close_due.take() {
                self.start(frames::OP_CLOSE, payload.into(), then, now);
            } else if !self.closing {
                if let Some(payload) = self.pong.take() {
                    self.start(frames::OP_PONG, payload.into(), AfterSending::Continue, now);
                } else if std::mem::take(&mut self.ping_due) {
                    self.start(frames::OP_PING, Vec::new().into(), AfterSending::Continue, now);
                }
            }
        }
        let Some(sending) = self.sending.as_mut() else { return Poll::Pending };
        let [first, second] = sending.payload.parts();
        let parts = [&sending.header[..sending.header_len], first, second];
        let total: usize = parts.iter().map(|part| part.len()).sum();
        while sending.written < total {
            let slices = unwritten(parts, sending.written);
            match Pin::new(&mut self.io).poll_write_vectored(cx, &slices) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(())),
                Poll::Ready(Ok(n)) => sending.written += n,
                Poll::Ready(Err(error)) => {
                    tracing::debug!(conn = %self.conn, %error, "write failed");
                    return Poll::Ready(Err(()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Poll::Ready(Err(error)) = Pin::new(&mut self.io).poll_flush(cx) {
            tracing::debug!(conn = %self.conn, %error, "flush failed");
            return Poll::Ready(Err(()));
        }
        let then = sending.then;
        self.sending = None;
        match then {
            AfterSending::Continue => Poll::Ready(Ok(())),
            AfterSending::AwaitCloseAnswer if self.reading => {
                self.close_sent = Some(now);
                Poll::Ready(Ok(()))
            }
            // Nothing can answer a close on a stream no longer read, or
            // our close was the answer.
            AfterSending::AwaitCloseAnswer | AfterSending::End => Poll::Ready(Err(())),
        }
    }

    /// Reads what the socket has, unless frames read wait; `Ready(Ok)` when
    /// bytes came, `Ready(Err)` with the step to take when reading ends.
    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> Poll<Result<(), Step>> {
        if !self.reading || !self.received.is_empty() {
            return Poll::Pending;
        }
        // Not zeroed: the socket writes what is read.
        let mut step = [MaybeUninit::<u8>::uninit(); READ_STEP];
        let mut buf = ReadBuf::uninit(&mut step);
        match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(error)) => {
                tracing::debug!(conn = %self.conn, %error, "read failed");
                self.metrics.error(ErrorKind::Transport);
                return Poll::Ready(Err(Step::Ended));
            }
            Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Err(Step::Ended)),
            Poll::Ready(Ok(())) => {}
        }
        self.last_heard = now;
        if !self.parsing {
            return Poll::Ready(Ok(()));
        }
        let refused = match self.reader.read(buf.filled(), &mut self.received) {
            Err(error) => Some(error.into()),
            Ok(()) if !self.count(self.reader.unfinished_bytes()) => Some(Refusal::Busy),
            Ok(()) => None,
        };
        if refused.is_some() {
            // Said once the frames read whole before it are handed over.
            self.stop_parsing();
            self.refused = refused;
            return Poll::Ready(Ok(()));
        }
        self.message_deadline = match (self.reader.busy_period(), self.message_deadline) {
            (None, _) => None,
            (Some(period), Some((same, at))) if period == same => Some((same, at)),
            (Some(period), _) => Some((period, now + self.transport.message_timeout)),
        };
        Poll::Ready(Ok(()))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if !self.ended {
            self.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unwritten;

    #[test]
    fn what_is_left_of_a_frame_after_each_partial_write() {
        let parts: [&[u8]; 3] = [b"hd", b"sha", b"tg"];
        let whole = parts.concat();
        for written in 0..=whole.len() {
            let left: Vec<u8> = unwritten(parts, written).iter().flat_map(|slice| slice.iter().copied()).collect();
            assert_eq!(left, whole[written..], "after {written} bytes");
        }
    }
}
