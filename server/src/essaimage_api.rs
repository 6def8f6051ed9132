//! Essaimage over HTTP, for coordinators: taking up another territory's
//! public, published action as a draft of a territory, written by the hub
//! (the one owner of the documents in memory), so that the devices
//! connected to that territory receive it at once. `essaim essaimer` is
//! its client.
//!
//! - `POST /t/{cible}/essaimage`, body `{"depuis": "<territoire>/<action>",
//!   "a_partir_de": "AAAA-MM-JJ"?}`: 201 with `{"territoire", "action"}`
//!   (the target and the new draft's id) once the draft is durable.
//!
//! In order, and nothing written before the last step: the token
//! ([`crate::app::admit_bearer`]: 401, 429; checked whatever the id, as
//! the invitations API does), an organiser's grant on the target (403),
//! `Content-Type: application/json` (415), the body (at most [`BODY_MAX`]
//! bytes, else 413), the invitation's quota ([`PAR_HEURE`] requests an
//! hour, else 429 with `Retry-After`), the JSON and its fields (400: the
//! ids by `DocumentId` and `agenda::identifiant_valide`, the date as a
//! `rythme::Jour`, the source another territory than the target). Then
//! the source action, read as `GET /t/{territoire}/actions/{action}.json`
//! serves it to anyone (`feeds::action_publique`, without a token), so a
//! private or missing territory, an unknown action and one not public or
//! not published all get the feeds' 404. Last, the hub writes the draft with
//! `Repo::essaimer` (loading the target first if needed), in one change
//! authored by the invitation's id; the core refuses what it cannot take
//! up with a French reason (400) and writes nothing, and a target whose
//! document never reached the relay (registered from the app, not yet
//! uploaded) is 409, written nothing either.
//!
//! Without `a_partir_de`, the copy's rhythm starts from today in the
//! target territory's time zone (its profile's `fuseau`; Paris without
//! one), decided once the target is loaded ([`essaimer`]): the day of the
//! people who will hold the rendez-vous, not the relay's or UTC's.
//!
//! Does not: decide who may read the source (the feeds do), or what a
//! copy holds (`sync_core::agenda::essaimage`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use sync_core::agenda::{self, ApplyError};
use sync_core::rythme::{DateHeure, FUSEAU_PAR_DEFAUT, Jour, Timestamp, fuseau};
use sync_core::{DocumentId, Output, Repo, UnixMillis};
use tokio::sync::oneshot;

use crate::app::{AppState, admit_bearer};
use crate::error::HttpError;
use crate::hub::{Essaimage, EssaimageRatee, Event};
use crate::invitations::Role;

/// Largest request body, in bytes: two ids and a date take under 200.
pub(crate) const BODY_MAX: usize = 4 * 1024;
/// Requests one invitation may make per [`crate::volontaires::FENETRE`]:
/// enough for a coordinator taking up a whole programme, few enough that a
/// leaked organiser token cannot flood a territory with drafts.
pub(crate) const PAR_HEURE: u32 = 60;
/// How long a request waits for the hub (a load, a commit) before 503.
const ATTENTE_MAX: Duration = Duration::from_secs(30);

/// Why a request of this API is refused (beyond the door's 401 and 429
/// and the feeds' 404). The text is the response's body, French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EssaimageApiError {
    /// 403: a resident's token.
    #[error("Seuls les organisateurs d'un territoire peuvent y reprendre une action.")]
    NonOrganisateur,
    /// 400: not the JSON object expected.
    #[error(
        "Demande illisible\u{a0}: un objet JSON {{\"depuis\": \"<territoire>/<action>\", \"a_partir_de\"?: \"AAAA-MM-JJ\"}} est attendu."
    )]
    Illisible,
    /// 400: `depuis` is not a territory's id and an action's id.
    #[error(
        "«\u{a0}depuis\u{a0}» doit être <territoire>/<action>\u{a0}: l'identifiant d'un territoire, puis celui d'une de ses actions."
    )]
    Depuis,
    /// 400: `a_partir_de` is not a real date written `AAAA-MM-JJ`.
    #[error("Date invalide\u{a0}: «\u{a0}a_partir_de\u{a0}» s'écrit AAAA-MM-JJ.")]
    Date,
    /// 400: the source is the target itself.
    #[error("Une action se reprend dans un autre territoire que le sien.")]
    MemeTerritoire,
    /// 400: the core could not take the action up (its rhythm from that
    /// day, an invalid draft); its French reason.
    #[error("Reprise impossible\u{a0}: {0}")]
    Refusee(String),
    /// 409: the target is registered but its document never reached the
    /// relay (created in the app, not yet uploaded). Writing into it would
    /// create its collections apart from the device's, and one would hide
    /// the other once they meet.
    #[error(
        "Ce territoire n'est pas encore sur le relais\u{a0}: ouvrez-le en ligne dans l'application, puis réessayez."
    )]
    TerritoireAbsent,
}

