//! `essaim`: the relay binary. Parses arguments, sets up logging, binds,
//! and hands over to [`server::run`] until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Essaim: the offline-first agenda of territories in transition.
#[derive(Debug, Parser)]
#[command(name = "essaim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay: an automerge-repo (protocol "1") websocket relay at
    /// `/sync`, storing documents in SQLite. Also serves `/healthz`,
    /// `/metrics` (Prometheus) and, with --web, the app at `/`.
    Serve(Serve),
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on.
    #[arg(long, env = "ESSAIM_LISTEN", default_value = "127.0.0.1:3030")]
    listen: SocketAddr,
    /// Directory holding the SQLite database (created if missing).
    #[arg(long, env = "ESSAIM_DATA", default_value = "./data")]
    data: PathBuf,
    /// Serve every client read-write, without access control. Required:
    /// access control is not implemented yet.
    #[arg(long, env = "ESSAIM_OPEN")]
    open: bool,
    /// Directory of static files served at `/` (the web app).
    #[arg(long, env = "ESSAIM_WEB")]
    web: Option<PathBuf>,
    /// The relay's peer id [default: essaim-relay-<storage id>].
    #[arg(long, env = "ESSAIM_PEER_ID")]
    peer_id: Option<String>,
    /// Largest websocket message in bytes. Automerge sends a whole document
    /// in one message on first sync: this bounds document size too.
    #[arg(long, env = "ESSAIM_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024 * 1024)]
    max_message_bytes: usize,
    /// Largest document in stored bytes: a sync message that would grow a
    /// document past it is refused with an error. Keep it well under
    /// --max-message-bytes, since a first sync sends the whole document.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENT_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_document_bytes: usize,
    /// Most open websocket connections; more are answered HTTP 503.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Most documents one connection may sync; beyond, it is closed.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENTS_PER_CONNECTION", default_value_t = 1000)]
    max_documents_per_connection: usize,
    /// Most frames queued for one connection; a peer that falls further
    /// behind is disconnected (it resyncs on reconnect).
    #[arg(long, env = "ESSAIM_OUTBOUND_QUEUE_FRAMES", default_value_t = 1024)]
    outbound_queue_frames: usize,
    /// Most bytes queued for one connection (same rule).
    #[arg(long, env = "ESSAIM_OUTBOUND_QUEUE_BYTES", default_value_t = 128 * 1024 * 1024)]
    outbound_queue_bytes: usize,
    /// Seconds between keepalive pings.
    #[arg(long, env = "ESSAIM_PING_INTERVAL_SECS", default_value_t = 20)]
    ping_interval_secs: u64,
    /// Seconds of silence (no pong, no frame) after which a connection is
    /// closed as dead.
    #[arg(long, env = "ESSAIM_PING_TIMEOUT_SECS", default_value_t = 40)]
    ping_timeout_secs: u64,
    /// Seconds a new connection has to send `join`.
    #[arg(long, env = "ESSAIM_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    handshake_timeout_secs: u64,
    /// Seconds after which an unused document is unloaded from memory.
    #[arg(long, env = "ESSAIM_UNLOAD_IDLE_AFTER_SECS", default_value_t = 60)]
    unload_idle_after_secs: u64,
    /// Log filter (tracing-subscriber syntax).
    #[arg(long, env = "ESSAIM_LOG", default_value = "info")]
    log: String,
}

fn main() -> anyhow::Result<()> {
    let Command::Serve(args) = Cli::parse().command;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).context("invalid --log filter")?)
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Serve) -> anyhow::Result<()> {
    survive_file_size_limit();
    let config = server::Config {
        data_dir: args.data,
        open: args.open,
        web_dir: args.web,
        peer_id: args.peer_id,
        max_message_bytes: args.max_message_bytes,
        max_document_bytes: args.max_document_bytes,
        max_connections: args.max_connections,
        max_documents_per_connection: args.max_documents_per_connection,
        outbound_queue_frames: args.outbound_queue_frames,
        outbound_queue_bytes: args.outbound_queue_bytes,
        ping_interval: Duration::from_secs(args.ping_interval_secs.max(1)),
        ping_timeout: Duration::from_secs(args.ping_timeout_secs.max(1)),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        unload_idle_after: Duration::from_secs(args.unload_idle_after_secs),
    };
    if !config.open {
        anyhow::bail!(server::RunError::NotOpen);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr().context("no local address")?, "listening");
    server::run(listener, config, shutdown_signal()).await.context("relay failed")
}

/// By default a process that writes past its file size limit (`ulimit -f`,
/// systemd's `LimitFSIZE`) is killed by SIGXFSZ, with no word in the log.
/// Handling the signal makes the write fail with `EFBIG` instead: SQLite
/// reports the database full, and the relay stops with a clear log line,
/// as on a full disk. Must run before the storage thread writes.
fn survive_file_size_limit() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGXFSZ)) {
        Ok(mut signal) => {
            tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    tracing::error!("a write went past the file size limit (SIGXFSZ)");
                }
            });
        }
        Err(error) => tracing::warn!(%error, "cannot handle SIGXFSZ; a file size limit would kill the relay"),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
