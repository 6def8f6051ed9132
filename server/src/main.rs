//! `essaim`: the relay binary. `serve` parses arguments, sets up logging,
//! binds, and hands over to [`server::run`] until SIGTERM or Ctrl-C; the
//! other commands create territories and manage invitations in the same
//! storage (`--data`, or `--storage` for a cluster's PostgreSQL), also
//! while the relay runs, except `essaimer`, which
//! writes into a territory's document and so asks the running relay over
//! HTTP (its hub owns the documents in memory).

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
    /// Lists the candidatures waiting (territories proposed from the app on
    /// a `--creation sur-candidature` relay), one a line: id, date, name,
    /// kind, INSEE codes, contact, motivation.
    Candidatures(Candidatures),
    /// Accepts or refuses a candidature.
    #[command(subcommand)]
    Candidature(CandidatureCommand),
    /// Creates public demonstration territories (invented, lively, relative
    /// to today), readable by anyone; does nothing if there are some.
    Demo(Demo),
    /// Takes up another territory's public, published action as a draft of
    /// a territory (essaimage), through the running relay, which writes it
    /// so that the territory's connected devices receive it at once.
    /// Prints the draft's id and the territory's page.
    Essaimer(Essaimer),
    /// Lists the experience sheets published by this relay's territories,
    /// one a line (tab-separated): sheet, territory, title, state, national
    /// (`nationale` or `-`).
    Fiches(Candidatures),
    /// Puts a sheet on the national list, or takes it off.
    #[command(subcommand)]
    Fiche(FicheCommand),
}

#[derive(Debug, Subcommand)]
enum FicheCommand {
    /// Admits a published sheet of a public territory that lists it on
    /// the national list (`/fiches/`), at once, also while the relay runs.
    Admettre(AdmettreFiche),
    /// Takes a sheet off the national list.
    Retirer(RetirerFiche),
}

#[derive(Debug, clap::Args)]
struct AdmettreFiche {
    /// The sheet's document id (first column of `essaim fiches`).
    fiche: String,
    /// The territory it is shown under (second column of `essaim fiches`).
    #[arg(long)]
    territoire: String,
    #[command(flatten)]
    place: Candidatures,
}

