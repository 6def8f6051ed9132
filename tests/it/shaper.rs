//! A shaping TCP proxy on loopback, to put a poor network between clients
//! and the relay: a bandwidth limit per direction, a one-way latency,
//! connections dropped after a set or seeded random lifetime, stalls, and
//! cuts on demand ([`Shaper::cut`]: every connection reset and new ones
//! refused until [`Shaper::restore`]).
//!
//! Each direction of a connection is a pipe, as on a real link: a byte is
//! delivered at the time its serialisation on the link finishes plus the
//! latency, so bandwidth and latency compose (a 64 KiB transfer at
//! 256 kbit/s with 50 ms of latency takes 2.048 s + 50 ms, not 50 ms per
//! read). The serialiser runs on a virtual clock and reads at most a few
//! milliseconds ahead of the link, so timer lateness does not add up and a
//! slow link pushes back on the sender as TCP would.
//!
//! It does not model: the TCP handshake (accepted at once, so a real link
//! adds one round trip per connection), loss and retransmission, reordering,
//! congestion control or slow start, nor a drop that leaves the peers
//! unaware: a drop resets both sockets, which both peers see at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};

use crate::support::Rng;

/// How far ahead of the link the serialiser may read (a small send buffer).
const LEAD: Duration = Duration::from_millis(20);

/// The link's properties; the default shapes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// Bits per second in each direction; `None` for no limit.
    pub bandwidth_bps: Option<u64>,
    /// One-way latency: half the round trip.
    pub latency: Duration,
    /// Every connection is reset once it has lived this long.
    pub drop_every: Option<Duration>,
    /// Every connection is reset after a lifetime drawn uniformly in
    /// `[0, 2 × mean)`, from `seed` and the connection's rank.
    pub random_drops: Option<(Duration, u64)>,
    /// `(stall, every)`: after each `every` of work, no byte moves for `stall`.
    pub stalls: Option<(Duration, Duration)>,
}

impl Link {
    /// `bps` bits per second in each direction.
    pub fn bandwidth(self, bps: u64) -> Link {
        Link { bandwidth_bps: Some(bps), ..self }
    }

    /// A round trip of `rtt` (each direction gets half).
    pub fn rtt(self, rtt: Duration) -> Link {
        Link { latency: rtt / 2, ..self }
    }

    /// Resets every connection once it has lived `every`.
    pub fn drop_every(self, every: Duration) -> Link {
        Link { drop_every: Some(every), ..self }
    }

    /// Resets connections after seeded random lifetimes averaging `mean`.
    pub fn random_drops(self, mean: Duration, seed: u64) -> Link {
        Link { random_drops: Some((mean, seed)), ..self }
    }

    /// No byte moves for `stall` after each `every` of work.
    pub fn stalls(self, stall: Duration, every: Duration) -> Link {
        Link { stalls: Some((stall, every)), ..self }
    }

    /// Time to serialise `bytes` on the link.
    fn serialisation(&self, bytes: usize) -> Duration {
        match self.bandwidth_bps {
            Some(bps) => Duration::from_nanos((bytes as u128 * 8 * 1_000_000_000 / u128::from(bps.max(1))) as u64),
            None => Duration::ZERO,
        }
    }

    /// Bytes read at once: about 10 ms of the link.
    fn chunk(&self) -> usize {
        self.bandwidth_bps.map_or(16 << 10, |bps| (bps / 8 / 100).clamp(64, 16 << 10) as usize)
    }

    /// `at`, or the end of the stall it falls in (stalls count from `born`).
    fn after_stalls(&self, born: Instant, at: Instant) -> Instant {
        let Some((stall, every)) = self.stalls else { return at };
        let period = (stall + every).as_nanos().max(1);
        let phase = at.saturating_duration_since(born).as_nanos() % period;
        if phase < every.as_nanos() { at } else { at + Duration::from_nanos((period - phase) as u64) }
    }

