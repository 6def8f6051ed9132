//! `essaim`: the relay binary. `serve` parses arguments, sets up logging,
//! binds, and hands over to [`server::run`] until SIGTERM or Ctrl-C; the
//! other commands create territories and manage invitations in the same
//! data directory, also while the relay runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use server::invitations::{Invitations, Role};
use sync_core::DocumentId;

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
    /// `/sync`, storing documents in SQLite. Also serves `/healthz`, the
    /// feeds and, with --web, the app at `/`; `/metrics` (Prometheus) only
    /// on --metrics-listen.
    Serve(Box<Serve>),
    /// Territories: `essaim territory create --name "…"`.
    #[command(subcommand)]
    Territory(TerritoryCommand),
    /// Creates an invitation link to a territory.
    Invite(Invite),
    /// Lists a territory's invitations (never their tokens).
    Invites(Invites),
    /// Revokes an invitation: its live connections close within seconds.
    Revoke(Revoke),
}

#[derive(Debug, Subcommand)]
enum TerritoryCommand {
    /// Creates a territory's document on the relay, and prints its id, an
    /// organiser invitation link and a resident invitation link.
    Create(CreateTerritory),
}

#[derive(Debug, clap::Args)]
struct Place {
    /// Directory holding the SQLite database (the relay's --data).
    #[arg(long, env = "ESSAIM_DATA", default_value = "./data")]
    data: PathBuf,
    /// Public address of the app, used to print links.
    #[arg(long, env = "ESSAIM_URL", default_value = "http://127.0.0.1:3030")]
    url: String,
}

#[derive(Debug, clap::Args)]
struct CreateTerritory {
    /// Name shown to residents.
    #[arg(long)]
    name: String,
    /// Kind, as in the domain model: commune, commune_nouvelle,
    /// intercommunalite_epci, pays_petr, parc_naturel_regional, quartier,
    /// bassin_de_vie, departement, autre.
    #[arg(long, default_value = "commune")]
    kind: String,
    /// INSEE code(s) of the commune(s).
    #[arg(long)]
    insee: Vec<String>,
    /// IANA time zone of its rendez-vous.
    #[arg(long, default_value = "Europe/Paris")]
    zone: String,
    /// Listed in the national feeds, and its own feeds need no token.
    #[arg(long)]
    public: bool,
    #[command(flatten)]
    place: Place,
}

#[derive(Debug, clap::Args)]
struct Invite {
    /// The territory's document id.
    #[arg(long)]
    territory: String,
    /// organiser (read-write) or resident (read-only).
    #[arg(long, value_enum)]
    role: Role,
    /// Validity, such as 30d, 12h or 90m; none by default.
    #[arg(long)]
    expires: Option<String>,
    /// A note to recognise it in `essaim invites`.
    #[arg(long)]
    label: Option<String>,
    #[command(flatten)]
    place: Place,
}

#[derive(Debug, clap::Args)]
struct Invites {
    /// The territory's document id.
    #[arg(long)]
    territory: String,
    #[command(flatten)]
    place: Place,
}

