//! Residents volunteering over HTTP: the one change a resident makes,
//! applied by the relay as its own, since residents' sync is read-only.
//!
//! - `POST /t/{doc}/volontaires`, body `{"action","besoin","volontaire",
//!   "nom","message"?,"preuve"}`: 201 once the entry is durable, 200 if
//!   that volunteering (same id, same proof) is there already.
//! - `DELETE /t/{doc}/volontaires/{volontaire}`, body
//!   `{"action","besoin","secret"}`: 204 once the entry is gone (or was).
//!
//! Both need `Authorization: Bearer <token>` of an invitation (resident or
//! organiser) to that territory ([`crate::app::admit_bearer`]). In order: the
//! document id (404), the token (401, 429), the body (at most
//! [`BODY_MAX`] bytes, else 413), the invitation's quota ([`PAR_HEURE`]
//! requests an hour, else 429 with `Retry-After`), the JSON (400); then
//! the hub applies the request through the core
//! (`Repo::appliquer_demande`), which refuses what breaks a rule with a
//! French reason (400) and writes nothing.
//!
//! Does not: touch the document itself (the hub owns the repo) or decide
//! the rules (`sync_core::agenda::DemandeHabitant`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde::Deserialize;
use sync_core::DocumentId;
use sync_core::agenda::DemandeHabitant;
use tokio::sync::oneshot;

use crate::app::{AppState, admit_bearer};
use crate::error::HttpError;
use crate::hub::{Demande, DemandeFaite, DemandeRatee, Event};

/// Largest request body, in bytes: a name, a message of 500 characters
/// (up to 4 bytes each in UTF-8, 2 KB) and ids fit.
pub(crate) const BODY_MAX: usize = 4 * 1024;
/// Requests one invitation may make per [`FENETRE`].
pub(crate) const PAR_HEURE: u32 = 20;
/// The quota's window.
pub(crate) const FENETRE: Duration = Duration::from_secs(3600);
/// How long a request waits for the hub (a load, a commit) before 503.
const ATTENTE_MAX: Duration = Duration::from_secs(30);

/// The routes, under `/t/{id}/` like the feeds (same parameter name, so
/// the router accepts both).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{id}/volontaires", post(proposer))
        .route("/t/{id}/volontaires/{volontaire}", delete(retirer))
}

/// Requests per invitation in the current window: a fixed window per
/// invitation, forgotten once over. Also the essaimage API's, with its own
/// count (`crate::essaimage_api::PAR_HEURE`).
pub(crate) struct Quota {
    /// Requests one invitation may make per [`FENETRE`].
    par_fenetre: u32,
    fenetres: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Quota {
    /// `par_fenetre` requests per invitation and [`FENETRE`].
    pub(crate) fn new(par_fenetre: u32) -> Quota {
        Quota { par_fenetre, fenetres: Mutex::default() }
    }

    /// Counts one request of `invitation`; past the quota, how long until
    /// its window ends.
    pub(crate) fn prendre(&self, invitation: &str) -> Result<(), Duration> {
        let mut fenetres = self.fenetres.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        fenetres.retain(|_, (debut, _)| now.duration_since(*debut) < FENETRE);
        let (debut, compte) = fenetres.entry(invitation.to_owned()).or_insert((now, 0));
        if *compte >= self.par_fenetre {
            return Err(FENETRE.saturating_sub(now.duration_since(*debut)));
        }
        *compte += 1;
        Ok(())
    }
}

/// The body of `POST /t/{doc}/volontaires`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposition {
    action: String,
    besoin: String,
    volontaire: String,
    nom: String,
    #[serde(default)]
    message: Option<String>,
    preuve: String,
}

/// The body of `DELETE /t/{doc}/volontaires/{volontaire}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrait {
    action: String,
    besoin: String,
    secret: String,
}

async fn proposer(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    UrlPath(doc): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let (doc, invitation, bytes) = admettre(&state, from, &headers, &doc, body).await?;
    let p: Proposition = lire_json(&bytes)?;
    let volontaire = p.volontaire.clone();
    let demande = DemandeHabitant::SePropose {
        action_id: p.action,
        besoin_id: p.besoin,
        volontaire_id: p.volontaire,
        nom: p.nom,
        message: p.message,
        preuve: p.preuve,
    };
    let status = match demander(&state, doc, invitation, demande).await? {
        DemandeFaite::Ecrite => StatusCode::CREATED,
        DemandeFaite::DejaFaite => StatusCode::OK,
    };
    Ok((status, axum::Json(serde_json::json!({ "volontaire": volontaire }))).into_response())
}

async fn retirer(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    UrlPath((doc, volontaire)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let (doc, invitation, bytes) = admettre(&state, from, &headers, &doc, body).await?;
    let r: Retrait = lire_json(&bytes)?;
    let demande = DemandeHabitant::SeRetire {
        action_id: r.action,
        besoin_id: r.besoin,
        volontaire_id: volontaire,
        secret: r.secret,
    };
    demander(&state, doc, invitation, demande).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The document, the invitation and the body, once the id, the token,
/// the size and the quota passed.
async fn admettre(
    state: &AppState,
    from: SocketAddr,
    headers: &HeaderMap,
    doc: &str,
    body: Body,
) -> Result<(DocumentId, String, axum::body::Bytes), HttpError> {
    let doc: DocumentId = doc.parse().map_err(|_| HttpError::TerritoireInconnu)?;
    let grant = admit_bearer(state, from, headers, &doc).await?;
    let bytes = axum::body::to_bytes(body, BODY_MAX).await.map_err(|_| HttpError::DemandeTropGrande)?;
    state.quota.prendre(&grant.invitation).map_err(|attente| HttpError::TropDeDemandes(attente.as_secs().max(1)))?;
    Ok((doc, grant.invitation, bytes))
}

fn lire_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(bytes).map_err(|_| HttpError::DemandeIllisible)
}

/// Hands the request to the hub and waits for its answer (after the
/// commit, for a write).
async fn demander(
    state: &AppState,
    doc: DocumentId,
    invitation: String,
    demande: DemandeHabitant,
) -> Result<DemandeFaite, HttpError> {
    let (reply, answer) = oneshot::channel();
    let event = Event::Demande(Box::new(Demande { doc, auteur: invitation, demande, reply }));
    state.hub.send(event).await.map_err(|_| HttpError::RelaisIndisponible("the hub stopped".into()))?;
    match tokio::time::timeout(ATTENTE_MAX, answer).await {
        Ok(Ok(Ok(faite))) => Ok(faite),
        Ok(Ok(Err(DemandeRatee::Refusee(refus)))) => Err(HttpError::DemandeRefusee(refus.to_string())),
        Ok(Ok(Err(DemandeRatee::Indisponible(why)))) => Err(HttpError::RelaisIndisponible(why)),
        Ok(Err(_)) => Err(HttpError::RelaisIndisponible("the hub dropped the request".into())),
        Err(_) => Err(HttpError::RelaisIndisponible("no answer from the hub in time".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_counts_per_invitation() {
        let quota = Quota::new(PAR_HEURE);
        for _ in 0..PAR_HEURE {
            quota.prendre("a").expect("within the quota");
        }
        let attente = quota.prendre("a").expect_err("over the quota");
        assert!(attente <= FENETRE && attente > FENETRE - Duration::from_secs(60), "{attente:?}");
        quota.prendre("b").expect("another invitation has its own");
    }
}
