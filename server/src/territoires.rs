//! Creating a territory from the app, by the relay's policy (`--creation`):
//! `GET /territoires/creation` says the policy, `POST /territoires`
//! registers a territory (`ouverte`) or records a candidature
//! (`sur-candidature`), `GET /candidatures/{id}` says where a candidature
//! stands.
//!
//! `ouverte`: the device made the document and a new organiser secret; it
//! sends the document's id and `cle`, the SHA-256 of the secret's text.
//! The relay records the territory and an organiser invitation whose
//! secret hash is `cle`, and answers the invitation's id: the device's
//! token is `<id>.<its secret>`, with which it uploads its document over
//! `/sync`. The same (document, cle) sent again answers the same.
//!
//! Hostile by default: the body is at most [`MAX_BODY_BYTES`] of JSON,
//! every field is checked ([`valider`]) before anything is stored, each
//! refusal is a French [`HttpError`] and stores nothing, and creations are
//! limited per client address ([`Recent`]) and candidatures waiting per
//! address and in all, so that anonymous requests cannot fill the disk.
//!
//! Does not: create documents (a device does, or `candidatures::accept`),
//! or decide who may sync them (the gate does, from the invitation).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sync_core::DocumentId;
use sync_core::agenda::{Reseau, Theme, TypeTerritoire};

use crate::app::AppState;
use crate::candidatures::{CREATOR_LABEL, Candidatures, Demande, Etat};
use crate::config::Creation;
use crate::error::{HttpError, Source};
use crate::invitations::{Invitations, NewInvitation, Role};
use crate::store::{Storage, StoreError};

/// Largest `POST /territoires` body.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most creations (registrations and candidatures) per address and
/// [`WINDOW`].
pub(crate) const MAX_PER_WINDOW: usize = 10;
/// The window of [`MAX_PER_WINDOW`].
pub(crate) const WINDOW: Duration = Duration::from_secs(3600);
/// Most candidatures waiting from one address.
pub(crate) const MAX_PENDING_PER_ADDRESS: u64 = 20;
/// Most candidatures waiting in all.
pub(crate) const MAX_PENDING: u64 = 1000;
/// Most creations per [`WINDOW`] from all addresses together: what many
/// addresses (an IPv6 /48 holds 65,536 /64s) can add to the tables in an
/// hour, and so what [`Recent`] remembers.
pub(crate) const MAX_ALL_PER_WINDOW: usize = 1000;

const MAX_NOM_CHARS: usize = 120;
const MAX_CONTACT_CHARS: usize = 200;
const MAX_MOTIVATION_CHARS: usize = 2000;

/// What the routes share: the policy, the candidatures table and the
/// recent creations per address.
pub(crate) struct Creations {
    pub(crate) policy: Creation,
    /// `--open`: every device writes every document already, so a document
    /// stored before its registration (synced the moment it was created)
    /// may still be registered.
    open: bool,
    candidatures: Mutex<Candidatures>,
    recent: Mutex<Recent>,
}

impl Creations {
    pub(crate) fn new(policy: Creation, open: bool, candidatures: Candidatures) -> Creations {
        Creations { policy, open, candidatures: Mutex::new(candidatures), recent: Mutex::new(Recent::default()) }
    }
}

/// When each address, and all together, created something within
/// [`WINDOW`]. Bounded: at most [`MAX_ALL_PER_WINDOW`] instants in all
/// (addresses with none left are forgotten).
#[derive(Default)]
struct Recent {
    by_address: HashMap<IpAddr, VecDeque<Instant>>,
    all: VecDeque<Instant>,
}

impl Recent {
    /// The 429 (with the seconds to wait) if `address` must wait before it
    /// may create again: it made [`MAX_PER_WINDOW`] creations in the
    /// window, or everyone together [`MAX_ALL_PER_WINDOW`].
    fn wait(&mut self, address: IpAddr, now: Instant) -> Option<HttpError> {
        let expired = |t: &Instant| now.duration_since(*t) >= WINDOW;
        while self.all.front().is_some_and(expired) {
            self.all.pop_front();
        }
        self.by_address.retain(|_, times| {
            while times.front().is_some_and(expired) {
                times.pop_front();
            }
            !times.is_empty()
        });
        let full = |times: &VecDeque<Instant>, max: usize| {
            let oldest = times.front().filter(|_| times.len() >= max)?;
            Some((WINDOW - now.duration_since(*oldest)).as_secs().max(1))
        };
        let mine = self.by_address.get(&address).and_then(|times| full(times, MAX_PER_WINDOW));
        let message = "trop de créations de territoire depuis cette adresse\u{a0}: réessayez plus tard";
        let mine = mine.map(|retry_after| HttpError::TropDeCreations { message, retry_after });
        mine.or_else(|| {
            let message = "trop de créations de territoire sur ce relais en ce moment\u{a0}: réessayez plus tard";
            full(&self.all, MAX_ALL_PER_WINDOW).map(|retry_after| HttpError::TropDeCreations { message, retry_after })
        })
    }