#[derive(Debug, clap::Args)]
struct RetirerFiche {
    /// The sheet's document id.
    fiche: String,
    #[command(flatten)]
    place: Candidatures,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Le jeton est celui d'une invitation d'organisateur du territoire --vers : \
la fin de son lien (…/invitation/organisateur/<jeton>). Sur la machine du relais :\n\
  essaim invite --territory <vers> --role organiser --expires 1d --label coordination\n\
puis, une fois fini : essaim revoke <invitation>. Préférez ESSAIM_JETON à --jeton, \
qui se lit dans la liste des processus.")]
struct Essaimer {
    /// The action to take up, `<territoire>/<action>` as in its address
    /// `/t/<territoire>/actions/<action>.json`: a public, published action
    /// of a public territory of this relay.
    #[arg(long)]
    depuis: String,
    /// The territory (document id) the draft goes into.
    #[arg(long)]
    vers: String,
    /// The day (AAAA-MM-JJ) the copy's rhythm starts from, on its rule's
    /// first date on or after it; today in the --vers territory's time zone
    /// by default.
    #[arg(long = "a-partir-de")]
    a_partir_de: Option<String>,
    /// The running relay, in plain http on this machine only (127.0.0.1,
    /// [::1] or localhost): the token never crosses a network unencrypted.
    /// For a remote relay, run this on its machine or through an SSH
    /// tunnel (`ssh -L 3030:127.0.0.1:3030 …`).
    #[arg(long, env = "ESSAIM_RELAIS", default_value = "http://127.0.0.1:3030")]
    relais: String,
    /// An organiser token of the --vers territory (`<id>.<secret>`).
    #[arg(long, env = "ESSAIM_JETON", hide_env_values = true)]
    jeton: Option<String>,
}

#[derive(Debug, clap::Args)]
struct Candidatures {
    /// Directory holding the SQLite database (the relay's --data).
    #[arg(long, env = "ESSAIM_DATA", default_value = server::DEFAULT_DATA_DIR)]
    data: PathBuf,
}

#[derive(Debug, Subcommand)]
enum CandidatureCommand {
    /// Creates the candidature's territory on the relay, with its name,
    /// kind, INSEE codes, entry doors and networks; the applicant's app
    /// becomes its organiser. Prints the territory's id.
    Accept(AcceptCandidature),
    /// Refuses the candidature; the applicant's app shows the reason.
    /// Nothing is created.
    Refuse(RefuseCandidature),
}

#[derive(Debug, clap::Args)]
struct AcceptCandidature {
    /// The candidature's id (first column of `essaim candidatures`).
    id: String,
    /// Listed in the national feeds, and its own feeds need no token.
    #[arg(long)]
    public: bool,
    #[command(flatten)]
    place: Candidatures,
    /// The relay's --storage: the territory and its invitation go there (a
    /// cluster's PostgreSQL); the candidature itself is in --data's SQLite.
    #[arg(long, env = "ESSAIM_STORAGE", hide_env_values = true)]
    storage: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RefuseCandidature {
    /// The candidature's id (first column of `essaim candidatures`).
    id: String,
    /// Why, in a sentence the applicant reads.
    #[arg(long)]
    motif: String,
    #[command(flatten)]
    place: Candidatures,
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
    #[command(flatten)]
    stored: Stored,
}

/// Where the relay keeps its documents and its territories and invitations.
#[derive(Debug, clap::Args)]
struct Stored {
    /// Directory holding the SQLite database (the relay's --data).
    #[arg(long, env = "ESSAIM_DATA", default_value = server::DEFAULT_DATA_DIR)]
    data: PathBuf,
    /// The relay's --storage: a cluster's PostgreSQL database
    /// (postgres://user:password@host/db), which holds its documents,
    /// territories and invitations. Without it, SQLite in --data.
    #[arg(long, env = "ESSAIM_STORAGE", hide_env_values = true)]
    storage: Option<String>,
}

impl Stored {
    /// Opens it (PostgreSQL's schema migrated if needed).
    fn open(&self) -> anyhow::Result<server::Storage> {
        server::Storage::open(self.storage.as_deref(), &self.data).context("cannot open the storage")
    }
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
    #[command(flatten)]
    stored: Stored,
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
    /// Log filter (tracing-subscriber syntax). Automerge's own spans are
    /// left out by default: it opens one at `info` on every load of
    /// changes and writes the document's whole change graph into it, a
    /// cost that grows with each territory's history.
    #[arg(long, env = "ESSAIM_LOG", default_value = "info,automerge=warn")]
    log: String,
}

/// jemalloc rather than glibc's allocator, so that the memory of documents
/// unloaded when idle goes back to the system: glibc kept it (10,000
/// documents unloaded, the relay's memory unchanged). It is built to purge
/// pages as soon as they are free (`dirty_decay_ms:0`, `muzzy_decay_ms:0`,
/// set in `.cargo/config.toml`), so no garbage stays resident under a peer
/// growing a message either. Only Rust's allocations move: the bundled
/// SQLite keeps the C library's `malloc`. Measured in docs/benchmarks.md
/// ("idle, own documents").
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
        Command::Essaimer(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            runtime.block_on(essaimer(args))
        }
        Command::Invite(args) => invite(args),
        Command::Invites(args) => list_invites(args),
        Command::Revoke(args) => revoke(args),
        Command::Candidatures(args) => list_candidatures(args),
        Command::Fiches(args) => {
            for f in server::fiches::fiches(&args.data)? {
                let titre = f.titre.split_whitespace().collect::<Vec<_>>().join(" ");
                let nationale = if f.nationale { "nationale" } else { "-" };
                println!("{}\t{}\t{titre}\t{}\t{nationale}", f.fiche, f.territoire, f.statut.libelle());
            }
            Ok(())
        }
        Command::Fiche(FicheCommand::Admettre(args)) => {
            server::fiches::admettre(&args.place.data, &args.fiche, &args.territoire, now())?;
            println!("fiche {} admise sur la liste nationale", args.fiche);
            Ok(())
        }
        Command::Fiche(FicheCommand::Retirer(args)) => {
            server::fiches::retirer(&args.place.data, &args.fiche)?;
            println!("fiche {} retirée de la liste nationale", args.fiche);
            Ok(())
        }
        Command::Candidature(CandidatureCommand::Accept(args)) => {
            let storage = server::Storage::open(args.storage.as_deref(), &args.place.data)?;
            let (doc, invitation) =
                server::candidatures::accept(&args.place.data, &storage, &args.id, args.public, now())?;
            println!("territoire: {doc}");
            println!("invitation: {invitation}");
            Ok(())
        }
        Command::Candidature(CandidatureCommand::Refuse(args)) => {
            server::candidatures::refuse(&args.place.data, &args.id, &args.motif, now())?;
            println!("candidature {} refusée", args.id);
            Ok(())
        }
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
    let storage = args.place.stored.open()?;
    let doc = server::create_territory_in(&storage, profil)?;
    let invitations = Invitations::open_for(&storage)?;
    println!("territoire: {doc}");
    for (role, label) in [(Role::Organisateur, "organisateurs"), (Role::Habitant, "habitants")] {
        let (_, token) = invitations.create(&doc, role, Some(label), None, now(), random()?)?;
        println!("lien {label}: {}", link(&args.place.url, &doc, role, &token));
    }
    Ok(())
}

fn list_territories(args: ListTerritories) -> anyhow::Result<()> {
    for t in server::listing::territories(&args.stored.open()?)? {
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
    match seed(&args.place.stored.open()?, date, args.territories, now())? {
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
    let invitations = Invitations::open_for(&args.place.stored.open()?)?;
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
    for i in Invitations::open_for(&args.place.stored.open()?)?.list(&doc)? {
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
        Invitations::open_for(&args.place.stored.open()?)?.revoke(&args.invitation, now())?,
        "no invitation {}",
        args.invitation
    );
    println!("invitation {} révoquée", args.invitation);
    Ok(())
}

fn list_candidatures(args: Candidatures) -> anyhow::Result<()> {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    for c in server::candidatures::Candidatures::open(&args.data)?.pending()? {
        let date = jiff::Timestamp::from_millisecond(c.created_at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let d = c.demande;
        println!(
            "{}\t{date}\t{}\t{}\t{}\t{}\t{}",
            c.id,
            one_line(&d.nom),
            d.type_territoire.libelle(),
            d.insee.join(","),
            one_line(&d.contact),
            one_line(&d.motivation)
        );
    }
    Ok(())
}

/// How long `essaim essaimer` waits for the relay (which waits at most
/// 30 s for its own storage).
const ESSAIMER_ATTENTE: std::time::Duration = std::time::Duration::from_secs(60);

/// `essaim essaimer`: `POST /t/<vers>/essaimage` to the running relay.
async fn essaimer(args: Essaimer) -> anyhow::Result<()> {
    use http_body_util::{BodyExt as _, Full};
    use hyper::body::Bytes;
    use hyper::header;

    // The target goes into the request's path: only a document id.
    let vers: DocumentId = args.vers.parse().context("--vers\u{a0}: l'identifiant d'un territoire est attendu")?;
    let relais = Relais::new(&args.relais)?;
    let jeton = args.jeton.as_deref().map(str::trim).filter(|j| !j.is_empty()).context(
        "jeton manquant\u{a0}: --jeton ou ESSAIM_JETON, une invitation d'organisateur du territoire --vers \
         (voir essaim essaimer --help)",
    )?;
    let mut corps = serde_json::json!({ "depuis": args.depuis });
    if let Some(jour) = &args.a_partir_de {
        corps["a_partir_de"] = jour.as_str().into();
    }
    let envoi = async {
        let stream = tokio::net::TcpStream::connect((relais.host.as_str(), relais.port)).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::post(format!("/t/{vers}/essaimage"))
            .header(header::HOST, &relais.authority)
            .header(header::AUTHORIZATION, format!("Bearer {jeton}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(corps.to_string())))?;
        let response = sender.send_request(request).await?;
        let (head, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        anyhow::Ok((head, body))
    };
    let (head, body) = tokio::time::timeout(ESSAIMER_ATTENTE, envoi)
        .await
        .map_err(|_| anyhow::anyhow!("le relais {} n'a pas répondu à temps", relais.base))?
        .with_context(|| format!("relais injoignable à {} (essaim serve tourne-t-il\u{a0}?)", relais.base))?;
    if head.status != hyper::StatusCode::CREATED {
        // The door's 401 says why in a header, for programs (the app reads
        // it too); its text is not French.
        let texte = String::from_utf8_lossy(&body).trim().to_owned();
        let message = match head.headers.get("essaim-refusal").and_then(|v| v.to_str().ok()) {
            Some("required") => "jeton absent ou mal formé (<id>.<secret>)",
            Some("unknown") => "jeton inconnu, ou qui n'est pas une invitation du territoire --vers",
            Some("revoked") => "cette invitation a été révoquée",
            Some("expired") => "cette invitation a expiré",
            Some("too-many") => "un seul jeton à la fois",
            _ => texte.as_str(),
        };
        anyhow::bail!("le relais refuse ({})\u{a0}: {message}", head.status.as_u16());
    }
    let reponse: serde_json::Value = serde_json::from_slice(&body).context("réponse illisible du relais")?;
    let action = reponse["action"].as_str().context("réponse du relais sans action")?;
    println!("action: {action}");
    println!("page: {}/t/{vers}/", relais.base);
    Ok(())
}

/// Where `essaim essaimer` reaches the relay: plain http on this machine.
#[derive(Debug)]
struct Relais {
    /// `http://<authority>`, for messages and the printed page.
    base: String,
    /// For `Host`.
    authority: String,
    host: String,
    port: u16,
}

impl Relais {
    fn new(url: &str) -> anyhow::Result<Relais> {
        let local_only = || {
            anyhow::anyhow!(
                "--relais {url:?}\u{a0}: seuls http://127.0.0.1[:port], http://[::1][:port] et \
                 http://localhost[:port] sont pris en charge, le jeton ne devant pas traverser un réseau en clair\u{a0}; \
                 pour un relais distant, lancez la commande sur sa machine ou par un tunnel SSH"
            )
        };
        let authority = url.strip_prefix("http://").ok_or_else(local_only)?.trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().map_err(|_| local_only())?),
            _ => (authority, 80),
        };
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(local_only());
        }
        Ok(Relais { base: format!("http://{authority}"), authority: authority.to_owned(), host: host.to_owned(), port })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_is_reached_on_this_machine_only() {
        let ok = |url: &str| Relais::new(url).map(|r| (r.base, r.authority, r.host, r.port)).ok();
        let attendu = |base: &str, authority: &str, host: &str, port| {
            Some((base.to_owned(), authority.to_owned(), host.to_owned(), port))
        };
        assert_eq!(ok("http://127.0.0.1:3030"), attendu("http://127.0.0.1:3030", "127.0.0.1:3030", "127.0.0.1", 3030));
        assert_eq!(ok("http://localhost:8080/"), attendu("http://localhost:8080", "localhost:8080", "localhost", 8080));
        assert_eq!(ok("http://[::1]:3030"), attendu("http://[::1]:3030", "[::1]:3030", "::1", 3030));
        assert_eq!(ok("http://[::1]"), attendu("http://[::1]", "[::1]", "::1", 80));
        assert_eq!(ok("http://127.0.0.2"), attendu("http://127.0.0.2", "127.0.0.2", "127.0.0.2", 80));
        for refuse in [
            "https://127.0.0.1:3030",
            "127.0.0.1:3030",
            "http://agenda.example.org",
            "http://192.168.1.10:3030",
            "http://127.0.0.1@evil.example:80",
            "http://127.0.0.1:3030/chemin",
            "http://127.0.0.1:port",
            "http://[::2]:3030",
        ] {
            assert!(Relais::new(refuse).is_err(), "{refuse}");
        }
    }
}
