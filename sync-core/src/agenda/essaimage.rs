//! Essaimage: taking up another territory's public action as a draft of
//! one's own, one validated [`Edit`].
//!
//! The copy keeps what makes the action reusable elsewhere: title,
//! summary, description, nature, themes, audiences, accessibility and its
//! rhythm, adapted by [`Rythme::reprendre`] to start on its rule's first
//! date on or after the chosen day in the new territory's time zone (same
//! rule, time and duration; no exception, exclusion, pause or end; a date
//! to confirm it three months later). It never copies what belongs to the
//! source territory: its place, online link, carriers, needs and their
//! volunteers, contacts, keywords, progress or state. The copy is a draft
//! (`publication: brouillon`) that records where it comes from
//! ([`Provenance`]: territory, action, document heads, licence).
//!
//! Does not: read documents or decide who may take up what beyond the
//! source being public and published (the caller holds both agendas).

use serde_json::{Value, json};

use super::{Agenda, Collection, Edit, Provenance, Publication, Visibilite};
use crate::rythme::{Jour, RythmeError};

/// The licence of public action content (the domain model's default).
pub const LICENCE_PAR_DEFAUT: &str = "CC BY-SA 4.0";

/// Why an action cannot be taken up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EssaimageError {
    /// No such action in the source (or it was deleted).
    #[error("action inconnue\u{a0}: «\u{a0}{0}\u{a0}»")]
    ActionInconnue(String),
    /// Only public, published actions can be taken up.
    #[error("seule une action publique et publiée peut être reprise")]
    NonPublique,
    /// The rhythm cannot start from the chosen day.
    #[error(transparent)]
    Rythme(#[from] RythmeError),
}

/// The source of a copy: which territory, as it stood when read.
#[derive(Debug, Clone, Copy)]
pub struct SourceEssaimage<'a> {
    /// Its document id.
    pub territoire: &'a str,
    /// Its read model.
    pub agenda: &'a Agenda,
    /// Its document heads when read (hex).
    pub tetes: &'a [String],
}

/// The edit creating, as `nouvel_id`, a draft copy of the source's action
/// `action` for a territory in time zone `fuseau`, its rhythm starting on
/// or after `a_partir_de`.
pub fn essaimer(
    source: SourceEssaimage<'_>,
    action: &str,
    nouvel_id: &str,
    a_partir_de: Jour,
    fuseau: &str,
) -> Result<Edit, EssaimageError> {
    let a = source
        .agenda
        .actions
        .get(action)
        .filter(|a| !a.suivi.supprime)
        .ok_or_else(|| EssaimageError::ActionInconnue(action.chars().take(40).collect()))?;
    if a.visibilite != Visibilite::Public || a.publication != Publication::Publie {
        return Err(EssaimageError::NonPublique);
    }
    let provenance = Provenance {
        territoire: source.territoire.to_owned(),
        territoire_nom: source.agenda.profil.as_ref().map(|p| p.nom.clone()).unwrap_or_default(),
        action: action.to_owned(),
        titre: a.titre.clone(),
        tetes: source.tetes.iter().take(super::TETES_MAX).cloned().collect(),
        licence: LICENCE_PAR_DEFAUT.to_owned(),
    };
    let rythme = a.rythme.as_ref().map(|r| r.reprendre(a_partir_de, fuseau)).transpose()?;
    let mut valeur = json!({
        "titre": a.titre,
        "resume": a.resume,
        "description": a.description,
        "nature": a.nature,
        "portes_entree": a.portes_entree,
        "publics": a.publics,
        "accessibilite": a.accessibilite,
        "publication": Publication::Brouillon,
        "inspire_de": provenance,
    });
    if let Some(r) = rythme {
        valeur["rythme"] = serde_json::to_value(r).unwrap_or(Value::Null);
    }
    Ok(Edit::Creer { collection: Collection::Actions, id: nouvel_id.to_owned(), valeur })
}