    /// A creation by `address` at `now` (after [`Recent::wait`] said none).
    fn record(&mut self, address: IpAddr, now: Instant) {
        self.by_address.entry(address).or_default().push_back(now);
        self.all.push_back(now);
    }
}

/// The routes, merged into the relay's router.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/territoires/creation", get(politique))
        .route("/territoires", post(creer))
        .route("/candidatures/{id}", get(candidature))
}

#[derive(Serialize)]
struct Politique {
    politique: Creation,
}

/// `GET /territoires/creation`.
async fn politique(State(state): State<AppState>) -> Json<Politique> {
    Json(Politique { politique: state.creations.policy })
}

/// The body of `POST /territoires`, as sent; [`valider`] checks it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corps {
    #[serde(default)]
    document: Option<String>,
    cle: String,
    nom: String,
    #[serde(rename = "type")]
    type_territoire: String,
    #[serde(default)]
    insee: Vec<String>,
    #[serde(default)]
    portes_entree: Vec<String>,
    #[serde(default)]
    reseaux: Vec<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    motivation: Option<String>,
}

/// What `POST /territoires` and `GET /candidatures/{id}` answer.
#[derive(Debug, Serialize)]
struct Reponse {
    #[serde(flatten)]
    etat: Etat,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidature: Option<String>,
}

/// `POST /territoires`.
async fn creer(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, HttpError> {
    let policy = state.creations.policy;
    if policy == Creation::Fermee {
        return Err(HttpError::CreationFermee);
    }
    let client = crate::slots::address_key(state.gate.client_address(from, request.headers()));
    crate::app::exiger_json(request.headers())?;
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| HttpError::TropVolumineux(MAX_BODY_BYTES / 1024))?;
    let corps: Corps = serde_json::from_slice(&body).map_err(|e| {
        HttpError::Invalide(format!(
            "demande illisible (ligne {}, colonne {})\u{a0}: un objet JSON avec cle, nom, type et insee est attendu",
            e.line(),
            e.column()
        ))
    })?;
    let (document, cle, demande) = valider(corps, policy)?;
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| HttpError::Unavailable(Source::Creation, e.to_string()))?;
    let now_ms = crate::hub::now().0 as i64;
    let state2 = state.clone();
    let done = tokio::task::spawn_blocking(move || {
        let creations = &state2.creations;
        match document {
            Some(doc) => {
                let invitations = state2.invitations.lock().unwrap_or_else(|p| p.into_inner());
                let stored = !creations.open && document_stored(&state2.storage, &doc).map_err(unavailable)?;
                register(&invitations, stored, &creations.recent, client, &doc, &cle, id, now_ms)
            }
            None => {
                let candidatures = creations.candidatures.lock().unwrap_or_else(|p| p.into_inner());
                submit(&candidatures, &creations.recent, client, &demande, &cle, id, now_ms)
            }
        }
    })
    .await;
    let (status, reponse) = match done {
        Ok(result) => result?,
        Err(panic) => return Err(HttpError::Unavailable(Source::Creation, panic.to_string())),
    };
    Ok((status, Json(reponse)).into_response())
}

/// Whether anything is stored for `doc` where the relay keeps documents (a
/// document some device already uploaded, or the relay created).
fn document_stored(storage: &Storage, doc: &DocumentId) -> Result<bool, StoreError> {
    Ok(!storage.reader()?.sizes(doc)?.is_empty())
}

/// `ouverte`: the territory and its creator's invitation, or what was
/// recorded for the same (document, cle). `stored`: the document is in
/// `kv` already (and the relay is not `--open`).
#[expect(clippy::too_many_arguments, reason = "one call site, each argument named")]
fn register(
    invitations: &Invitations,
    stored: bool,
    recent: &Mutex<Recent>,
    client: IpAddr,
    doc: &DocumentId,
    cle: &[u8],
    id: [u8; 8],
    now_ms: i64,
) -> Result<(StatusCode, Reponse), HttpError> {
    let acceptee = |invitation: String| Reponse {
        etat: Etat::Acceptee { territoire: doc.to_string(), invitation },
        candidature: None,
    };
    if let Some(invitation) = invitations.find_by_hash(doc, cle).map_err(unavailable)? {
        // A registration cut short between its two rows ends here.
        invitations.add_territory(doc, now_ms).map_err(unavailable)?;
        return Ok((StatusCode::OK, acceptee(invitation)));
    }
    if stored || invitations.territories().map_err(unavailable)?.contains(doc) {
        return Err(HttpError::DejaPresent);
    }
    let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if let Some(refusal) = recent.wait(client, now) {
        return Err(refusal);
    }
    let new = NewInvitation {
        territory: doc,
        role: Role::Organisateur,
        label: Some(CREATOR_LABEL),
        expires_at: None,
        now: now_ms,
    };
    let invitation = invitations.create_from_hash(new, id, cle).map_err(unavailable)?;
    invitations.add_territory(doc, now_ms).map_err(unavailable)?;
    recent.record(client, now);
    tracing::info!(territory = %doc, "territory registered from the app");
    Ok((StatusCode::CREATED, acceptee(invitation.id)))
}

