//! The invitations of a territory over HTTP, for its organisers: what the
//! app's "Inviter" screen lists, creates and revokes.
//!
//! - `GET /t/{id}/invitations`: every invitation of the territory, oldest
//!   first, without secrets.
//! - `POST /t/{id}/invitations` with `{"role", "libelle"?, "expire_dans_jours"?}`:
//!   201 with the invitation and its token (shown this once; the app builds
//!   the link from its own origin).
//! - `DELETE /t/{id}/invitations/{invitation}`: 204; an invitation of
//!   another territory is 404, like a missing one. The revocation watcher
//!   (`lib.rs`) closes its live connections within seconds.
//!
//! Every request needs an organiser's token of that territory
//! (`Authorization: Bearer`, checked by `app::admit_bearer`, open relay or
//! not). Bodies are bounded and validated before anything is stored;
//! creations are limited per territory (live invitations, and per hour).
//! Times are milliseconds since the epoch.
//!
//! Does not: decide access (`gate::access`), or keep anything outside the
//! invitations table.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use sync_core::DocumentId;

use crate::app::{AppState, admit_bearer};
use crate::error::{HttpError, Source};
use crate::invitations::{Grant, Invitation, Role};

/// Largest request body, refused (413) before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// Longest validity, in days (ten years; leave it out for no expiry).
pub const MAX_DAYS: u32 = 3650;
/// Most valid invitations a territory may hold.
pub const MAX_LIVE: u64 = 1000;
/// Most invitations a territory's organisers may create in an hour.
pub const MAX_PER_HOUR: u64 = 50;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Why a request of this API is refused. The text is the response's body,
/// French: the app shows it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvitationsApiError {
    /// 403: a resident's token.
    #[error("Seuls les organisateurs gèrent les invitations.")]
    NotOrganiser,
    /// 413: a body over [`MAX_BODY_BYTES`] (or one that could not be read).
    #[error("Requête trop grande\u{a0}: 16 Kio au plus.")]
    TooLarge,
    /// 400: not the JSON object expected.
    #[error("Requête invalide\u{a0}: un objet JSON {{\"role\", \"libelle\"?, \"expire_dans_jours\"?}} est attendu.")]
    Malformed,
    /// 400: a role other than `organisateur` or `habitant`.
    #[error("Rôle inconnu\u{a0}: «\u{a0}organisateur\u{a0}» ou «\u{a0}habitant\u{a0}».")]
    Role,
    /// 400: a label too long or with control characters.
    #[error("Le libellé doit tenir en 80 caractères, sans retour à la ligne.")]
    Label,
    /// 400: a validity outside 1 to [`MAX_DAYS`] days.
    #[error("La durée de validité doit être comprise entre 1 et 3650 jours.")]
    Days,
    /// 404: no invitation of this territory has that id.
    #[error("Aucune invitation de ce territoire ne porte cet identifiant.")]
    NoSuchInvitation,
    /// 429: [`MAX_LIVE`] valid invitations already.
    #[error("Ce territoire a déjà 1000 invitations valides\u{a0}: révoquez-en avant d'en créer.")]
    TooManyLive,
    /// 429: [`MAX_PER_HOUR`] creations in the last hour.
    #[error("Trop d'invitations créées en une heure\u{a0}: réessayez plus tard.")]
    TooManyPerHour,
}

impl InvitationsApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            InvitationsApiError::NotOrganiser => StatusCode::FORBIDDEN,
            InvitationsApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            InvitationsApiError::Malformed
            | InvitationsApiError::Role
            | InvitationsApiError::Label
            | InvitationsApiError::Days => StatusCode::BAD_REQUEST,
            InvitationsApiError::NoSuchInvitation => StatusCode::NOT_FOUND,
            InvitationsApiError::TooManyLive | InvitationsApiError::TooManyPerHour => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// The routes, to merge into the relay's router. `{id}` is named as in the
