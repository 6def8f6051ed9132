//! Residents' requests: the narrow changes a resident may ask the relay to
//! make for them, since their own sync is read-only.
//!
//! A [`DemandeHabitant`] is volunteering for a need ([`SePropose`]) or
//! withdrawing that volunteering ([`SeRetire`]), nothing else. The relay
//! hands it to [`appliquer`] (through `Repo::appliquer_demande`), which
//! checks it against the document and writes it as the relay's own change,
//! or refuses it with a [`DemandeError`] (French, shown to the resident)
//! and writes nothing.
//!
//! Withdrawing needs the secret the resident's device drew when it
//! volunteered: the entry stores only its SHA-256 (`preuve`), because
//! every resident reads the document. An entry without a proof (written by
//! an organiser) is withdrawn by an organiser only.
//!
//! Does not: authenticate anyone (the relay checks the invitation), rate
//! limit, or decide who is an organiser.
//!
//! [`SePropose`]: DemandeHabitant::SePropose
//! [`SeRetire`]: DemandeHabitant::SeRetire

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::edit::{self, EditError};
use super::schema::{Action, Besoin, MESSAGE_MAX, StatutBesoin, Valider, Volontaire, preuve_valide};
use super::{Collection, tree};

/// Longest volunteer name a resident gives, in characters (after trimming).
pub const NOM_MAX: usize = 80;

/// What a resident asks of the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DemandeHabitant {
    /// "Je me propose": a new volunteer entry on an open need.
    SePropose {
        /// The action.
        action_id: String,
        /// Its need.
        besoin_id: String,
        /// The new entry's id, drawn by the device.
        volontaire_id: String,
        /// The name the resident gives (1 to [`NOM_MAX`] characters).
        nom: String,
        /// A word to the organisers (at most [`MESSAGE_MAX`] characters).
        message: Option<String>,
        /// Hex SHA-256 of the device's secret for this volunteering.
        preuve: String,
    },
    /// "Me retirer": removes an entry the resident made.
    SeRetire {
        /// The action.
        action_id: String,
        /// Its need.
        besoin_id: String,
        /// The entry.
        volontaire_id: String,
        /// The secret whose SHA-256 the entry holds.
        secret: String,
    },
}

/// Why a resident's request was refused. Nothing was written. The texts
/// are what the resident reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemandeError {
    /// No such action, or it was deleted.
    #[error("Action inconnue")]
    ActionInconnue,
    /// The action has no such need.
    #[error("Besoin inconnu")]
    BesoinInconnu,
    /// The need is filled.
    #[error("Ce besoin est déjà pourvu")]
    BesoinPourvu,
    /// The need is closed.
    #[error("Ce besoin est clos")]
    BesoinClos,
    /// A name that is empty, too long or holds control characters.
    #[error("Nom invalide\u{a0}: de 1 à {NOM_MAX} caractères, sans caractère de contrôle")]
    NomInvalide,
    /// A message too long or holding control characters (line breaks are fine).
    #[error("Message invalide\u{a0}: {MESSAGE_MAX} caractères au plus, sans caractère de contrôle")]
    MessageInvalide,
    /// A volunteer id that is not an id of the schema.
    #[error("Identifiant de volontaire invalide")]
    IdentifiantInvalide,
    /// Another entry has this id.
    #[error("Cet identifiant de volontaire est déjà pris")]
    DejaPris,
    /// A proof or a secret that is not 64 hexadecimal digits.
    #[error("Preuve ou secret invalide\u{a0}: 64 chiffres hexadécimaux attendus")]
    PreuveInvalide,
    /// The secret does not match the entry's proof.
    #[error("Ce secret ne correspond pas à cette proposition")]
    SecretIncorrect,
    /// The entry was made by an organiser: only they withdraw it.
    #[error("Cette inscription a été faite par un organisateur\u{a0}: demandez-lui de la retirer")]
    NonRetirable,
    /// The document refused the write.
    #[error("Écriture refusée\u{a0}: {0}")]
    Ecriture(String),
}

/// The proof stored for `secret`: hex SHA-256 of its text.
pub fn preuve_du_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What a valid request writes.
enum Ecriture {
    /// A new entry under `besoins/{besoin}/volontaires/{id}` of `action`.
    Ajouter { action: ObjId, besoin: String, id: String, volontaire: Volontaire },
    /// Removes that entry.
    Retirer { action: ObjId, besoin: String, id: String },
}

