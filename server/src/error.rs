//! [`HttpError`]: every refusal and failure the relay's HTTP routes answer
//! (`/sync` before the upgrade, `/invitation`, the chunk routes, the
//! feeds, the invitations, volunteering and essaimage APIs), each turned
//! into its response in one place, as in axum's error-handling example:
//! handlers return `Result<Response, HttpError>` and use `?`.
//!
//! Bodies are one line of plain text; refusals a person reads in the app
//! or a feed reader are French where they already were. A 401 names its
//! reason in the `Essaim-Refusal` header ([`crate::gate::Refusal::code`]),
//! so the app never reads the text. Failures of the relay itself (503,
//! 500) are logged here, with what failed; the body never says more than
//! what is unavailable.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::gate::{FAILURE_WINDOW, Refusal};
use crate::slots::SlotRefusal;

/// The header naming why a request was refused with 401.
pub(crate) const REFUSAL_HEADER: &str = "essaim-refusal";

/// Seconds a feed reader is told to wait when every render slot is taken.
const FEEDS_BUSY_RETRY_SECS: &str = "2";

/// What the relay could not read, for a 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The invitations table (the token check).
    Invitations,
    /// A document's chunks (the chunk routes).
    Chunks,
    /// A territory or its read model (the feeds).
    Feed,
    /// The candidatures table, or a territory's registration.
    Creation,
}

