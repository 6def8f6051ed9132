//! `essaim`: the relay binary. `serve` parses arguments, sets up logging,
//! binds, and hands over to [`server::run`] until SIGTERM or Ctrl-C; the
//! other commands create territories and manage invitations in the same
//! data directory, also while the relay runs.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Creates public demonstration territories (invented, lively, relative
    /// to today), readable by anyone; does nothing if there are some.
    Demo(Demo),
}

#[derive(Debug, Subcommand)]
enum TerritoryCommand {
    /// Creates a territory's document on the relay, and prints its id, an
    /// organiser invitation link and a resident invitation link.
    Create(CreateTerritory),
    /// Lists the territories: id, name, kind, public, demonstration
    /// (tab-separated).
    List(ListTerritories),
}

#[derive(Debug, clap::Args)]
struct ListTerritories {
    /// Directory holding the SQLite database (the relay's --data).
    #[arg(long, env = "ESSAIM_DATA", default_value = server::DEFAULT_DATA_DIR)]
    data: PathBuf,
}

#[derive(Debug, clap::Args)]
struct Demo {
    /// The day the agenda is made for (AAAA-MM-JJ); today by default.
    #[arg(long)]
    date: Option<String>,
    /// How many territories (a rural commune, an urban quartier, an
    /// intercommunality, an overseas commune, then others).
    #[arg(long = "territoires", default_value_t = 3)]
    territories: usize,
    #[command(flatten)]
    place: Place,
}

#[derive(Debug, clap::Args)]
struct Place {
    /// Directory holding the SQLite database (the relay's --data).
    #[arg(long, env = "ESSAIM_DATA", default_value = server::DEFAULT_DATA_DIR)]
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
    #[command(flatten)]
    config: server::Config,
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
        Command::Territory(TerritoryCommand::List(args)) => list_territories(args),
        Command::Demo(args) => demo(args),
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
    for (role, label) in [(Role::Organisateur, "organisateurs"), (Role::Habitant, "habitants")] {
        let (_, token) = invitations.create(&doc, role, Some(label), None, now(), random()?)?;
        println!("lien {label}: {}", link(&args.place.url, &doc, role, &token));
    }
    Ok(())
}

fn list_territories(args: ListTerritories) -> anyhow::Result<()> {
    for t in server::listing::territories(&args.data)? {
        // The schema's value (`intercommunalite_epci`), as `--kind` takes it.
        let kind = t.profil.as_ref().and_then(|p| serde_json::to_value(p.type_territoire).ok());
        let kind = kind.as_ref().and_then(|k| k.as_str()).unwrap_or_default();
        println!("{}\t{}\t{kind}\t{}\t{}", t.doc, t.name(), t.public(), t.demonstration);
    }
    Ok(())
}

fn demo(args: Demo) -> anyhow::Result<()> {
    use server::demo::{Outcome, seed};
    let date = match args.date.as_deref() {
        Some(text) => text.parse().with_context(|| format!("invalid --date {text:?}: use AAAA-MM-JJ"))?,
        // Today in Paris: every place's daily rendez-vous falls on that day.
        None => sync_core::rythme::jiff::Timestamp::now()
            .to_zoned_datetime(
                sync_core::rythme::fuseau(sync_core::rythme::FUSEAU_PAR_DEFAUT).context("no Paris zone")?,
            )
            .date(),
    };
    match seed(&args.place.data, date, args.territories, now())? {
        Outcome::AlreadyThere(existing) => {
            println!("territoires de démonstration déjà présents, aucun créé :");
            for t in existing {
                println!("territoire: {}\t{}", t.doc, t.name());
            }
        }
        Outcome::Created(created) => {
            for t in created {
                println!("territoire: {}\t{}", t.doc, t.name);
                println!(
                    "lien organisateurs: {}",
                    link(&args.place.url, &t.doc, Role::Organisateur, &t.organiser_token)
                );
                println!("lien habitants: {}", link(&args.place.url, &t.doc, Role::Habitant, &t.resident_token));
            }
        }
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
        println!("{}\t{}\t{state}\t{}", i.id, i.role.as_str(), i.label.unwrap_or_default());
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
    format!("{}/#/territoire/{doc}/invitation/{}/{token}", url.trim_end_matches('/'), role.mot())
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
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr().context("no local address")?, "listening");
    server::run(listener, args.config, shutdown_signal()).await.context("relay failed")
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