impl EssaimageApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            EssaimageApiError::NonOrganisateur => StatusCode::FORBIDDEN,
            EssaimageApiError::Illisible
            | EssaimageApiError::Depuis
            | EssaimageApiError::Date
            | EssaimageApiError::MemeTerritoire
            | EssaimageApiError::Refusee(_) => StatusCode::BAD_REQUEST,
            EssaimageApiError::TerritoireAbsent => StatusCode::CONFLICT,
        }
    }
}

/// The route, under `/t/{id}/` like the feeds (same parameter name, so
/// the router accepts both).
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/t/{id}/essaimage", post(essaimer_route))
}

/// The body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corps {
    depuis: String,
    #[serde(default)]
    a_partir_de: Option<String>,
}

/// A request, validated.
#[derive(Debug, PartialEq, Eq)]
struct Demande {
    source: DocumentId,
    action: String,
    a_partir_de: Option<Jour>,
}

/// Parses and validates the body for target `cible`; nothing is read or
/// written before this holds.
fn demande(body: &[u8], cible: &DocumentId) -> Result<Demande, EssaimageApiError> {
    let corps: Corps = serde_json::from_slice(body).map_err(|_| EssaimageApiError::Illisible)?;
    let (source, action) = corps.depuis.split_once('/').ok_or(EssaimageApiError::Depuis)?;
    let source: DocumentId = source.parse().map_err(|_| EssaimageApiError::Depuis)?;
    if !agenda::identifiant_valide(action) {
        return Err(EssaimageApiError::Depuis);
    }
    if source == *cible {
        return Err(EssaimageApiError::MemeTerritoire);
    }
    let a_partir_de = corps.a_partir_de.map(|d| d.parse::<Jour>().map_err(|_| EssaimageApiError::Date)).transpose()?;
    Ok(Demande { source, action: action.to_owned(), a_partir_de })
}

async fn essaimer_route(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    // The token is checked whatever the id: an id that is no document is
    // refused like a token of another territory (401).
    let cible = id.parse().unwrap_or_else(|_| DocumentId::from_bytes(&[0; 16]).expect("16 bytes make an id"));
    let grant = admit_bearer(&state, from, &headers, &cible).await?;
    if grant.role != Role::Organisateur {
        return Err(EssaimageApiError::NonOrganisateur.into());
    }
    crate::app::exiger_json(&headers)?;
    let bytes = axum::body::to_bytes(body, BODY_MAX).await.map_err(|_| HttpError::DemandeTropGrande)?;
    state
        .essaimages
        .prendre(&grant.invitation)
        .map_err(|attente| HttpError::TropDeDemandes(attente.as_secs().max(1)))?;
    let Demande { source, action, a_partir_de } = demande(&bytes, &cible)?;
    let publique = crate::feeds::action_publique(&state, &source, &action).await?;
    let nouvel_id = nouvel_id()?;
    let (reply, answer) = oneshot::channel();
    let essaimage = Essaimage {
        cible: cible.clone(),
        publique,
        nouvel_id: nouvel_id.clone(),
        a_partir_de,
        auteur: grant.invitation.clone(),
        reply,
    };
    state.hub.send(Event::Essaimage(Box::new(essaimage))).await.map_err(|_| indisponible("the hub stopped"))?;
    match tokio::time::timeout(ATTENTE_MAX, answer).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(EssaimageRatee::Refusee(refus)))) => return Err(refus.into()),
        Ok(Ok(Err(EssaimageRatee::Indisponible(why)))) => return Err(HttpError::RelaisIndisponible(why)),
        Ok(Err(_)) => return Err(indisponible("the hub dropped the request")),
        Err(_) => return Err(indisponible("no answer from the hub in time")),
    }
    tracing::info!(%cible, %source, %action, nouvelle = %nouvel_id, by = %grant.invitation, "action taken up over HTTP");
    let answer = serde_json::json!({ "territoire": cible.to_string(), "action": nouvel_id });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