    /// How long the `rank`-th connection lives; `None` for ever.
    fn lifetime(&self, rank: u64) -> Option<Duration> {
        let random = self.random_drops.map(|(mean, seed)| {
            let span = (mean.as_millis() as u64 * 2).max(1);
            Duration::from_millis(Rng::new(seed ^ rank.wrapping_mul(0x9e37_79b9_7f4a_7c15)).below(span))
        });
        match (self.drop_every, random) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What went through the proxy, readable while it runs.
#[derive(Debug, Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    accepted: AtomicU64,
    drops: AtomicU64,
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Bytes delivered from clients to the upstream, TCP payload (HTTP
    /// upgrade and websocket framing included).
    pub bytes_up: u64,
    /// Bytes delivered from the upstream to clients.
    pub bytes_down: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections reset by `drop_every` or `random_drops`.
    pub drops: u64,
}

/// A running proxy; dropping it closes its listener and every connection.
pub struct Shaper {
    /// Where clients connect.
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    /// Whether the link is cut: connections reset, new ones refused.
    cut: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Shaper {
    /// Listens on 127.0.0.1:0 and forwards each connection to `upstream`
    /// through `link`. Needs a tokio runtime.
    pub fn start(upstream: SocketAddr, link: Link) -> Shaper {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the shaper");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let listener = TcpListener::from_std(listener).expect("inside a tokio runtime");
        let addr = listener.local_addr().expect("the shaper's address");
        let counters = Arc::new(Counters::default());
        let (cut, cut_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, upstream, link, counters.clone(), cut_rx));
        Shaper { addr, counters, cut, task }
    }

    /// Cuts the link: every open connection is reset (both ends, as a
    /// drop) and every new one is reset as soon as it is accepted, until
    /// [`Shaper::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Ends a [`Shaper::cut`]: new connections go through again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    /// The relay's websocket URL through this proxy.
    pub fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let c = &self.counters;
        Stats { bytes_up: get(&c.up), bytes_down: get(&c.down), accepted: get(&c.accepted), drops: get(&c.drops) }
    }
}

impl Drop for Shaper {
    fn drop(&mut self) {
        // The connections live in the task's `JoinSet`: aborted with it.
        self.task.abort();
    }
}

/// Accepts until the listener fails or the [`Shaper`] is dropped.
async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    link: Link,
    counters: Arc<Counters>,
    cut: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut rank = 0;
    while let Ok((client, _)) = listener.accept().await {
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        if *cut.borrow() {
            counters.drops.fetch_add(1, Ordering::Relaxed);
            let _ = client.set_zero_linger();
            continue;
        }
        let lifetime = link.lifetime(rank);
        connections.spawn(connection(client, upstream, link, lifetime, counters.clone(), cut.clone()));
        rank += 1;
        while connections.try_join_next().is_some() {}
    }
}

/// Pumps one connection both ways until both ends close or its lifetime
/// ends; then both sockets are reset, like a lost radio link.
async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    link: Link,
    lifetime: Option<Duration>,
    counters: Arc<Counters>,
    mut cut: watch::Receiver<bool>,
) {
    // An upstream that refuses: the client's socket closes when dropped.
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let born = Instant::now();
    let dropped = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let pumps = async {
            tokio::join!(
                direction(client_read, server_write, link, born, &counters.up),
                direction(server_read, client_write, link, born, &counters.down),
            )
        };
        let lifetime_ends = async {
            match lifetime {
                Some(lifetime) => sleep_until(born + lifetime).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = pumps => false,
            () = lifetime_ends => true,
            _ = cut.wait_for(|cut| *cut) => true,
        }
    };
    if dropped {
        counters.drops.fetch_add(1, Ordering::Relaxed);
        // An RST to both: no close frame, no FIN, what is in flight is lost.
        let _ = (client.set_zero_linger(), server.set_zero_linger());
    }
}