#[derive(Debug, clap::Args)]
struct Revoke {
    /// The invitation's id (first column of `essaim invites`).
    invitation: String,
    #[command(flatten)]
    place: Place,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on.
    #[arg(long, env = "ESSAIM_LISTEN", default_value = "127.0.0.1:3030")]
    listen: SocketAddr,
    /// Directory holding the SQLite database (created if missing).
    #[arg(long, env = "ESSAIM_DATA", default_value = "./data")]
    data: PathBuf,
    /// Let clients in without an invitation token, read-write on every
    /// document (development, or a trusted network).
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
    /// Largest document in operations, what it costs in memory whatever its
    /// compressed size; also what one sync message may expand to.
    #[arg(long, env = "ESSAIM_MAX_DOCUMENT_OPS", default_value_t = sync_core::DEFAULT_MAX_DOCUMENT_OPS)]
    max_document_ops: u64,
    /// Bytes of changes a document may hold in memory while a peer withholds
    /// their dependencies; a message that would pass it is refused.
    #[arg(long, env = "ESSAIM_MAX_WAITING_CHANGE_BYTES", default_value_t = sync_core::DEFAULT_MAX_WAITING_CHANGE_BYTES)]
    max_waiting_change_bytes: u64,
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
    /// Most payload bytes of websocket messages still arriving, all
    /// connections together; a frame past it closes its connection (1013,
    /// retry later).
    #[arg(long, env = "ESSAIM_MAX_INBOUND_BYTES", default_value_t = 128 * 1024 * 1024)]
    max_inbound_bytes: usize,
    /// Seconds a websocket message has from its first byte to its last,
    /// pings and pongs in between included; then its connection closes.
    #[arg(long, env = "ESSAIM_MESSAGE_TIMEOUT_SECS", default_value_t = 60)]
    message_timeout_secs: u64,
    /// Most open websocket connections from one address (an IPv6 /64);
    /// more are answered HTTP 429.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 100)]
    max_connections_per_address: usize,
    /// Most open websocket connections holding one invitation; more are
    /// answered HTTP 429.
    #[arg(long, env = "ESSAIM_MAX_CONNECTIONS_PER_INVITATION", default_value_t = 1000)]
    max_connections_per_invitation: usize,
    /// Public base URL of the relay (https://agenda.example.org), used for
    /// every absolute link in the feeds. Without it, links follow the
    /// request's Host and X-Forwarded-Proto (validated), and feeds are not
    /// publicly cacheable.
    #[arg(long, env = "ESSAIM_URL")]
    url: Option<String>,
    /// Address of a reverse proxy in front of the relay (repeat, or
    /// comma-separate in the variable): from it only, the last address of
    /// X-Forwarded-For is taken as the client's (rate limits, caps).
    #[arg(long = "trusted-proxy", env = "ESSAIM_TRUSTED_PROXY", value_delimiter = ',')]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// Address serving GET /metrics (Prometheus), e.g. 127.0.0.1:9030.
    /// Without it, no metrics are served: never on the public port.
    #[arg(long, env = "ESSAIM_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Seconds a connection has to send a request's headers.
    #[arg(long, env = "ESSAIM_HEADER_READ_TIMEOUT_SECS", default_value_t = 20)]
    header_read_timeout_secs: u64,
    /// Seconds an HTTP connection may stay without moving a byte.
    #[arg(long, env = "ESSAIM_HTTP_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    http_idle_timeout_secs: u64,
    /// Most open TCP connections, websockets included (also capped at three
    /// quarters of the open file limit, `ulimit -n`).
    #[arg(long, env = "ESSAIM_MAX_HTTP_CONNECTIONS", default_value_t = 11_264)]
    max_http_connections: usize,
    /// Most open TCP connections from one address (trusted proxies exempt).
    #[arg(long, env = "ESSAIM_MAX_HTTP_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    max_http_connections_per_address: usize,
    /// Feed documents loaded or rendered at once.
    #[arg(long, env = "ESSAIM_FEED_RENDERS", default_value_t = 2)]
    feed_renders: usize,
    /// Feed requests waiting for a render; beyond, 503 with Retry-After.
    #[arg(long, env = "ESSAIM_FEED_QUEUE", default_value_t = 32)]
    feed_queue: usize,
    /// Territories whose decoded agenda and rendered feeds stay cached.
    #[arg(long, env = "ESSAIM_FEED_CACHE_DOCUMENTS", default_value_t = 64)]
    feed_cache_documents: usize,
    /// Log filter (tracing-subscriber syntax).
    #[arg(long, env = "ESSAIM_LOG", default_value = "info")]
    log: String,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).context("invalid --log filter")?)
                .init();
            let runtime = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
            runtime.block_on(serve(*args))
        }
        Command::Territory(TerritoryCommand::Create(args)) => create_territory(args),
        Command::Invite(args) => invite(args),
        Command::Invites(args) => list_invites(args),
        Command::Revoke(args) => revoke(args),
    }
}

fn create_territory(args: CreateTerritory) -> anyhow::Result<()> {
    let profil = serde_json::json!({
        "nom": args.name,
        "type": args.kind,
        "codes": { "insee": args.insee },
        "fuseau": args.zone,
        "visibilite": if args.public { "public" } else { "prive" },
    });
    let profil: sync_core::agenda::Profil = serde_json::from_value(profil).context("invalid --kind")?;
    let doc = server::create_territory(&args.place.data, profil)?;
    let invitations = Invitations::open(&args.place.data)?;
    println!("territoire: {doc}");
    for (role, label) in [(Role::Organiser, "organisateurs"), (Role::Resident, "habitants")] {
        let (_, token) = invitations.create(&doc, role, Some(label), None, now(), random()?)?;
        println!("lien {label}: {}", link(&args.place.url, &doc, role, &token));
    }
    Ok(())
}

