//! The relay's settings, [`Config`], with their defaults written once: in
//! the `#[arg]` attributes below, which `essaim serve` parses (each flag
//! also has an `ESSAIM_*` variable) and [`Config::new`] reads for the
//! library and the tests. Limits the relay hands to its repo unchanged
//! default to `sync-core`'s own (its `DEFAULT_*` constants and
//! `sync_core::Config::new`).
//!
//! A doc comment's first paragraph is the flag's `--help` line; the rest
//! says why the default is what it is.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, FromArgMatches};
use sync_core::automerge::ActorId;

/// Where the relay and the CLI keep their SQLite file unless told.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// The relay's settings. [`Config::new`] gives the defaults.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Directory holding the SQLite database (created if missing).
    #[arg(long = "data", value_name = "DATA", env = "ESSAIM_DATA", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Let clients in without an invitation token, read-write on every
    /// document (development, or a trusted network).
    ///
    /// A client that does send a token is still bound to it.
    #[arg(long, env = "ESSAIM_OPEN")]
    pub open: bool,
    /// Who may create a territory from the app (`POST /territoires`):
    /// anyone (`ouverte`), anyone as a candidature the relay's team accepts
    /// or refuses (`sur-candidature`), or nobody (`fermee`: only `essaim
    /// territory create`).
    ///
    /// `sur-candidature` by default: a relay on the internet does not host
    /// whatever anyone creates unless its operator says so.
    #[arg(long, env = "ESSAIM_CREATION", value_enum, default_value_t = Creation::SurCandidature)]
    pub creation: Creation,
    /// Directory of static files served at `/` (the web app).
    #[arg(long = "web", value_name = "WEB", env = "ESSAIM_WEB")]
    pub web_dir: Option<PathBuf>,
    /// The relay's peer id [default: essaim-<first 8 characters of the
    /// storage id>].
    ///
    /// Stable across restarts because the storage id is. It travels in
    /// every message, so the default is short.
    #[arg(long, env = "ESSAIM_PEER_ID")]
    pub peer_id: Option<String>,
    /// Largest websocket message in bytes. Automerge sends a whole document
    /// in one message on first sync: this bounds document size too.
    ///
    /// It is also the frame limit: browsers and JS automerge-repo send a
    /// whole message as one frame.
    #[arg(long, env = "ESSAIM_MAX_MESSAGE_BYTES", default_value_t = core().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Largest document in stored bytes: a sync message that would grow a
    /// document past it is refused with an error. Keep it well under
    /// --max-message-bytes, since a first sync sends the whole document.
    ///
    /// The core's default is a quarter of the message limit, so any
    /// document the relay accepts can be sent whole to a new client.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENT_BYTES", default_value_t = core().max_document_bytes)]
    pub max_document_bytes: usize,
    /// Largest document in operations, what it costs in memory whatever its
    /// compressed size; also what one sync message may expand to.
    ///
    /// `sync_core::DEFAULT_MAX_DOCUMENT_OPS` says why 500,000.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENT_OPS", default_value_t = sync_core::DEFAULT_MAX_DOCUMENT_OPS)]
    pub max_document_ops: u64,
    /// Bytes of changes a document may hold in memory while a peer withholds
    /// their dependencies; a message that would pass it is refused.
    ///
    /// `sync_core::DEFAULT_MAX_WAITING_CHANGE_BYTES` says why 4 MiB.
    #[arg(long, env = "ESSAIM_MAX_WAITING_CHANGE_BYTES", default_value_t = sync_core::DEFAULT_MAX_WAITING_CHANGE_BYTES)]
    pub max_waiting_change_bytes: u64,
    /// Most open websocket connections; more are answered HTTP 503.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Most documents one connection may sync; beyond, it is closed.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENTS_PER_CONNECTION", default_value_t = core().max_documents_per_connection)]
    pub max_documents_per_connection: usize,
    /// Most frames queued for one connection; a peer that falls further
    /// behind is disconnected (it resyncs on reconnect).
    ///
    /// The hub answers a batch of messages at once (up to its queue of
    /// 4,096 events), so a peer uploading hundreds of documents has
    /// thousands of answers queued at once; the byte limit below is what
    /// bounds the memory.
    #[arg(long, env = "ESSAIM_OUTBOUND_QUEUE_FRAMES", default_value_t = 16 * 1024)]
    pub outbound_queue_frames: usize,
    /// Most bytes queued for one connection (same rule).
    ///
    /// One message larger than this still goes through an empty queue.
    #[arg(long, env = "ESSAIM_OUTBOUND_QUEUE_BYTES", default_value_t = 128 * 1024 * 1024)]
    pub outbound_queue_bytes: usize,
    /// Seconds between keepalive pings.
    ///
    /// 20 s spares mobile batteries; JS clients reconnect every 5 s once
    /// closed.
    #[arg(long = "ping-interval-secs", env = "ESSAIM_PING_INTERVAL_SECS")]
    #[arg(value_name = "PING_INTERVAL_SECS", default_value = "20", value_parser = at_least_one_second)]
    pub ping_interval: Duration,
    /// Seconds of silence (no pong, no frame) after which a connection is
    /// closed as dead.
    ///
    /// So is one whose writes stall this long.
    #[arg(long = "ping-timeout-secs", env = "ESSAIM_PING_TIMEOUT_SECS")]
    #[arg(value_name = "PING_TIMEOUT_SECS", default_value = "40", value_parser = at_least_one_second)]
    pub ping_timeout: Duration,
    /// Seconds a new connection has to send `join`.
    ///
    /// The core's default (a test checks they agree).
    #[arg(long = "handshake-timeout-secs", env = "ESSAIM_HANDSHAKE_TIMEOUT_SECS")]
    #[arg(value_name = "HANDSHAKE_TIMEOUT_SECS", default_value = "10", value_parser = seconds)]
    pub handshake_timeout: Duration,
    /// Seconds after which an unused document is unloaded from memory.
    ///
    /// The core's default (a test checks they agree).
    #[arg(long = "unload-idle-after-secs", env = "ESSAIM_UNLOAD_IDLE_AFTER_SECS")]
    #[arg(value_name = "UNLOAD_IDLE_AFTER_SECS", default_value = "60", value_parser = seconds)]
    pub unload_idle_after: Duration,
    /// Milliseconds a peer's next sync message waits, at most, for its
    /// answer to the changes it was last sent; meanwhile its changes are
    /// gathered into that one message (a reader slower than the writers
    /// gets a message per round trip, not one per change). 0: each change
    /// goes at once.
    ///
    /// `sync_core::DEFAULT_HOLD_FOR_ANSWER_MS` says why 2 s.
    #[arg(long, env = "ESSAIM_HOLD_FOR_ANSWER_MS", default_value_t = sync_core::DEFAULT_HOLD_FOR_ANSWER_MS)]
    pub hold_for_answer_ms: u64,
    /// Most payload bytes of websocket messages still arriving, all
    /// connections together; a frame past it closes its connection (1013,
    /// retry later).
    ///
    /// 128 MiB: two messages at the default message limit, while a sync
    /// message is usually kilobytes, so a small machine cannot be made to
    /// hold 8 × 56 MiB of fragments.
    #[arg(long, env = "ESSAIM_MAX_INBOUND_BYTES", default_value_t = 128 * 1024 * 1024)]
    pub max_inbound_bytes: usize,
    /// Seconds a websocket message has from its first byte to its last,
    /// pings and pongs in between included; then its connection closes.
    ///
    /// 60 s: a one-frame message never had longer anyway (no pong passes in
    /// the middle of a frame, so the ping timeout ended it), and it is
    /// 1.5 MB at 2G/EDGE rates (25 KB/s), far above an ordinary sync
    /// message.
    #[arg(long = "message-timeout-secs", env = "ESSAIM_MESSAGE_TIMEOUT_SECS")]
    #[arg(value_name = "MESSAGE_TIMEOUT_SECS", default_value = "60", value_parser = at_least_one_second)]
    pub message_timeout: Duration,
    /// Most open websocket connections from one address (an IPv6 /64);
    /// more are answered HTTP 429.
    ///
    /// 100: a family's phones behind one NAT, a mairie's office or a third
    /// place behind one address, and mobile carriers' CGNAT putting
    /// unrelated residents behind one IPv4 address, while one address holds
    /// at most 1 % of the default 10,000 connections.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 100)]
    pub max_connections_per_address: usize,
    /// Most open websocket connections holding one invitation; more are
    /// answered HTTP 429.
    ///
    /// 1,000: a territory hands its resident link to everyone, so it must
    /// serve that many open apps at once, while one token holds at most a
    /// tenth of the default 10,000 connections.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS_PER_INVITATION", default_value_t = 1000)]
    pub max_connections_per_invitation: usize,
    /// Public base URL of the relay (https://agenda.example.org), used for
    /// every absolute link in the feeds. Without it, links follow the
    /// request's Host and X-Forwarded-Proto (validated), and feeds are not
    /// publicly cacheable.
    #[arg(long = "url", value_name = "URL", env = "ESSAIM_URL")]
    pub public_url: Option<String>,
    /// Address of a reverse proxy in front of the relay (repeat, or
    /// comma-separate in the variable): from it only, the last address of
    /// X-Forwarded-For is taken as the client's (rate limits, caps).
    ///
    /// Trusted proxies are exempt from the per-address connection cap.
    #[arg(long = "trusted-proxy", value_name = "TRUSTED_PROXY", env = "ESSAIM_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Address serving GET /metrics (Prometheus), e.g. 127.0.0.1:9030.
    /// Without it, no metrics are served: never on the public port.
    ///
    /// They tell load and errors to anyone.
    #[arg(long, env = "ESSAIM_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a connection has to send a request's headers.
    ///
    /// 20 s: a few hundred bytes, even over 2G with retransmissions.
    #[arg(long = "header-read-timeout-secs", env = "ESSAIM_HEADER_READ_TIMEOUT_SECS")]
    #[arg(value_name = "HEADER_READ_TIMEOUT_SECS", default_value = "20", value_parser = at_least_one_second)]
    pub header_read_timeout: Duration,
    /// Seconds an HTTP connection may stay without moving a byte.
    ///
    /// Then it is closed gracefully (dropped after twice this). 60 s is
    /// about what browsers keep an idle connection for.
    #[arg(long = "http-idle-timeout-secs", env = "ESSAIM_HTTP_IDLE_TIMEOUT_SECS")]
    #[arg(value_name = "HTTP_IDLE_TIMEOUT_SECS", default_value = "60", value_parser = at_least_one_second)]
    pub http_idle_timeout: Duration,
    /// Most open TCP connections, websockets included (also capped at three
    /// quarters of the open file limit, `ulimit -n`).
    ///
    /// 11,264: the websockets' 10,000 and room for HTTP.
    #[arg(long, env = "ESSAIM_MAX_HTTP_CONNECTIONS", default_value_t = 11_264)]
    pub max_http_connections: usize,
    /// Most open TCP connections from one address (trusted proxies exempt).
    ///
    /// 256: an office or a school behind one address, each browser holding
    /// a websocket and a few HTTP connections.
    #[arg(long, env = "ESSAIM_MAX_HTTP_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub max_http_connections_per_address: usize,
    /// Feed documents loaded or rendered at once.
    ///
    /// 2, the small machine's cores: more would only share them and add
    /// memory.
    #[arg(long, env = "ESSAIM_FEED_RENDERS", default_value_t = 2)]
    pub feed_renders: usize,
    /// Feed requests waiting for a render; beyond, 503 with Retry-After.
    #[arg(long, env = "ESSAIM_FEED_QUEUE", default_value_t = 32)]
    pub feed_queue: usize,
    /// Territories whose decoded agenda and rendered feeds stay cached.
    ///
    /// By their stored chunks; the least recently used is evicted.
    #[arg(long, env = "ESSAIM_FEED_CACHE_DOCUMENTS", default_value_t = 64)]
    pub feed_cache_documents: usize,
    /// Where documents are stored: a `postgres://user@host/db` URL shared by
    /// the relays of a cluster (builds with the `cluster` feature), else
    /// SQLite in --data.
    ///
    /// Territories and invitations go there too; candidatures and national
    /// sheets stay in --data's SQLite (`docs/deploy.md` says what that
    /// means for a cluster).
    #[arg(long, env = "ESSAIM_STORAGE", hide_env_values = true, help_heading = "Cluster")]
    pub storage: Option<String>,
    /// NATS server through which the relays of a cluster announce their
    /// commits, e.g. nats://127.0.0.1:4222 (needs --storage postgres://).
    ///
    /// An accelerator: without it, or while it is down, relays learn each
    /// other's changes at the next repair pass.
    #[arg(long, env = "ESSAIM_NATS", help_heading = "Cluster")]
    pub nats: Option<String>,
    /// Subject prefix of the cluster's announcements on NATS (letters,
    /// digits, `_`, `-`, dots between them).
    #[arg(long, env = "ESSAIM_CLUSTER_PREFIX", default_value = "essaim", help_heading = "Cluster")]
    pub cluster_prefix: String,
    /// This relay's name in a cluster, in metrics, logs and its peer id
    /// (`essaim-relay-<name>` unless --peer-id is given) [default: the
    /// storage id].
    #[arg(long, env = "ESSAIM_RELAY_NAME", help_heading = "Cluster")]
    pub relay_name: Option<String>,
    /// Milliseconds between repair passes on shared storage: the documents
    /// in memory whose stored version moved past what the relay took in
    /// are read again, so a lost announcement costs at most this.
    #[arg(long = "repair-interval-ms", env = "ESSAIM_REPAIR_INTERVAL_MS", help_heading = "Cluster")]
    #[arg(value_name = "REPAIR_INTERVAL_MS", default_value = "1000", value_parser = milliseconds)]
    pub repair_interval: Duration,
}