fn indisponible(why: &str) -> HttpError {
    HttpError::RelaisIndisponible(why.to_owned())
}

/// A fresh action id: 96 random bits in hex, like the app's random ids,
/// so it never meets one made offline.
fn nouvel_id() -> Result<String, HttpError> {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| indisponible(&format!("no randomness from the OS: {e}")))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

/// Why the hub did not write an [`Essaimage`] (yet).
#[derive(Debug)]
pub(crate) enum Echec {
    /// The target is not in memory, or a job on it is out: load it or wait
    /// for the job, then try again.
    Attendre,
    /// Refused; nothing written.
    Refus(EssaimageApiError),
    /// The relay failed (a bug).
    Panne(String),
}

/// What the hub does with an [`Essaimage`]: `Repo::essaimer` into a
/// territory document (one with a profile), from `a_partir_de` or else
/// today in the target's time zone.
pub(crate) fn essaimer(repo: &mut Repo, now: UnixMillis, e: &Essaimage) -> Result<Vec<Output>, Echec> {
    let profil = repo.agenda(&e.cible).ok_or(Echec::Attendre)?.profil;
    let Some(profil) = profil else { return Err(Echec::Refus(EssaimageApiError::TerritoireAbsent)) };
    let a_partir_de = e.a_partir_de.unwrap_or_else(|| aujourdhui(Some(&profil.fuseau), now));
    repo.essaimer(now, &e.publique, &e.cible, &e.nouvel_id, a_partir_de, &e.auteur).map_err(|error| match error {
        ApplyError::NotLoaded(_) | ApplyError::Busy(_) => Echec::Attendre,
        refus @ (ApplyError::Essaimage(_) | ApplyError::Invalid(_)) => {
            Echec::Refus(EssaimageApiError::Refusee(refus.to_string()))
        }
        other => Echec::Panne(other.to_string()),
    })
}

/// Today in time zone `nom` (Paris if none, or unknown to the relay).
fn aujourdhui(nom: Option<&str>, now: UnixMillis) -> Jour {
    let tz = nom
        .and_then(fuseau)
        .or_else(|| fuseau(FUSEAU_PAR_DEFAUT))
        .unwrap_or(sync_core::rythme::jiff::tz::TimeZone::UTC);
    let instant =
        Timestamp::from_millisecond(i64::try_from(now.0).unwrap_or(i64::MAX)).unwrap_or(Timestamp::UNIX_EPOCH);
    DateHeure::de_instant(instant, &tz).jour()
}

#[cfg(test)]
mod tests {
    use sync_core::Input;
    use sync_core::agenda::Profil;

    use super::*;

