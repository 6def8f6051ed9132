//! Essaimage: taking up another territory's public action as a draft of
//! one's own, one validated [`Edit`].
//!
//! [`ActionPublique`] is what a public, published action offers other
//! territories: title, summary, description, nature, themes, audiences,
//! accessibility and rhythm, with where it comes from ([`Provenance`]:
//! territory, action, document heads, licence). The relay serves it
//! (`/t/{id}/actions/{action}.json`), the app keeps it to take the action
//! up offline. It never holds what belongs to the source territory: its
//! place, online link, carriers, needs and their volunteers, contacts,
//! keywords, progress or state.
//!
//! [`essaimer`] turns it into the creation of a draft (`publication:
//! brouillon`) in another territory, its rhythm adapted by
//! [`Rythme::reprendre`] to start on its rule's first date on or after the
//! chosen day in that territory's time zone (same rule, time and duration;
//! no exception, exclusion, pause or end; a date to confirm it three months
//! later), its provenance kept as `inspire_de`.
//!
//! Does not: read documents, or decide who may take up what beyond the
//! source being public and published.

use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use super::{
    Accessibilite, Agenda, Collection, Edit, Nature, Provenance, Public, Publication, TETES_MAX, Theme, Visibilite,
};
use crate::rythme::{Jour, Rythme, RythmeError};

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

/// What a public action offers other territories (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ActionPublique {
    /// Where it comes from.
    pub provenance: Provenance,
    /// Title.
    pub titre: String,
    /// Short summary.
    #[serde(default)]
    pub resume: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Kind of action.
    #[serde(default)]
    pub nature: Nature,
    /// Themes.
    #[serde(default)]
    pub portes_entree: Vec<Theme>,
    /// Audiences.
    #[serde(default)]
    pub publics: Vec<Public>,
    /// Accessibility.
    #[serde(default)]
    pub accessibilite: Accessibilite,
    /// Its rhythm in the source territory, if any.
    #[serde(default)]
    pub rythme: Option<Rythme>,
}

impl ActionPublique {
    /// Action `action` of territory `territoire`, read at heads `tetes`
    /// (hex), if it is public, published and not deleted.
    pub fn de(
        agenda: &Agenda,
        territoire: &str,
        tetes: &[String],
        action: &str,
    ) -> Result<ActionPublique, EssaimageError> {
        let a = agenda
            .actions
            .get(action)
            .filter(|a| !a.suivi.supprime)
            .ok_or_else(|| EssaimageError::ActionInconnue(action.chars().take(40).collect()))?;
        if a.visibilite != Visibilite::Public || a.publication != Publication::Publie {
            return Err(EssaimageError::NonPublique);
        }
        Ok(ActionPublique {
            provenance: Provenance {
                territoire: territoire.to_owned(),
                territoire_nom: agenda.profil.as_ref().map(|p| p.nom.clone()).unwrap_or_default(),
                action: action.to_owned(),
                titre: a.titre.clone(),
                tetes: tetes.iter().take(TETES_MAX).cloned().collect(),
                licence: LICENCE_PAR_DEFAUT.to_owned(),
            },
            titre: a.titre.clone(),
            resume: a.resume.clone(),
            description: a.description.clone(),
            nature: a.nature,
            portes_entree: a.portes_entree.clone(),
            publics: a.publics.clone(),
            accessibilite: a.accessibilite.clone(),
            rythme: a.rythme.clone(),
        })
    }
}

/// The edit creating, as `nouvel_id`, a draft copy of `source` for a
/// territory in time zone `fuseau`, its rhythm starting on or after
/// `a_partir_de`. The repo validates it like any edit.
pub fn essaimer(
    source: &ActionPublique,
    nouvel_id: &str,
    a_partir_de: Jour,
    fuseau: &str,
) -> Result<Edit, EssaimageError> {
    let rythme = source.rythme.as_ref().map(|r| r.reprendre(a_partir_de, fuseau)).transpose()?;
    let mut valeur = json!({
        "titre": source.titre,
        "resume": source.resume,
        "description": source.description,
        "nature": source.nature,
        "portes_entree": source.portes_entree,
        "publics": source.publics,
        "accessibilite": source.accessibilite,
        "publication": Publication::Brouillon,
        "inspire_de": source.provenance,
    });
    if let Some(r) = rythme {
        valeur["rythme"] = json!(r);
    }
    Ok(Edit::Creer { collection: Collection::Actions, id: nouvel_id.to_owned(), valeur })
}