/// Checks `demande` against `am` and writes it in one change made by
/// `auteur` at `now` (milliseconds). `Ok(false)`: it was done already
/// (the same volunteering proposed again, an entry already withdrawn), and
/// nothing is written.
pub(crate) fn appliquer(
    am: &mut Automerge,
    now: i64,
    auteur: &str,
    demande: &DemandeHabitant,
) -> Result<bool, DemandeError> {
    let Some(ecriture) = verifier(am, now, demande)? else { return Ok(false) };
    let quoi = match demande {
        DemandeHabitant::SePropose { action_id, besoin_id, volontaire_id, .. } => {
            format!("se propose {action_id} {besoin_id} {volontaire_id}")
        }
        DemandeHabitant::SeRetire { action_id, besoin_id, volontaire_id, .. } => {
            format!("se retire {action_id} {besoin_id} {volontaire_id}")
        }
    };
    let message = serde_json::json!({ "auteur": auteur, "quoi": quoi }).to_string();
    super::un_changement(am, now, message, |tx| match ecriture {
        Ecriture::Ajouter { action, besoin, id, volontaire } => {
            let obj = tree::ensure_map(tx, &action, &["besoins", &besoin, "volontaires", &id])?;
            let mut champs = edit::objet(&volontaire)?;
            champs.retain(|_, v| !v.is_null());
            Ok(tree::write_fields(tx, &obj, &champs)?)
        }
        Ecriture::Retirer { action, besoin, id } => {
            let liste = tree::ensure_map(tx, &action, &["besoins", &besoin, "volontaires"])?;
            Ok(tx.delete(&liste, id.as_str())?)
        }
    })
    .map_err(|e| DemandeError::Ecriture(e.to_string()))?;
    Ok(true)
}

/// The write `demande` makes, `None` if it is done already, or why not.
fn verifier(am: &Automerge, now: i64, demande: &DemandeHabitant) -> Result<Option<Ecriture>, DemandeError> {
    let (action_id, besoin_id) = match demande {
        DemandeHabitant::SePropose { action_id, besoin_id, .. }
        | DemandeHabitant::SeRetire { action_id, besoin_id, .. } => (action_id, besoin_id),
    };
    let action = edit::existant(am, Collection::Actions, action_id).map_err(|_| DemandeError::ActionInconnue)?;
    let lue: Action = edit::lire(am, &action).map_err(|_: EditError| DemandeError::ActionInconnue)?;
    let besoin = lue.besoins.get(besoin_id).ok_or(DemandeError::BesoinInconnu)?;
    match demande {
        DemandeHabitant::SePropose { volontaire_id, nom, message, preuve, .. } => {
            edit::verifier_id(volontaire_id).map_err(|_| DemandeError::IdentifiantInvalide)?;
            if !preuve_valide(preuve) {
                return Err(DemandeError::PreuveInvalide);
            }
            // Checked before the need's state: a retry after the need was
            // filled still learns it went through.
            if let Some(existant) = besoin.volontaires.get(volontaire_id) {
                return match existant.preuve.as_deref() == Some(preuve.as_str()) {
                    true => Ok(None),
                    false => Err(DemandeError::DejaPris),
                };
            }
            match besoin.statut {
                StatutBesoin::Ouvert | StatutBesoin::PartiellementPourvu => {}
                StatutBesoin::Pourvu => return Err(DemandeError::BesoinPourvu),
                StatutBesoin::Clos => return Err(DemandeError::BesoinClos),
            }
            let volontaire = Volontaire {
                acteur_id: None,
                nom: Some(nom_valide(nom)?),
                date: date_du_jour(now),
                confirme: false,
                message: message_valide(message.as_deref())?,
                preuve: Some(preuve.clone()),
            };
            let mut verifie: Besoin = besoin.clone();
            verifie.volontaires.insert(volontaire_id.clone(), volontaire.clone());
            verifie.valider().map_err(|e| DemandeError::Ecriture(e.to_string()))?;
            Ok(Some(Ecriture::Ajouter { action, besoin: besoin_id.clone(), id: volontaire_id.clone(), volontaire }))
        }
        DemandeHabitant::SeRetire { volontaire_id, secret, .. } => {
            if !preuve_valide(secret) {
                return Err(DemandeError::PreuveInvalide);
            }
            let Some(existant) = besoin.volontaires.get(volontaire_id) else { return Ok(None) };
            match existant.preuve.as_deref() {
                None => Err(DemandeError::NonRetirable),
                Some(preuve) if preuve != preuve_du_secret(secret) => Err(DemandeError::SecretIncorrect),
                Some(_) => Ok(Some(Ecriture::Retirer { action, besoin: besoin_id.clone(), id: volontaire_id.clone() })),
            }
        }
    }
}

/// The name, trimmed, if it has 1 to [`NOM_MAX`] characters and no control character.
fn nom_valide(nom: &str) -> Result<String, DemandeError> {
    let nom = nom.trim();
    let longueur = nom.chars().count();
    if longueur == 0 || longueur > NOM_MAX || nom.chars().any(char::is_control) {
        return Err(DemandeError::NomInvalide);
    }
    Ok(nom.to_owned())
}

/// The message, trimmed, `None` if blank; line breaks are kept (as `\n`),
/// other control characters refused.
fn message_valide(message: Option<&str>) -> Result<Option<String>, DemandeError> {
    let Some(message) = message.map(|m| m.replace("\r\n", "\n")) else { return Ok(None) };
    let message = message.trim();
    if message.is_empty() {
        return Ok(None);
    }
    if message.chars().count() > MESSAGE_MAX || message.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DemandeError::MessageInvalide);
    }
    Ok(Some(message.to_owned()))
}

/// `AAAA-MM-JJ` of `now` (milliseconds) in UTC.
fn date_du_jour(now: i64) -> Option<String> {
    let instant = jiff::Timestamp::from_millisecond(now).ok()?;
    Some(jiff::tz::Offset::UTC.to_datetime(instant).date().to_string())
}