/// One direction: a serialiser that reads at the link's pace and stamps
/// each chunk with its delivery time, and a deliverer that writes it then.
/// Ends at end of stream or on an error, then half-closes `to`.
async fn direction(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, link: Link, born: Instant, count: &AtomicU64) {
    // Bounded: a receiver that stops reading pushes back on the sender.
    let (chunks, mut in_flight) = mpsc::channel::<(Instant, Vec<u8>)>(1024);
    let serialise = async move {
        let mut buffer = vec![0; link.chunk()];
        let mut link_free_at = Instant::now();
        loop {
            sleep_until(link_free_at.checked_sub(LEAD).unwrap_or(link_free_at)).await;
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let start = link.after_stalls(born, link_free_at.max(Instant::now()));
            link_free_at = start + link.serialisation(n);
            if chunks.send((link_free_at + link.latency, buffer[..n].to_vec())).await.is_err() {
                break;
            }
        }
    };
    let deliver = async {
        while let Some((at, bytes)) = in_flight.recv().await {
            sleep_until(link.after_stalls(born, at)).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
            count.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(serialise, deliver);
}

/// A sink upstream: reads until `expected` bytes came, then reports.
async fn sink(expected: usize) -> (SocketAddr, tokio::sync::oneshot::Receiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the sink");
    let addr = listener.local_addr().expect("sink address");
    let (done, arrived) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the shaper connects");
        let mut received = vec![0; expected];
        stream.read_exact(&mut received).await.expect("every byte arrives");
        let _ = done.send(Instant::now());
    });
    (addr, arrived)
}

/// An echo upstream for one connection.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the echo");
    let addr = listener.local_addr().expect("echo address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the shaper connects");
        let (mut read, mut write) = stream.split();
        let _ = tokio::io::copy(&mut read, &mut write).await;
    });
    addr
}

#[tokio::test]
async fn a_bulk_transfer_takes_its_serialisation_time_plus_the_latency() {
    const BYTES: usize = 64 << 10;
    let (upstream, arrived) = sink(BYTES).await;
    let link = Link::default().bandwidth(256_000).rtt(Duration::from_millis(200));
    let shaper = Shaper::start(upstream, link);
    let mut client = TcpStream::connect(shaper.addr).await.expect("connect to the shaper");
    let started = Instant::now();
    client.write_all(&[0x5a; BYTES]).await.expect("write");
    let arrived = tokio::time::timeout(Duration::from_secs(10), arrived).await.expect("in time").expect("arrived");
    let elapsed = arrived - started;
    // 524,288 bits at 256 kbit/s, then 100 ms of latency: 2.148 s. With a
    // latency per read (one per 320-byte chunk) it would take 22 s.
    let expected = Duration::from_millis(2_048 + 100);
    eprintln!("64 KiB at 256 kbit/s, 100 ms one way: {elapsed:?} (link: {expected:?})");
    assert!(elapsed >= expected.mul_f64(0.98) && elapsed <= expected.mul_f64(1.03), "{elapsed:?}");
    let stats = shaper.stats();
    assert_eq!((stats.bytes_up, stats.bytes_down, stats.accepted, stats.drops), (BYTES as u64, 0, 1, 0));
}

#[tokio::test]
async fn a_ping_pong_takes_one_round_trip_and_drop_every_resets_on_time() {
    let rtt = Duration::from_millis(200);
    let lifetime = Duration::from_millis(1_000);
    let shaper = Shaper::start(echo().await, Link::default().rtt(rtt).drop_every(lifetime));
    let born = Instant::now();
    let mut client = TcpStream::connect(shaper.addr).await.expect("connect to the shaper");
    for ping in 0..3u8 {
        let sent = Instant::now();
        client.write_all(&[ping]).await.expect("ping");
        let pong = client.read_u8().await.expect("pong");
        let took = sent.elapsed();
        assert_eq!(pong, ping);
        assert!(took >= rtt && took <= rtt + Duration::from_millis(30), "round trip {ping} took {took:?}");
    }
    // Nothing more is sent: the next read ends with the drop, on time.
    let mut rest = [0; 1];
    let end = tokio::time::timeout(Duration::from_secs(5), client.read(&mut rest)).await.expect("dropped in time");
    let lived = born.elapsed();
    assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
    assert!(lived >= lifetime && lived <= lifetime + Duration::from_millis(100), "dropped after {lived:?}");
    assert_eq!(shaper.stats().drops, 1);
    assert_eq!((shaper.stats().bytes_up, shaper.stats().bytes_down), (3, 3));
}