/// The relay's creation policy (`--creation`), named as the app and
/// `GET /territoires/creation` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Creation {
    /// A territory created in the app is registered at once.
    Ouverte,
    /// It becomes a candidature (`essaim candidatures`), accepted or
    /// refused by the relay's team.
    SurCandidature,
    /// Only `essaim territory create` creates territories.
    Fermee,
}

impl Config {
    /// The defaults, serving from `data_dir`; `open` is false. Read from the
    /// attributes above, as `essaim serve` without flags would, but never
    /// from the environment.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let command = Config::augment_args(clap::Command::new("essaim")).mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from([OsString::from("essaim")]);
        let mut config = matches
            .and_then(|matches| Config::from_arg_matches(&matches))
            .expect("every setting has a default that parses (see the `defaults` test)");
        config.data_dir = data_dir.into();
        config
    }

    /// The core's settings for the relay's repo: these limits, the rest of
    /// `sync_core::Config::new`'s defaults.
    pub(crate) fn core(&self, peer_id: sync_core::PeerId, actor: ActorId, session: String) -> sync_core::Config {
        let mut core = sync_core::Config::new(peer_id, actor, session);
        core.max_message_bytes = self.max_message_bytes;
        core.max_document_bytes = self.max_document_bytes;
        core.max_document_ops = self.max_document_ops;
        core.max_waiting_change_bytes = self.max_waiting_change_bytes;
        core.max_documents_per_connection = self.max_documents_per_connection;
        core.handshake_timeout_ms = millis(self.handshake_timeout);
        core.unload_idle_after_ms = millis(self.unload_idle_after);
        core.hold_for_answer_ms = Some(self.hold_for_answer_ms).filter(|ms| *ms > 0);
        // The hub decides per connection and document, from its invitation.
        core.access = sync_core::AccessPolicy::AskDriver;
        // Large changes are applied on blocking threads (see `hub`).
        core.offload_changes_above_ops = Some(sync_core::DEFAULT_OFFLOAD_CHANGES_ABOVE_OPS);
        core
    }
}