fn invite(args: Invite) -> anyhow::Result<()> {
    // Validity first: a bad one is refused before anything is opened.
    let validity = args.expires.as_deref().map(server::invitations::parse_validity).transpose()?;
    let doc: DocumentId = args.territory.parse().context("invalid --territory")?;
    let expires_at = validity.map(|ms| now().saturating_add(ms));
    let invitations = Invitations::open(&args.place.data)?;
    anyhow::ensure!(
        invitations.territories()?.contains(&doc),
        "no territory {doc} on this relay (create it with `essaim territory create`)"
    );
    let (invitation, token) =
        invitations.create(&doc, args.role, args.label.as_deref(), expires_at, now(), random()?)?;
    println!("invitation: {}", invitation.id);
    println!("lien: {}", link(&args.place.url, &doc, args.role, &token));
    Ok(())
}

fn list_invites(args: Invites) -> anyhow::Result<()> {
    let doc: DocumentId = args.territory.parse().context("invalid --territory")?;
    let now = now();
    for i in Invitations::open(&args.place.data)?.list(&doc)? {
        let state = match (i.revoked_at, i.expires_at) {
            (Some(_), _) => "révoquée".to_owned(),
            (None, Some(t)) if t <= now => "expirée".to_owned(),
            (None, Some(t)) => format!("valide, expire dans {} h", (t - now) / 3_600_000),
            (None, None) => "valide".to_owned(),
        };
        let role = match i.role {
            Role::Organiser => "organiser",
            Role::Resident => "resident",
        };
        println!("{}\t{role}\t{state}\t{}", i.id, i.label.unwrap_or_default());
    }
    Ok(())
}

fn revoke(args: Revoke) -> anyhow::Result<()> {
    anyhow::ensure!(
        Invitations::open(&args.place.data)?.revoke(&args.invitation, now())?,
        "no invitation {}",
        args.invitation
    );
    println!("invitation {} révoquée", args.invitation);
    Ok(())
}

/// The PWA's link: it stores the token, then opens the territory. The
/// role in it only shapes the screens; the relay enforces it.
fn link(url: &str, doc: &DocumentId, role: Role, token: &str) -> String {
    let role = match role {
        Role::Organiser => "organisateur",
        Role::Resident => "habitant",
    };
    format!("{}/#/territoire/{doc}/invitation/{role}/{token}", url.trim_end_matches('/'))
}

fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn random() -> anyhow::Result<[u8; 24]> {
    let mut bytes = [0; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(bytes)
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
        max_document_ops: args.max_document_ops,
        max_waiting_change_bytes: args.max_waiting_change_bytes,
        max_connections: args.max_connections,
        max_documents_per_connection: args.max_documents_per_connection,
        outbound_queue_frames: args.outbound_queue_frames,
        outbound_queue_bytes: args.outbound_queue_bytes,
        ping_interval: Duration::from_secs(args.ping_interval_secs.max(1)),
        ping_timeout: Duration::from_secs(args.ping_timeout_secs.max(1)),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        unload_idle_after: Duration::from_secs(args.unload_idle_after_secs),
        max_inbound_bytes: args.max_inbound_bytes,
        message_timeout: Duration::from_secs(args.message_timeout_secs.max(1)),
        max_connections_per_address: args.max_connections_per_address,
        max_connections_per_invitation: args.max_connections_per_invitation,
        public_url: args.url,
        trusted_proxies: args.trusted_proxy,
        metrics_listen: args.metrics_listen,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
        http_idle_timeout: Duration::from_secs(args.http_idle_timeout_secs.max(1)),
        max_http_connections: args.max_http_connections,
        max_http_connections_per_address: args.max_http_connections_per_address,
        feed_renders: args.feed_renders,
        feed_queue: args.feed_queue,
        feed_cache_documents: args.feed_cache_documents,
    };
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