#[tokio::test]
async fn stalls_hold_every_byte_and_random_drops_follow_their_seed() {
    const BYTES: usize = 16 << 10;
    let (upstream, arrived) = sink(BYTES).await;
    let stalled = Link::default().bandwidth(256_000).stalls(Duration::from_millis(300), Duration::from_millis(200));
    let shaper = Shaper::start(upstream, stalled);
    let mut client = TcpStream::connect(shaper.addr).await.expect("connect to the shaper");
    let started = Instant::now();
    client.write_all(&[0x5a; BYTES]).await.expect("write");
    let arrived = tokio::time::timeout(Duration::from_secs(10), arrived).await.expect("in time").expect("arrived");
    // 512 ms of link in windows of 200 ms, each followed by 300 ms of stall.
    let (elapsed, expected) = (arrived - started, Duration::from_millis(200 + 300 + 200 + 300 + 112));
    assert!(elapsed >= expected.mul_f64(0.98) && elapsed <= expected.mul_f64(1.03), "{elapsed:?}");

    let mean = Duration::from_millis(300);
    let link = Link::default().random_drops(mean, 7);
    let lifetimes: Vec<Duration> = (0..1_000).map(|rank| link.lifetime(rank).expect("a lifetime")).collect();
    assert_eq!(link.lifetime(3), Some(lifetimes[3]), "seeded");
    assert_ne!(Link::default().random_drops(mean, 8).lifetime(3), Some(lifetimes[3]), "another seed, another draw");
    let average = lifetimes.iter().sum::<Duration>() / 1_000;
    assert!(average >= mean.mul_f64(0.9) && average <= mean.mul_f64(1.1), "{average:?}");
    let shaper = Shaper::start(echo().await, link);
    let born = Instant::now();
    let mut client = TcpStream::connect(shaper.addr).await.expect("connect to the shaper");
    let end = tokio::time::timeout(Duration::from_secs(5), client.read_u8()).await.expect("dropped in time");
    let lived = born.elapsed();
    assert!(end.is_err(), "{end:?}");
    assert!(lived >= lifetimes[0] && lived <= lifetimes[0] + Duration::from_millis(100), "{lived:?}");
    assert_eq!(shaper.stats().drops, 1);
}

#[tokio::test]
async fn a_cut_resets_every_connection_and_refuses_new_ones_until_restored() {
    // An echo upstream for any number of connections.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the echo");
    let upstream = listener.local_addr().expect("echo address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    let shaper = Shaper::start(upstream, Link::default());
    let ping = |mut client: TcpStream| async move {
        client.write_all(&[7]).await?;
        let pong = tokio::time::timeout(Duration::from_secs(5), client.read_u8()).await??;
        Ok::<_, Box<dyn std::error::Error>>((client, pong))
    };
    let (mut open, pong) = ping(TcpStream::connect(shaper.addr).await.expect("connect")).await.expect("ping");
    assert_eq!(pong, 7);

    shaper.cut();
    let mut rest = [0; 1];
    let end = tokio::time::timeout(Duration::from_secs(5), open.read(&mut rest)).await.expect("reset in time");
    assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
    // Accepted by the kernel, then reset: no byte comes back.
    let refused = ping(TcpStream::connect(shaper.addr).await.expect("connect")).await;
    assert!(refused.is_err(), "a connection went through a cut link");

    shaper.restore();
    let (_, pong) = ping(TcpStream::connect(shaper.addr).await.expect("connect")).await.expect("ping after restore");
    assert_eq!(pong, 7);
    assert_eq!(shaper.stats().drops, 2);
}