/// `sync-core`'s defaults, for the limits the relay passes on unchanged.
fn core() -> sync_core::Config {
    let peer = "essaim-relay".parse().expect("a valid peer id");
    sync_core::Config::new(peer, ActorId::from([0u8; 16]), String::new())
}

/// Whole seconds.
fn seconds(text: &str) -> Result<Duration, std::num::ParseIntError> {
    text.parse().map(Duration::from_secs)
}

/// Whole seconds, 0 read as 1 (a period or timeout of zero would spin or
/// close everything).
fn at_least_one_second(text: &str) -> Result<Duration, std::num::ParseIntError> {
    text.parse::<u64>().map(|secs| Duration::from_secs(secs.max(1)))
}

/// Whole milliseconds, at least 10 (a repair every instant would only
/// load the database).
fn milliseconds(text: &str) -> Result<Duration, std::num::ParseIntError> {
    text.parse::<u64>().map(|ms| Duration::from_millis(ms.max(10)))
}

/// Whether `name` may name a relay: 1 to 64 of letters, digits, `_`, `-`
/// (it goes into a peer id, a metric label and NATS headers).
pub(crate) fn relay_name_valid(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `prefix` may start NATS subjects: dot-separated tokens of
/// letters, digits, `_`, `-`.
pub(crate) fn cluster_prefix_valid(prefix: &str) -> bool {
    prefix.len() <= 128 && prefix.split('.').all(relay_name_valid)
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::new("/tmp/essaim");
        assert_eq!(config.data_dir, PathBuf::from("/tmp/essaim"));
        assert!(!config.open);
        assert_eq!(config.creation, Creation::SurCandidature);
        assert_eq!(config.max_message_bytes, 64 * 1024 * 1024);
        assert_eq!(config.max_document_bytes, 16 * 1024 * 1024);
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.ping_interval, Duration::from_secs(20));
        assert_eq!(config.message_timeout, Duration::from_secs(60));
        assert_eq!(config.max_http_connections, 11_264);
        assert!(config.trusted_proxies.is_empty() && config.public_url.is_none());
        // The relay's defaults of what it hands its repo are the core's.
        let core = core();
        let relay = config.core(core.peer_id.clone(), core.actor.clone(), String::new());
        assert_eq!(relay.handshake_timeout_ms, core.handshake_timeout_ms);
        assert_eq!(relay.unload_idle_after_ms, core.unload_idle_after_ms);
        assert_eq!(relay.max_documents_per_connection, core.max_documents_per_connection);
        assert_eq!(relay.hold_for_answer_ms, core.hold_for_answer_ms);
    }
}
