//! Counters behind `GET /metrics`, rendered by hand in the Prometheus text
//! format (version 0.0.4). Plain atomics: every task bumps them without
//! locks; gauges owned by the hub (documents in memory) are asked of it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the storage commit latency histogram.
const COMMIT_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Why a connection was closed: the `kind` label of `essaim_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Malformed,
    TooLarge,
    DocumentTooLarge,
    ProtocolViolation,
    UnsupportedVersion,
    BadSyncMessage,
    Replaced,
    PeerLeft,
    PeerError,
    HandshakeTimeout,
    TextFrame,
    SlowConsumer,
    KeepaliveTimeout,
    Transport,
    Revoked,
    Internal,
    MessageTimeout,
    InboundBusy,
}

impl ErrorKind {
    /// Every kind, in declaration order (`kind as usize` indexes it).
    const ALL: [ErrorKind; 18] = [
        ErrorKind::Malformed,
        ErrorKind::TooLarge,
        ErrorKind::DocumentTooLarge,
        ErrorKind::ProtocolViolation,
        ErrorKind::UnsupportedVersion,
        ErrorKind::BadSyncMessage,
        ErrorKind::Replaced,
        ErrorKind::PeerLeft,
        ErrorKind::PeerError,
        ErrorKind::HandshakeTimeout,
        ErrorKind::TextFrame,
        ErrorKind::SlowConsumer,
        ErrorKind::KeepaliveTimeout,
        ErrorKind::Transport,
        ErrorKind::Revoked,
        ErrorKind::Internal,
        ErrorKind::MessageTimeout,
        ErrorKind::InboundBusy,
    ];

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::DocumentTooLarge => "document_too_large",
            ErrorKind::ProtocolViolation => "protocol_violation",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::BadSyncMessage => "bad_sync_message",
            ErrorKind::Replaced => "replaced",
            ErrorKind::PeerLeft => "peer_left",
            ErrorKind::PeerError => "peer_error",
            ErrorKind::HandshakeTimeout => "handshake_timeout",
            ErrorKind::TextFrame => "text_frame",
            ErrorKind::SlowConsumer => "slow_consumer",
            ErrorKind::KeepaliveTimeout => "keepalive_timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Revoked => "revoked",
            ErrorKind::Internal => "internal",
            ErrorKind::MessageTimeout => "message_timeout",
            ErrorKind::InboundBusy => "inbound_busy",
        }
    }
}

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    /// Upgrades refused because the address holds its share of slots.
    pub(crate) connections_refused_address: AtomicU64,
    /// Upgrades refused because an invitation holds its share of slots.
    pub(crate) connections_refused_invitation: AtomicU64,
    /// Payload bytes of unfinished inbound messages, all connections
    /// together (the global budget of `frames.rs`).
    pub(crate) inbound_unfinished_bytes: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    commit_buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    commit_count: AtomicU64,
    commit_micros: AtomicU64,
    writes_committed: AtomicU64,
    // The HTTP surface: the accept loop (`listen.rs`) and the feeds.
    pub(crate) http_connections_open: AtomicU64,
    pub(crate) http_connections_refused: AtomicU64,
    pub(crate) http_connections_timed_out: AtomicU64,
    pub(crate) feed_documents_read: AtomicU64,
    pub(crate) feed_renders: AtomicU64,
    pub(crate) feed_compressions: AtomicU64,
    pub(crate) feeds_busy: AtomicU64,
    /// A cluster relay's announcements and repairs.
    pub(crate) cluster: ClusterMetrics,
}

/// What a relay of a cluster counts: announcements sent and received,
/// repairs, and how stale its repair is. Shown only on a cluster relay.
#[derive(Debug, Default)]
pub(crate) struct ClusterMetrics {
    /// This relay's `--relay-name`, once it is part of a cluster.
    pub(crate) relay: std::sync::OnceLock<String>,
    pub(crate) announcements_sent: AtomicU64,
    pub(crate) announcements_received: AtomicU64,
    /// Received ones whose document was in memory and took them in.
    pub(crate) announcements_applied: AtomicU64,
    /// Received ones that did not decode (counted, dropped).
    pub(crate) announcements_malformed: AtomicU64,
    /// Documents a repair pass found behind and read again.
    repairs: AtomicU64,
    repair_passes: AtomicU64,
    /// When the last repair pass ended (Unix milliseconds).
    last_repair_pass_ms: AtomicU64,
}

impl ClusterMetrics {
    pub(crate) fn repaired(&self) {
        self.repairs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn repair_pass_done(&self) {
        self.repair_passes.fetch_add(1, Ordering::Relaxed);
        self.last_repair_pass_ms.store(crate::hub::now().0, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        let Some(relay) = self.relay.get() else { return };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let last = get(&self.last_repair_pass_ms);
        let staleness = if last == 0 { -1.0 } else { crate::hub::now().0.saturating_sub(last) as f64 / 1000.0 };
        let rows = [
            (
                "essaim_cluster_relay_info",
                "gauge",
                "This relay's --relay-name, as a label.",
                format!("{{relay=\"{relay}\"}} 1"),
            ),
            (
                "essaim_cluster_announcements_sent_total",
                "counter",
                "Commits announced on NATS.",
                format!(" {}", get(&self.announcements_sent)),
            ),
            (
                "essaim_cluster_announcements_received_total",
                "counter",
                "Other relays' announcements received.",
                format!(" {}", get(&self.announcements_received)),
            ),
            (
                "essaim_cluster_announcements_applied_total",
                "counter",
                "Received announcements of a document in memory, taken in.",
                format!(" {}", get(&self.announcements_applied)),
            ),
            (
                "essaim_cluster_announcements_malformed_total",
                "counter",
                "Received announcements that did not decode, dropped.",
                format!(" {}", get(&self.announcements_malformed)),
            ),
            (
                "essaim_cluster_repairs_total",
                "counter",
                "Documents a repair pass found behind PostgreSQL and read again.",
                format!(" {}", get(&self.repairs)),
            ),
            (
                "essaim_cluster_repair_passes_total",
                "counter",
                "Repair passes done.",
                format!(" {}", get(&self.repair_passes)),
            ),
            (
                "essaim_cluster_repair_staleness_seconds",
                "gauge",
                "Seconds since the last repair pass ended (-1 before the first).",
                format!(" {staleness}"),
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{value}");
        }
    }
}

/// Gauges the hub answers with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubGauges {
    pub(crate) documents_in_memory: usize,
    pub(crate) peers: usize,
    pub(crate) writes_in_flight: u64,
    pub(crate) held_outputs: usize,
    pub(crate) sync_messages: sync_core::SyncMessageCounts,
    pub(crate) sync_messages_held: usize,
}

impl Metrics {
    /// Counts one error of `kind`.
    pub(crate) fn error(&self, kind: ErrorKind) {
        self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one commit of `writes` storage writes.
    pub(crate) fn observe_commit(&self, elapsed: Duration, writes: usize) {
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in COMMIT_BUCKETS.iter().zip(&self.commit_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.commit_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.commit_micros.fetch_add(micros, Ordering::Relaxed);
        self.writes_committed.fetch_add(writes as u64, Ordering::Relaxed);
    }

    pub(crate) fn frame_in(&self, len: usize) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub(crate) fn frame_out(&self, len: usize) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, hub: Option<HubGauges>) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        metric("essaim_connections", "gauge", "Open websocket connections.", get(&self.connections_open).to_string());
        metric(
            "essaim_connections_total",
            "counter",
            "Websocket connections accepted.",
            get(&self.connections_total).to_string(),
        );
        metric(
            "essaim_connections_refused_total",
            "counter",
            "Websocket upgrades refused (connection limit).",
            get(&self.connections_refused).to_string(),
        );
        metric(
            "essaim_connections_refused_per_address_total",
            "counter",
            "Websocket upgrades refused (connections per address).",
            get(&self.connections_refused_address).to_string(),
        );
        metric(
            "essaim_connections_refused_per_invitation_total",
            "counter",
            "Websocket upgrades refused (connections per invitation).",
            get(&self.connections_refused_invitation).to_string(),
        );
        metric(
            "essaim_inbound_unfinished_bytes",
            "gauge",
            "Payload bytes of websocket messages still arriving, all connections together.",
            get(&self.inbound_unfinished_bytes).to_string(),
        );
        metric("essaim_messages_in_total", "counter", "Binary frames received.", get(&self.messages_in).to_string());
        metric("essaim_messages_out_total", "counter", "Binary frames sent.", get(&self.messages_out).to_string());
        metric("essaim_bytes_in_total", "counter", "Payload bytes received.", get(&self.bytes_in).to_string());
        metric("essaim_bytes_out_total", "counter", "Payload bytes sent.", get(&self.bytes_out).to_string());
        metric(
            "essaim_storage_writes_total",
            "counter",
            "Storage writes committed.",
            get(&self.writes_committed).to_string(),
        );
        if let Some(hub) = hub {
            metric(
                "essaim_documents_in_memory",
                "gauge",
                "Documents loaded or loading.",
                hub.documents_in_memory.to_string(),
            );
            metric("essaim_peers", "gauge", "Connections known to the sync core.", hub.peers.to_string());
            metric(
                "essaim_storage_writes_in_flight",
                "gauge",
                "Writes sent to storage, not yet committed.",
                hub.writes_in_flight.to_string(),
            );
            metric("essaim_held_outputs", "gauge", "Messages waiting for a commit.", hub.held_outputs.to_string());
            metric(
                "essaim_sync_messages_generated_total",
                "counter",
                "Sync messages Automerge generated for peers.",
                hub.sync_messages.generated.to_string(),
            );
            metric(
                "essaim_sync_messages_shared_total",
                "counter",
                "Sync messages copied from a peer in the same sync state instead of generated again.",
                hub.sync_messages.shared.to_string(),
            );
            metric(
                "essaim_sync_messages_held",
                "gauge",
                "Peers whose next sync message waits for their answer to the changes they were last sent.",
                hub.sync_messages_held.to_string(),
            );
        }
        self.render_http(&mut out);
        self.cluster.render(&mut out);
        let _ = writeln!(out, "# HELP essaim_errors_total Connections closed for an error, by kind.");
        let _ = writeln!(out, "# TYPE essaim_errors_total counter");
        for (kind, count) in ErrorKind::ALL.iter().zip(&self.errors) {
            let _ = writeln!(out, "essaim_errors_total{{kind=\"{}\"}} {}", kind.label(), get(count));
        }
        let name = "essaim_storage_commit_seconds";
        let _ = writeln!(out, "# HELP {name} Duration of one storage commit (a group of writes).");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, bucket) in COMMIT_BUCKETS.iter().zip(&self.commit_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.commit_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", get(&self.commit_micros) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

impl Metrics {
    /// The HTTP surface's part of the exposition.
    fn render_http(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let counters = [
            (
                "essaim_http_connections",
                "gauge",
                "Open TCP connections (HTTP and websocket).",
                &self.http_connections_open,
            ),
            (
                "essaim_http_connections_refused_total",
                "counter",
                "Connections closed at accept (global or per-address limit).",
                &self.http_connections_refused,
            ),
            (
                "essaim_http_connections_timed_out_total",
                "counter",
                "HTTP connections closed for slow headers or no progress.",
                &self.http_connections_timed_out,
            ),
            (
                "essaim_feed_documents_read_total",
                "counter",
                "Documents loaded and decoded for the feeds (cache misses).",
                &self.feed_documents_read,
            ),
            ("essaim_feed_renders_total", "counter", "Feed bodies rendered (cache misses).", &self.feed_renders),
            (
                "essaim_feed_compressions_total",
                "counter",
                "Large feed bodies compressed (once per ETag and encoding).",
                &self.feed_compressions,
            ),
            ("essaim_feeds_busy_total", "counter", "Feed requests answered 503 (too many renders).", &self.feeds_busy),
        ];
        for (name, kind, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", get(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn every_error_kind_is_listed_at_its_index() {
        for (index, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, index, "{kind:?}");
        }
    }
}