/// `sur-candidature`: a new candidature, or the one made with this cle.
fn submit(
    candidatures: &Candidatures,
    recent: &Mutex<Recent>,
    client: IpAddr,
    demande: &Demande,
    cle: &[u8],
    id: [u8; 8],
    now_ms: i64,
) -> Result<(StatusCode, Reponse), HttpError> {
    let en_attente = |id: String| Reponse { etat: Etat::EnAttente, candidature: Some(id) };
    if let Some(id) = candidatures.find_by_cle(cle).map_err(unavailable)? {
        return Ok((StatusCode::ACCEPTED, en_attente(id)));
    }
    let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if let Some(refusal) = recent.wait(client, now) {
        return Err(refusal);
    }
    let address = client.to_string();
    if candidatures.pending_count(Some(&address)).map_err(unavailable)? >= MAX_PENDING_PER_ADDRESS {
        return Err(HttpError::TropDeCreations {
            message: "trop de candidatures en attente depuis cette adresse\u{a0}: réessayez plus tard",
            retry_after: WINDOW.as_secs(),
        });
    }
    if candidatures.pending_count(None).map_err(unavailable)? >= MAX_PENDING {
        return Err(HttpError::TropDeCreations {
            message: "trop de candidatures en attente sur ce relais\u{a0}: réessayez plus tard",
            retry_after: WINDOW.as_secs(),
        });
    }
    let id = candidatures.submit(id, demande, cle, &address, now_ms).map_err(unavailable)?;
    recent.record(client, now);
    tracing::info!(candidature = %id, "candidature recorded");
    Ok((StatusCode::ACCEPTED, en_attente(id)))
}

/// A 503: the tables could not be read or written.
fn unavailable(error: crate::StoreError) -> HttpError {
    HttpError::Unavailable(Source::Creation, error.to_string())
}

/// `GET /candidatures/{id}`: where it stands; 404 for an unknown id.
async fn candidature(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, HttpError> {
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(HttpError::PasDeCandidature);
    }
    let creations = state.creations.clone();
    let found =
        tokio::task::spawn_blocking(move || creations.candidatures.lock().unwrap_or_else(|p| p.into_inner()).get(&id))
            .await;
    let candidature = HttpError::or_unavailable(Source::Creation, found)?.ok_or(HttpError::PasDeCandidature)?;
    Ok(Json(Reponse { etat: candidature.etat, candidature: None }).into_response())
}

/// Checks every field of a body: the document (required by `ouverte`,
/// ignored otherwise), the cle's bytes, and the demande.
fn valider(corps: Corps, policy: Creation) -> Result<(Option<DocumentId>, Vec<u8>, Demande), HttpError> {
    let invalide = |message: String| HttpError::Invalide(message);
    let document = match (policy, corps.document) {
        (Creation::Ouverte, None) => return Err(invalide("`document` est obligatoire sur ce relais".into())),
        (Creation::Ouverte, Some(doc)) => Some(
            doc.parse::<DocumentId>()
                .map_err(|_| invalide("`document` n'est pas un identifiant de document valide".into()))?,
        ),
        _ => None,
    };
    let cle = parse_cle(&corps.cle)
        .ok_or_else(|| invalide("`cle` doit faire 64 caractères hexadécimaux minuscules".into()))?;
    let nom = texte("nom", &corps.nom, MAX_NOM_CHARS)?;
    if nom.is_empty() {
        return Err(invalide("`nom` ne peut pas être vide".into()));
    }
    let type_territoire: TypeTerritoire = valeur(&corps.type_territoire)
        .ok_or_else(|| invalide(format!("type de territoire inconnu\u{a0}: {}", extrait(&corps.type_territoire))))?;
    sync_core::agenda::verifier_codes_insee(&corps.insee).map_err(|e| invalide(e.to_string()))?;
    let mut insee: Vec<String> = Vec::new();
    for code in corps.insee {
        if !insee.contains(&code) {
            insee.push(code);
        }
    }
    let portes_entree: Vec<Theme> = valeurs(&corps.portes_entree, Theme::TOUS.len(), "porte d'entrée inconnue")?;
    let reseaux: Vec<Reseau> = valeurs(&corps.reseaux, Reseau::TOUS.len(), "réseau inconnu")?;
    let contact = texte("contact", corps.contact.as_deref().unwrap_or_default(), MAX_CONTACT_CHARS)?;
    let motivation = texte("motivation", corps.motivation.as_deref().unwrap_or_default(), MAX_MOTIVATION_CHARS)?;
    let demande = Demande { nom, type_territoire, insee, portes_entree, reseaux, contact, motivation };
    Ok((document, cle, demande))
}