/// Why a request gets no answer but a refusal or an error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// 400: `/sync` without a valid websocket upgrade.
    #[error("not a websocket upgrade: {0}")]
    NotWebsocket(&'static str),
    /// 401: the tokens open nothing (`Essaim-Refusal` says why).
    #[error("{0}")]
    Unauthorized(Refusal),
    /// 429 with `Retry-After`: too many failed attempts from this address.
    #[error("too many failed attempts: wait a minute")]
    TooManyAttempts,
    /// 429: too many websockets from this address or on this invitation.
    #[error("{0}")]
    TooManyOpen(SlotRefusal),
    /// 503: the relay holds all the websockets it may.
    #[error("too many connections")]
    TooManyConnections,
    /// 404 on the chunk routes: a missing document or chunk, or one the
    /// tokens do not open.
    #[error("no such document or chunk")]
    NoSuchChunk,
    /// 404 on the feeds: no territory, a private one without its token,
    /// or an unknown feed, all alike.
    #[error("aucun agenda public à cette adresse")]
    NoFeed,
    /// 503 with `Retry-After`: every feed render slot is taken and the
    /// queue is full.
    #[error("agenda occupé\u{a0}: réessayez dans un instant")]
    FeedsBusy,
    /// 403 on `POST /territoires`: the relay's policy is `fermee`.
    #[error("Ce relais ne permet pas de créer un territoire depuis l'application\u{a0}: demandez à son équipe.")]
    CreationFermee,
    /// 413: a JSON body past its limit.
    #[error("demande trop volumineuse\u{a0}: {0} Kio au plus")]
    TropVolumineux(usize),
    /// 415: a JSON route called without `Content-Type: application/json`.
    #[error("la demande doit être du JSON (Content-Type: application/json)")]
    PasDuJson,
    /// 400: a body that is not what the route takes; says what is wrong.
    #[error("{0}")]
    Invalide(String),
    /// 409: the document is already a territory, or stored, on this relay.
    #[error("ce territoire existe déjà sur ce relais")]
    DejaPresent,
    /// 429 with `Retry-After` (seconds): too many creations from this
    /// address, or too many candidatures waiting.
    #[error("{message}")]
    TropDeCreations {
        /// What the person reads.
        message: &'static str,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 404 on `GET /candidatures/{id}`.
    #[error("aucune candidature à cette adresse")]
    PasDeCandidature,
    /// 503: storage could not be read (or a task reading it panicked).
    #[error("{}", unavailable(.0))]
    Unavailable(Source, String),
    /// The invitations API's refusals (403, 413, 400, 404, 429), French.
    #[error("{0}")]
    Invitations(#[from] crate::invitations_api::InvitationsApiError),
    /// The essaimage API's refusals (403, 400, 409), French.
    #[error("{0}")]
    Essaimage(#[from] crate::essaimage_api::EssaimageApiError),
    /// 500: the token check panicked.
    #[error("internal error")]
    Internal(String),
    /// 404 on the API: not a document id.
    #[error("Territoire inconnu")]
    TerritoireInconnu,
    /// 413: a resident's request over `volontaires::BODY_MAX`.
    #[error("Demande trop grande\u{a0}: 4 Kio au plus")]
    DemandeTropGrande,
    /// 400: a resident's request that is not the JSON expected.
    #[error("Demande illisible\u{a0}: un objet JSON avec les champs attendus, et eux seuls")]
    DemandeIllisible,
    /// 400: the core refused a resident's request; its French reason.
    #[error("{0}")]
    DemandeRefusee(String),
    /// 429 with `Retry-After` (these seconds): the invitation's quota of
    /// requests is spent.
    #[error("Trop de demandes avec cette invitation\u{a0}: réessayez dans {} min", .0.div_ceil(60))]
    TropDeDemandes(u64),
    /// 503: the hub did not answer (stopping, or storage failed).
    #[error("Relais indisponible\u{a0}: réessayez dans un instant")]
    RelaisIndisponible(String),
}

impl HttpError {
    /// What a read on the blocking pool found, or a 503 for `source` if it
    /// failed or its task panicked.
    pub(crate) fn or_unavailable<T, E: std::fmt::Display>(
        source: Source,
        read: Result<Result<T, E>, tokio::task::JoinError>,
    ) -> Result<T, HttpError> {
        match read {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => Err(HttpError::Unavailable(source, error.to_string())),
            Err(panic) => Err(HttpError::Unavailable(source, panic.to_string())),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            HttpError::NotWebsocket(_) | HttpError::DemandeIllisible | HttpError::DemandeRefusee(_) => {
                StatusCode::BAD_REQUEST
            }
            HttpError::TerritoireInconnu => StatusCode::NOT_FOUND,
            HttpError::DemandeTropGrande => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::TropDeDemandes(_) => StatusCode::TOO_MANY_REQUESTS,
            HttpError::RelaisIndisponible(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            HttpError::TooManyAttempts | HttpError::TooManyOpen(_) | HttpError::TropDeCreations { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            HttpError::NoSuchChunk | HttpError::NoFeed | HttpError::PasDeCandidature => StatusCode::NOT_FOUND,
            HttpError::CreationFermee => StatusCode::FORBIDDEN,
            HttpError::TropVolumineux(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::PasDuJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::Invalide(_) => StatusCode::BAD_REQUEST,
            HttpError::DejaPresent => StatusCode::CONFLICT,
            HttpError::TooManyConnections | HttpError::FeedsBusy | HttpError::Unavailable(..) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HttpError::Invitations(refusal) => refusal.status(),
            HttpError::Essaimage(refusal) => refusal.status(),
        }
    }
}

/// The body of a 503: what is unavailable.
fn unavailable(source: &Source) -> &'static str {
    match source {
        Source::Invitations => "invitations unavailable",
        Source::Chunks => "chunks unavailable",
        Source::Feed => "agenda indisponible",
        Source::Creation => "création de territoire indisponible\u{a0}: réessayez plus tard",
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match &self {
            HttpError::Unavailable(source, error) => {
                let what = match source {
                    Source::Invitations => "cannot read the invitations",
                    Source::Chunks => "cannot read a document's chunks",
                    Source::Feed => "cannot read a feed",
                    Source::Creation => "cannot read or write the candidatures or a registration",
                };
                tracing::error!(%error, "{what}");
            }
            HttpError::Internal(panic) => tracing::error!(%panic, "the token check panicked"),
            HttpError::RelaisIndisponible(why) => tracing::warn!(%why, "a resident's request got no answer"),
            _ => {}
        }
        let mut response = (self.status(), format!("{self}\n")).into_response();
        let headers = response.headers_mut();
        match &self {
            HttpError::Unauthorized(refusal) => {
                headers.insert(HeaderName::from_static(REFUSAL_HEADER), HeaderValue::from_static(refusal.code()));
            }
            HttpError::TooManyAttempts => {
                if let Ok(value) = HeaderValue::from_str(&FAILURE_WINDOW.as_secs().to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            HttpError::FeedsBusy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static(FEEDS_BUSY_RETRY_SECS));
            }
            HttpError::TropDeCreations { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            HttpError::TropDeDemandes(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.expect("a body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn a_401_names_its_reason_in_a_header_and_keeps_its_text() {
        let response = HttpError::Unauthorized(Refusal::Revoked).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers().get(REFUSAL_HEADER).and_then(|v| v.to_str().ok()), Some("revoked"));
        assert_eq!(text(response).await, "this invitation was revoked\n");
        let response = HttpError::TooManyAttempts.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("60"));
        assert!(response.headers().get(REFUSAL_HEADER).is_none());
        let response = HttpError::Unavailable(Source::Feed, "disk".into()).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(text(response).await, "agenda indisponible\n");
    }
}