    /// An essaimage of a weekly action into `cible` (its answer dropped).
    fn essaimage(cible: &DocumentId, a_partir_de: Option<Jour>) -> Essaimage {
        let publique = serde_json::json!({
            "provenance": { "territoire": "2PWaifiQNG1dCFeGCwrAvgsGa7my", "territoire_nom": "Source",
                "action": "a1", "titre": "Repair café", "licence": "CC BY-SA 4.0" },
            "titre": "Repair café",
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H", "regle": { "freq": "WEEKLY" } },
        });
        Essaimage {
            cible: cible.clone(),
            publique: serde_json::from_value(publique).expect("an ActionPublique"),
            nouvel_id: "copie".into(),
            a_partir_de,
            auteur: "0123456789abcdef".into(),
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn the_hub_writes_into_a_loaded_territory_only() {
        let (mut repo, _) = crate::start_repo(&crate::Config::new(std::path::Path::new("unused")), None).expect("repo");
        let now = UnixMillis(1_798_765_200_000);
        let profil = Profil { nom: "Cible".into(), fuseau: "America/Martinique".into(), ..Profil::default() };
        let (cible, _) = repo.create_territory(now, &[5; 16], "test", profil).expect("territory");
        let outputs = essaimer(&mut repo, now, &essaimage(&cible, None)).expect("written");
        assert!(outputs.iter().any(|o| matches!(o, Output::Write(_))), "{outputs:?}");
        let copie = repo.agenda(&cible).expect("loaded").actions.remove("copie").expect("the copy");
        // Today in Martinique is 2026-12-31, a Thursday: next Wednesday.
        let debut = copie.rythme.expect("a rhythm").debut;
        assert_eq!(debut.to_string(), "2027-01-06T18:30:00");
        // Not in memory: the hub loads it first.
        let ailleurs = DocumentId::from_bytes(&[6; 16]).expect("id");
        assert!(matches!(essaimer(&mut repo, now, &essaimage(&ailleurs, None)), Err(Echec::Attendre)));
        // In memory but never uploaded (no profile): nothing written.
        repo.handle(now, Input::Load { doc: ailleurs.clone() });
        repo.handle(now, Input::Loaded { doc: ailleurs.clone(), entries: Vec::new() });
        let vide = essaimer(&mut repo, now, &essaimage(&ailleurs, Jour::new(2027, 3, 1)));
        assert!(matches!(vide, Err(Echec::Refus(EssaimageApiError::TerritoireAbsent))), "{vide:?}");
        assert_eq!(repo.document(&ailleurs).map(|am| am.get_heads().len()), Some(0));
        // Refused by the core: nothing written.
        let heads = repo.document(&cible).expect("loaded").get_heads();
        let refus = essaimer(&mut repo, now, &essaimage(&cible, Jour::new(9999, 12, 31)));
        assert!(matches!(refus, Err(Echec::Refus(EssaimageApiError::Refusee(_)))), "{refus:?}");
        assert_eq!(repo.document(&cible).expect("loaded").get_heads(), heads);
    }

    #[test]
    fn a_request_is_validated_before_anything_is_read() {
        let a = DocumentId::from_bytes(&[1; 16]).expect("id");
        let b = DocumentId::from_bytes(&[2; 16]).expect("id");
        let ok = |json: &str| demande(json.as_bytes(), &b);
        assert_eq!(
            ok(&format!(r#"{{"depuis":"{a}/repair-cafe_1","a_partir_de":"2027-02-28"}}"#)),
            Ok(Demande { source: a.clone(), action: "repair-cafe_1".into(), a_partir_de: Jour::new(2027, 2, 28) })
        );
        assert_eq!(ok(&format!(r#"{{"depuis":"{a}/x"}}"#)).map(|d| d.a_partir_de), Ok(None));
        let long = "x".repeat(65);
        let cases = [
            (String::new(), EssaimageApiError::Illisible),
            ("[]".into(), EssaimageApiError::Illisible),
            (r#"{"a_partir_de":"2027-01-01"}"#.into(), EssaimageApiError::Illisible),
            (format!(r#"{{"depuis":"{a}/x","vers":"{b}"}}"#), EssaimageApiError::Illisible),
            (format!(r#"{{"depuis":"{a}/x","a_partir_de":20270101}}"#), EssaimageApiError::Illisible),
            (format!(r#"{{"depuis":"{a}"}}"#), EssaimageApiError::Depuis),
            (format!(r#"{{"depuis":"{a}/"}}"#), EssaimageApiError::Depuis),
            (format!(r#"{{"depuis":"{a}/a/b"}}"#), EssaimageApiError::Depuis),
            (format!(r#"{{"depuis":"{a}/{long}"}}"#), EssaimageApiError::Depuis),
            (format!(r#"{{"depuis":"{a}/..%2F"}}"#), EssaimageApiError::Depuis),
            (r#"{"depuis":"pas-un-territoire/x"}"#.into(), EssaimageApiError::Depuis),
            (format!(r#"{{"depuis":"{b}/x"}}"#), EssaimageApiError::MemeTerritoire),
            (format!(r#"{{"depuis":"{a}/x","a_partir_de":"2027-02-30"}}"#), EssaimageApiError::Date),
            (format!(r#"{{"depuis":"{a}/x","a_partir_de":"28/02/2027"}}"#), EssaimageApiError::Date),
            (format!(r#"{{"depuis":"{a}/x","a_partir_de":"2027-02-28T10:00"}}"#), EssaimageApiError::Date),
        ];
        for (json, error) in cases {
            assert_eq!(ok(&json), Err(error), "{json}");
        }
    }

    #[test]
    fn today_is_the_target_s_day() {
        // 2027-01-01 02:00 in Paris is still 2026-12-31 in Martinique.
        let now = UnixMillis(1_798_765_200_000);
        assert_eq!(aujourdhui(Some("Europe/Paris"), now), Jour::new(2027, 1, 1).expect("day"));
        assert_eq!(aujourdhui(Some("America/Martinique"), now), Jour::new(2026, 12, 31).expect("day"));
        assert_eq!(aujourdhui(None, now), Jour::new(2027, 1, 1).expect("day"));
        assert_eq!(aujourdhui(Some("Mars/Olympus"), now), Jour::new(2027, 1, 1).expect("day"));
    }
}