/// feeds' `/t/{id}/{file}`, which shares the prefix.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{id}/invitations", get(list).post(create))
        .route("/t/{id}/invitations/{invitation}", delete(revoke))
}

/// An invitation as the API shows it.
#[derive(Debug, Serialize)]
struct Vue {
    id: String,
    role: &'static str,
    libelle: Option<String>,
    cree_le: i64,
    expire_le: Option<i64>,
    revoquee_le: Option<i64>,
    /// `valide`, `expiree` or `revoquee`.
    etat: &'static str,
}

impl Vue {
    fn of(invitation: Invitation, now: i64) -> Vue {
        let etat = match (invitation.revoked_at, invitation.expires_at) {
            (Some(_), _) => "revoquee",
            (None, Some(t)) if t <= now => "expiree",
            _ => "valide",
        };
        Vue {
            id: invitation.id,
            role: invitation.role.mot(),
            libelle: invitation.label,
            cree_le: invitation.created_at,
            expire_le: invitation.expires_at,
            revoquee_le: invitation.revoked_at,
            etat,
        }
    }
}

/// The body of a creation, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Demande {
    role: String,
    #[serde(default)]
    libelle: Option<String>,
    #[serde(default)]
    expire_dans_jours: Option<u32>,
}

/// A creation, validated.
#[derive(Debug, PartialEq, Eq)]
struct Creation {
    role: Role,
    libelle: Option<String>,
    jours: Option<u32>,
}

/// Parses and validates a creation's body; nothing is stored before this
/// holds.
fn creation(body: &[u8]) -> Result<Creation, InvitationsApiError> {
    let demande: Demande = serde_json::from_slice(body).map_err(|_| InvitationsApiError::Malformed)?;
    let role = match demande.role.as_str() {
        "organisateur" => Role::Organisateur,
        "habitant" => Role::Habitant,
        _ => return Err(InvitationsApiError::Role),
    };
    let libelle = demande.libelle.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if let Some(libelle) = &libelle
        && (libelle.chars().count() > MAX_LABEL_CHARS || libelle.chars().any(char::is_control))
    {
        return Err(InvitationsApiError::Label);
    }
    if demande.expire_dans_jours.is_some_and(|d| d == 0 || d > MAX_DAYS) {
        return Err(InvitationsApiError::Days);
    }
    Ok(Creation { role, libelle, jours: demande.expire_dans_jours })
}

/// The organiser's grant on the territory `id`, or the refusal: 401 from
/// the door (a token of another territory too), 403 for a resident.
async fn organiser(
    state: &AppState,
    from: std::net::SocketAddr,
    headers: &HeaderMap,
    id: &str,
) -> Result<(DocumentId, Grant), HttpError> {
    // The token is checked whatever the id: an id that is no document is
    // refused like a token of another territory (401).
    let doc = id.parse().unwrap_or_else(|_| DocumentId::from_bytes(&[0; 16]).expect("16 bytes make an id"));
    let grant = admit_bearer(state, from, headers, &doc).await?;
    if grant.role != Role::Organisateur {
        return Err(InvitationsApiError::NotOrganiser.into());
    }
    Ok((doc, grant))
}

/// Runs `read` on the invitations table, on the blocking pool.
async fn with_table<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&crate::invitations::Invitations) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, HttpError> {
    let invitations = state.invitations.clone();
    let done = tokio::task::spawn_blocking(move || read(&invitations.lock().unwrap_or_else(|p| p.into_inner()))).await;
    HttpError::or_unavailable(Source::Invitations, done)
}

async fn list(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (doc, _) = organiser(&state, from, &headers, &id).await?;
    let now = crate::hub::now().0 as i64;
    let invitations = with_table(&state, move |table| table.list(&doc)).await?;
    let vues: Vec<Vue> = invitations.into_iter().map(|i| Vue::of(i, now)).collect();
    Ok(axum::Json(vues).into_response())
}