/// `cle`'s 32 bytes, if it is 64 lowercase hex digits.
fn parse_cle(cle: &str) -> Option<Vec<u8>> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if cle.len() != 64 || !cle.bytes().all(lower_hex) {
        return None;
    }
    (0..32).map(|i| u8::from_str_radix(&cle[2 * i..2 * i + 2], 16).ok()).collect()
}

/// A text trimmed, at most `max` characters, no control character but
/// line breaks and tabs.
fn texte(champ: &str, valeur: &str, max: usize) -> Result<String, HttpError> {
    let valeur = valeur.trim();
    if valeur.chars().count() > max {
        return Err(HttpError::Invalide(format!("`{champ}` dépasse {max} caractères")));
    }
    if valeur.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(HttpError::Invalide(format!("`{champ}` contient un caractère de contrôle")));
    }
    Ok(valeur.to_owned())
}

/// The schema's enum value spelt `mot`, if any.
fn valeur<T: serde::de::DeserializeOwned>(mot: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(mot.to_owned())).ok()
}

/// Each of `mots` as the schema's enum value, once each, at most `max`.
fn valeurs<T: serde::de::DeserializeOwned + PartialEq>(
    mots: &[String],
    max: usize,
    inconnu: &str,
) -> Result<Vec<T>, HttpError> {
    let mut found = Vec::new();
    for mot in mots {
        let v: T = valeur(mot).ok_or_else(|| HttpError::Invalide(format!("{inconnu}\u{a0}: {}", extrait(mot))))?;
        if !found.contains(&v) {
            found.push(v);
        }
    }
    if found.len() > max {
        return Err(HttpError::Invalide(format!("{inconnu}\u{a0}: trop de valeurs")));
    }
    Ok(found)
}

/// At most 40 characters of a refused value, for the message.
fn extrait(valeur: &str) -> String {
    let court: String = valeur.chars().take(40).filter(|c| !c.is_control()).collect();
    format!("«\u{a0}{court}\u{a0}»")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_creates_its_share_per_window_and_no_more() {
        let mut recent = Recent::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let start = Instant::now();
        for _ in 0..MAX_PER_WINDOW {
            assert!(recent.wait(a, start).is_none());
            recent.record(a, start);
        }
        let retry = |refusal: Option<HttpError>| match refusal {
            Some(HttpError::TropDeCreations { message, retry_after }) => {
                Some((message.contains("adresse"), retry_after))
            }
            _ => None,
        };
        assert_eq!(retry(recent.wait(a, start)), Some((true, WINDOW.as_secs())));
        assert!(recent.wait(b, start).is_none());
        assert!(recent.wait(a, start + WINDOW).is_none());
        assert!(recent.by_address.is_empty() && recent.all.is_empty(), "what left the window is forgotten");
    }

    #[test]
    fn all_addresses_together_create_their_share_per_window() {
        let mut recent = Recent::default();
        let start = Instant::now();
        for n in 0..MAX_ALL_PER_WINDOW as u32 {
            let address = IpAddr::from(n.to_be_bytes());
            assert!(recent.wait(address, start).is_none());
            recent.record(address, start);
        }
        match recent.wait(IpAddr::from([192, 0, 2, 1]), start) {
            Some(HttpError::TropDeCreations { message, retry_after }) => {
                assert!(message.contains("sur ce relais"), "{message}");
                assert_eq!(retry_after, WINDOW.as_secs());
            }
            other => panic!("expected a 429, got {other:?}"),
        }
        assert!(recent.wait(IpAddr::from([192, 0, 2, 1]), start + WINDOW).is_none());
    }

    #[test]
    fn cle_is_64_lowercase_hex() {
        assert_eq!(parse_cle(&"ab".repeat(32)), Some(vec![0xab; 32]));
        for bad in ["AB".repeat(32), "ab".repeat(31), "ab".repeat(33), format!("{}zz", "ab".repeat(31))] {
            assert_eq!(parse_cle(&bad), None, "{bad}");
        }
    }
}