async fn create(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let (doc, _) = organiser(&state, from, &headers, &id).await?;
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| InvitationsApiError::TooLarge)?;
    let creation = creation(&body).map_err(HttpError::from)?;
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|e| HttpError::Unavailable(Source::Invitations, e.to_string()))?;
    let now = crate::hub::now().0 as i64;
    let expires_at = creation.jours.map(|d| now + i64::from(d) * DAY_MS);
    let created = with_table(&state, move |table| {
        // Counted and created under the one lock: no two creations race
        // past a limit.
        let (live, last_hour) = table.counts(&doc, now, now - HOUR_MS)?;
        if live >= MAX_LIVE {
            return Ok(Err(InvitationsApiError::TooManyLive));
        }
        if last_hour >= MAX_PER_HOUR {
            return Ok(Err(InvitationsApiError::TooManyPerHour));
        }
        let role = creation.role;
        table.create(&doc, role, creation.libelle.as_deref(), expires_at, now, random).map(Ok)
    })
    .await?;
    let (invitation, jeton) = created.map_err(HttpError::from)?;
    tracing::info!(territory = %invitation.territory, invitation = %invitation.id, role = invitation.role.as_str(), "invitation created over HTTP");
    let answer = serde_json::json!({ "invitation": Vue::of(invitation, now), "jeton": jeton });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    Path((id, invitation)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    let (doc, grant) = organiser(&state, from, &headers, &id).await?;
    let valid = invitation.len() == 16 && invitation.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(InvitationsApiError::NoSuchInvitation.into());
    }
    let now = crate::hub::now().0 as i64;
    let target = invitation.clone();
    let revoked = with_table(&state, move |table| table.revoke_of(&doc, &target, now)).await?;
    if !revoked {
        return Err(InvitationsApiError::NoSuchInvitation.into());
    }
    tracing::info!(%invitation, by = %grant.invitation, "invitation revoked over HTTP");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creation_is_validated_before_anything_is_stored() {
        let ok = |json: &str| creation(json.as_bytes());
        assert_eq!(
            ok(r#"{"role":"habitant","libelle":"  conseil  ","expire_dans_jours":30}"#),
            Ok(Creation { role: Role::Habitant, libelle: Some("conseil".into()), jours: Some(30) })
        );
        assert_eq!(ok(r#"{"role":"organisateur","libelle":""}"#).map(|c| c.libelle), Ok(None));
        assert_eq!(ok(r#"{"role":"habitant","expire_dans_jours":3650}"#).map(|c| c.jours), Ok(Some(3650)));
        let label_80 = "é".repeat(80);
        assert!(ok(&format!(r#"{{"role":"habitant","libelle":"{label_80}"}}"#)).is_ok());
        let cases = [
            ("", InvitationsApiError::Malformed),
            ("[]", InvitationsApiError::Malformed),
            (r#"{"libelle":"x"}"#, InvitationsApiError::Malformed),
            (r#"{"role":"habitant","autre":1}"#, InvitationsApiError::Malformed),
            (r#"{"role":"habitant","expire_dans_jours":-1}"#, InvitationsApiError::Malformed),
            (r#"{"role":"habitant","expire_dans_jours":1.5}"#, InvitationsApiError::Malformed),
            (r#"{"role":"resident"}"#, InvitationsApiError::Role),
            (r#"{"role":"Organisateur"}"#, InvitationsApiError::Role),
            (r#"{"role":"habitant","libelle":"a\nb"}"#, InvitationsApiError::Label),
            (r#"{"role":"habitant","expire_dans_jours":0}"#, InvitationsApiError::Days),
            (r#"{"role":"habitant","expire_dans_jours":3651}"#, InvitationsApiError::Days),
        ];
        for (json, error) in cases {
            assert_eq!(ok(json), Err(error), "{json}");
        }
        let label_81 = "é".repeat(81);
        assert_eq!(ok(&format!(r#"{{"role":"habitant","libelle":"{label_81}"}}"#)), Err(InvitationsApiError::Label));
    }
}
