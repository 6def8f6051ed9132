//! Edits as data: what the UI asks for, validated, then written.
//!
//! An [`Edit`] is JSON-serialisable so the browser can send it through the
//! wasm client. [`appliquer`] validates it against the current document and
//! writes it inside the caller's Automerge transaction; any error leaves the
//! transaction to be rolled back, so an invalid edit changes nothing.

use automerge::transaction::{Transactable, Transaction};
use automerge::{AutomergeError, ObjId, ObjType, ROOT, ReadDoc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use super::documents::GenreDocument;
use super::schema::{
    Acteur, Action, Besoin, Decision, Instance, Nature, Phase, Profil, ValidationError, Valider, Volontaire,
    champs_connus, identifiant_valide, liens_du_rythme,
};
use super::tree::{self, Chemin, Lecteur};
use crate::rythme::{Exception, Pause, Rythme};

/// A collection of records keyed by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    /// `actions/{id}`.
    Actions,
    /// `acteurs/{id}`.
    Acteurs,
    /// `instances/{id}`: governance bodies.
    Instances,
    /// `decisions/{id}`.
    Decisions,
    /// `feuille_de_route/phases/{id}`.
    Phases,
}

impl Collection {
    /// Depth of its records in the document, the root being 0.
    pub(crate) fn profondeur(self) -> usize {
        self.path().len() + 1
    }

    pub(crate) fn path(self) -> &'static [&'static str] {
        match self {
            Collection::Actions => &["actions"],
            Collection::Acteurs => &["acteurs"],
            Collection::Instances => &["instances"],
            Collection::Decisions => &["decisions"],
            Collection::Phases => &["feuille_de_route", "phases"],
        }
    }
}

/// A change an organiser makes. Serialised as `{"type": "creer", …}`.
///
/// In TypeScript, the free-form maps (`champs`, `valeur`) are typed as the
/// records they set (`Partial<Action>`…), so that a misspelt field is a
/// compile error there; here they are checked against the schema
/// ([`EditError::ChampInconnu`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Edit {
    /// Sets fields of the territory's profile (creating it if needed).
    ModifierProfil {
        /// Field name to new value; `null` clears an optional field.
        #[ts(type = "Partial<Profil>")]
        champs: Map<String, Value>,
    },
    /// Sets the roadmap's horizon (years, `AAAA`).
    ModifierHorizon {
        /// First year.
        horizon_debut: Option<String>,
        /// Last year.
        horizon_fin: Option<String>,
    },
    /// Creates a record with a new id (random, from the driver).
    Creer {
        /// Where.
        collection: Collection,
        /// Its id.
        id: String,
        /// The whole record.
        #[ts(type = "Enregistrement")]
        valeur: Value,
    },
    /// Sets some fields of a record; each replaces the field's value. This
    /// is also how a conflict is resolved: setting the field to one value.
    Modifier {
        /// Where.
        collection: Collection,
        /// Which record.
        id: String,
        /// Field name to new value; `null` clears an optional field.
        #[ts(type = "Enregistrement")]
        champs: Map<String, Value>,
    },
    /// Marks a record deleted (a tombstone, so concurrent edits stay dead).
    Supprimer {
        /// Where.
        collection: Collection,
        /// Which record.
        id: String,
    },
    /// Says how the editing person is named to the others
    /// (`auteurs/{their actor id}`): 1 to 80 characters.
    DefinirNom {
        /// Their name.
        nom: String,
    },
    /// Lists a document as the territory's (`documents.rs`): who may open
    /// it follows from its kind and the role held in this territory.
    AttacherDocument {
        /// Its id (as in its `automerge:` URL).
        document: String,
        /// What it is.
        genre: GenreDocument,
    },
    /// Removes a document from the territory's list: no one opens it
    /// through this territory any more.
    DetacherDocument {
        /// Its id.
        document: String,
    },
    /// Adds or replaces a need of an action.
    DefinirBesoin {
        /// The action.
        action_id: String,
        /// The need's id.
        besoin_id: String,
        /// The need.
        #[ts(type = "Partial<Besoin> & Pick<Besoin, \"type\">")]
        besoin: Besoin,
    },
    /// Adds a volunteer to a need (merges with concurrent sign-ups).
    AjouterVolontaire {
        /// The action.
        action_id: String,
        /// The need.
        besoin_id: String,
        /// The volunteer's id.
        volontaire_id: String,
        /// The volunteer.
        #[ts(type = "Partial<Volontaire>")]
        volontaire: Volontaire,
    },
    /// Overrides one occurrence: move it, cancel it, move it online, change
    /// its place. Fields merge with other overrides of the same occurrence.
    ModifierOccurrence {
        /// An action or an instance.
        collection: Collection,
        /// Its id.
        id: String,
        /// Local start of the original occurrence.
        origine: String,
        /// What changes for that occurrence.
        #[ts(type = "Partial<Exception>")]
        exception: Exception,
    },
    /// Pauses a rhythm over a date range (summer break).
    Pauser {
        /// An action or an instance.
        collection: Collection,
        /// Its id.
        id: String,
        /// The pause.
        #[ts(type = "Pick<Pause, \"du\" | \"au\"> & Partial<Pause>")]
        pause: Pause,
    },
    /// "This and following": ends the series before `a_partir_de` and starts
    /// a new action there, linked by `serie_precedente`.
    ScinderSerie {
        /// The action.
        action_id: String,
        /// Local start of the first occurrence of the new series.
        a_partir_de: String,
        /// Id of the new action (random, from the driver).
        nouvel_id: String,
        /// Fields of the new series that differ (time, place…).
        #[serde(default)]
        #[ts(optional, type = "Partial<Action>")]
        champs: Map<String, Value>,
    },
}

/// Why an edit was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The record does not exist (or was deleted).
    #[error("identifiant inconnu\u{a0}: {0}")]
    Inconnu(String),
    /// A record with this id exists already.
    #[error("identifiant déjà utilisé\u{a0}: {0}")]
    DejaUtilise(String),
    /// An id that is empty, too long or not a simple key.
    #[error("identifiant invalide\u{a0}: {0:?}")]
    IdentifiantInvalide(String),
    /// A field the schema does not have, or one only edits may set.
    #[error("champ inconnu ou réservé\u{a0}: {0}")]
    ChampInconnu(String),
    /// A value of the wrong shape (type, enum value).
    #[error("valeur invalide\u{a0}: {0}")]
    ValeurInvalide(String),
    /// A value that breaks a rule of the schema.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An occurrence edit on a record without a rhythm.
    #[error("{0} n'a pas de rythme")]
    SansRythme(String),
    /// A sheet's workflow refused it.
    #[error(transparent)]
    Fiche(#[from] super::FicheError),
    /// Automerge refused the write.
    #[error("écriture refusée\u{a0}: {0}")]
    Ecriture(String),
}

impl From<AutomergeError> for EditError {
    fn from(e: AutomergeError) -> EditError {
        EditError::Ecriture(e.to_string())
    }
}

/// Fields set by edits only.
pub(crate) const SUIVI: &[&str] = &["cree_le", "modifie_le", "modifie_par", "supprime"];

/// Validates `edit` and writes it in `tx`. `now` is in milliseconds,
/// `auteur` is the actor id of the person editing.
pub(crate) fn appliquer_dans(tx: &mut Transaction<'_>, now: i64, auteur: &str, edit: Edit) -> Result<(), EditError> {
    let suivi = |creation: bool| {
        let mut m = Map::new();
        if creation {
            m.insert("cree_le".into(), now.into());
            m.insert("supprime".into(), false.into());
        }
        m.insert("modifie_le".into(), now.into());
        m.insert("modifie_par".into(), auteur.into());
        m
    };
    match edit {
        Edit::ModifierProfil { champs } => {
            let obj = tree::ensure_map(tx, &ROOT, &["profil"])?;
            modifier_enregistrement::<Profil>(tx, &obj, 1, champs, suivi(false))
        }
        Edit::ModifierHorizon { horizon_debut, horizon_fin } => {
            let annee = |champ: &'static str, v: &Option<String>| match v {
                Some(a) if a.len() != 4 || a.parse::<u16>().is_err() => {
                    Err(ValidationError::Autre(format!("`{champ}` doit être une année AAAA\u{a0}: {a}")))
                }
                _ => Ok(()),
            };
            annee("horizon_debut", &horizon_debut)?;
            annee("horizon_fin", &horizon_fin)?;
            if let (Some(a), Some(b)) = (&horizon_debut, &horizon_fin)
                && b < a
            {
                return Err(ValidationError::FinAvantDebut { debut: "horizon_debut", fin: "horizon_fin" }.into());
            }
            let obj = tree::ensure_map(tx, &ROOT, &["feuille_de_route"])?;
            let mut champs = Map::new();
            champs.insert("horizon_debut".into(), horizon_debut.map_or(Value::Null, Value::from));
            champs.insert("horizon_fin".into(), horizon_fin.map_or(Value::Null, Value::from));
            Ok(tree::write_fields(tx, &obj, &champs)?)
        }
        Edit::Creer { collection, id, valeur } => {
            verifier_id(&id)?;
            let parent = tree::ensure_map(tx, &ROOT, collection.path())?;
            if vivant(tx, &parent, &id).is_some() {
                return Err(EditError::DejaUtilise(id));
            }
            let Value::Object(champs) = valeur else {
                return Err(EditError::ValeurInvalide("un enregistrement est un objet JSON".into()));
            };
            let record = tx.put_object(&parent, id.as_str(), ObjType::Map)?;
            match collection {
                Collection::Actions => creer::<Action>(tx, &record, nature_a_la_creation(champs), suivi(true)),
                Collection::Acteurs => creer::<Acteur>(tx, &record, champs, suivi(true)),
                Collection::Instances => creer::<Instance>(tx, &record, champs, suivi(true)),
                Collection::Decisions => creer::<Decision>(tx, &record, champs, suivi(true)),
                Collection::Phases => creer::<Phase>(tx, &record, champs, suivi(true)),
            }
        }
        Edit::Modifier { collection, id, champs } => {
            let record = existant(tx, collection, &id)?;
            let profondeur = collection.profondeur();
            match collection {
                Collection::Actions => {
                    let champs = nature_au_changement_de_rythme(tx, &record, champs);
                    modifier_enregistrement::<Action>(tx, &record, profondeur, champs, suivi(false))
                }
                Collection::Acteurs => modifier_enregistrement::<Acteur>(tx, &record, profondeur, champs, suivi(false)),
                Collection::Instances => {
                    modifier_enregistrement::<Instance>(tx, &record, profondeur, champs, suivi(false))
                }
                Collection::Decisions => {
                    modifier_enregistrement::<Decision>(tx, &record, profondeur, champs, suivi(false))
                }
                Collection::Phases => modifier_enregistrement::<Phase>(tx, &record, profondeur, champs, suivi(false)),
            }
        }
        Edit::Supprimer { collection, id } => {
            let record = existant(tx, collection, &id)?;
            let mut champs = suivi(false);
            champs.insert("supprime".into(), true.into());
            Ok(tree::write_fields(tx, &record, &champs)?)
        }
        Edit::DefinirNom { nom } => {
            let nom = nom.trim();
            if nom.is_empty() || nom.chars().count() > 80 {
                return Err(EditError::ValeurInvalide("un nom de 1 à 80 caractères".into()));
            }
            if !identifiant_valide(auteur) {
                return Err(EditError::IdentifiantInvalide(auteur.chars().take(40).collect()));
            }
            let obj = tree::ensure_map(tx, &ROOT, &["auteurs", auteur])?;
            let mut champs = Map::new();
            champs.insert("nom".into(), nom.into());
            Ok(tree::write_fields(tx, &obj, &champs)?)
        }
        Edit::AttacherDocument { document, genre } => super::documents::attacher(tx, &document, genre),
        Edit::DetacherDocument { document } => super::documents::detacher(tx, &document),
        Edit::DefinirBesoin { action_id, besoin_id, besoin } => {
            verifier_id(&besoin_id)?;
            let record = existant(tx, Collection::Actions, &action_id)?;
            let mut champs = objet(&besoin)?;
            // Volunteers are added one by one, never replaced by this edit.
            champs.remove("volontaires");
            let mut action: Action = lire(tx, &record)?;
            action.besoins.insert(besoin_id.clone(), besoin);
            action.valider()?;
            let obj = tree::ensure_map(tx, &record, &["besoins", &besoin_id])?;
            tree::write_fields(tx, &obj, &champs)?;
            ecrire(tx, &record, Map::new(), suivi(false))
        }
        Edit::AjouterVolontaire { action_id, besoin_id, volontaire_id, volontaire } => {
            verifier_id(&besoin_id)?;
            verifier_id(&volontaire_id)?;
            let record = existant(tx, Collection::Actions, &action_id)?;
            let mut action: Action = lire(tx, &record)?;
            let besoin = action.besoins.get_mut(&besoin_id).ok_or_else(|| EditError::Inconnu(besoin_id.clone()))?;
            besoin.volontaires.insert(volontaire_id.clone(), volontaire.clone());
            action.valider()?;
            let obj = tree::ensure_map(tx, &record, &["besoins", &besoin_id, "volontaires", &volontaire_id])?;
            Ok(tree::write_fields(tx, &obj, &objet(&volontaire)?)?)
        }
        Edit::ModifierOccurrence { collection, id, origine, exception } => {
            let record = existant(tx, collection, &id)?;
            let mut rythme = rythme_de(tx, &record, collection, &id)?;
            rythme.exceptions.insert(origine.clone(), exception.clone());
            rythme.verifier_origine(&origine).map_err(|e| ValidationError::Rythme(e.to_string()))?;
            rythme.valider().map_err(|e| ValidationError::Rythme(e.to_string()))?;
            liens_du_rythme(&rythme)?;
            let obj = tree::ensure_map(tx, &record, &["rythme", "exceptions", &origine])?;
            tree::write_fields(tx, &obj, &objet(&exception)?)?;
            ecrire(tx, &record, Map::new(), suivi(false))
        }
        Edit::Pauser { collection, id, pause } => {
            let record = existant(tx, collection, &id)?;
            let mut rythme = rythme_de(tx, &record, collection, &id)?;
            rythme.pauses.push(pause.clone());
            rythme.valider().map_err(|e| ValidationError::Rythme(e.to_string()))?;
            let rythme_obj = tree::ensure_map(tx, &record, &["rythme"])?;
            // Appended, not replaced: concurrent pauses both stay.
            let list = match tx.get(&rythme_obj, "pauses")? {
                Some((automerge::Value::Object(ObjType::List), list)) => list,
                _ => tx.put_object(&rythme_obj, "pauses", ObjType::List)?,
            };
            let index = tx.length(&list);
            let item = tx.insert_object(&list, index, ObjType::Map)?;
            tree::write_fields(tx, &item, &objet(&pause)?)?;
            ecrire(tx, &record, Map::new(), suivi(false))
        }
        Edit::ScinderSerie { action_id, a_partir_de, nouvel_id, champs } => {
            verifier_id(&nouvel_id)?;
            let record = existant(tx, Collection::Actions, &action_id)?;
            let action: Action = lire(tx, &record)?;
            let rythme = action.rythme.clone().ok_or_else(|| EditError::SansRythme(action_id.clone()))?;
            let (ancien, nouveau) =
                rythme.scinder(&a_partir_de, &action_id).map_err(|e| ValidationError::Rythme(e.to_string()))?;
            let mut suite = objet(&Action { rythme: Some(nouveau), suivi: Default::default(), ..action })?;
            for (k, v) in champs {
                suite.insert(k, v);
            }
            let mut ancien_champs = Map::new();
            ancien_champs.insert("rythme".into(), serde_json::to_value(&ancien).map_err(valeur_invalide)?);
            modifier_enregistrement::<Action>(
                tx,
                &record,
                Collection::Actions.profondeur(),
                ancien_champs,
                suivi(false),
            )?;
            let parent = tree::ensure_map(tx, &ROOT, Collection::Actions.path())?;
            if vivant(tx, &parent, &nouvel_id).is_some() {
                return Err(EditError::DejaUtilise(nouvel_id));
            }
            let nouveau_record = tx.put_object(&parent, nouvel_id.as_str(), ObjType::Map)?;
            for key in SUIVI {
                suite.remove(*key);
            }
            creer::<Action>(tx, &nouveau_record, suite, suivi(true))
        }
    }
}

/// A new action's `nature`, when the edit does not give one, is the one its
/// rhythm implies ([`Nature::du_rythme`]): one-off, recurring, or a chantier
/// without rendez-vous.
fn nature_a_la_creation(mut champs: Map<String, Value>) -> Map<String, Value> {
    if !champs.contains_key("nature") {
        let nature = Nature::du_rythme(champs.get("rythme").and_then(regle_presente));
        champs.insert("nature".into(), serde_json::to_value(nature).unwrap_or(Value::Null));
    }
    champs
}

/// A rendez-vous whose rhythm changes from one-off to recurring (or back)
/// changes nature too, unless the edit sets it; other natures (a
/// permanence, a workshop) stay.
fn nature_au_changement_de_rythme(
    tx: &Transaction<'_>,
    record: &ObjId,
    mut champs: Map<String, Value>,
) -> Map<String, Value> {
    let Some(regle) = champs.get("rythme").and_then(regle_presente) else { return champs };
    if champs.contains_key("nature") {
        return champs;
    }
    let actuelle = champs_du_record::<Action, _>(tx, record, Collection::Actions.profondeur()).remove("nature");
    let actuelle: Nature = actuelle.and_then(|n| serde_json::from_value(n).ok()).unwrap_or_default();
    if matches!(actuelle, Nature::RendezVousPonctuel | Nature::RendezVousRecurrent) {
        let nature = Nature::du_rythme(Some(regle));
        champs.insert("nature".into(), serde_json::to_value(nature).unwrap_or(Value::Null));
    }
    champs
}

/// For a rhythm given as JSON: `Some(true)` if it has a recurrence rule,
/// `Some(false)` if it is a one-off, `None` if there is no rhythm.
fn regle_presente(rythme: &Value) -> Option<bool> {
    match rythme {
        Value::Object(r) => Some(r.get("regle").is_some_and(|regle| !regle.is_null())),
        _ => None,
    }
}

fn valeur_invalide(e: serde_json::Error) -> EditError {
    EditError::ValeurInvalide(e.to_string())
}

pub(super) fn objet<T: Serialize>(value: &T) -> Result<Map<String, Value>, EditError> {
    match serde_json::to_value(value).map_err(valeur_invalide)? {
        Value::Object(m) => Ok(m),
        _ => Err(EditError::ValeurInvalide("un objet JSON était attendu".into())),
    }
}

/// Ids are map keys shared with storage paths and URLs: short and simple
/// ([`identifiant_valide`]).
pub(super) fn verifier_id(id: &str) -> Result<(), EditError> {
    if identifiant_valide(id) { Ok(()) } else { Err(EditError::IdentifiantInvalide(id.to_owned())) }
}

/// The record's map if it exists and is not deleted.
pub(super) fn vivant<R: ReadDoc>(tx: &R, parent: &ObjId, id: &str) -> Option<ObjId> {
    let record = tree::find_map(tx, parent, &[id])?;
    let supprime =
        matches!(tx.get(&record, "supprime"), Ok(Some((automerge::Value::Scalar(s), _))) if s.as_bool() == Some(true));
    (!supprime).then_some(record)
}

pub(super) fn existant<R: ReadDoc>(tx: &R, collection: Collection, id: &str) -> Result<ObjId, EditError> {
    // A record under an invalid id (written raw) is not read, so not edited.
    verifier_id(id)?;
    let parent = tree::find_map(tx, &ROOT, collection.path()).ok_or_else(|| EditError::Inconnu(id.to_owned()))?;
    vivant(tx, &parent, id).ok_or_else(|| EditError::Inconnu(id.to_owned()))
}

/// The schema's fields of a record at depth `profondeur`, read with the
/// reader's bounds (unknown fields are not read).
pub(super) fn champs_du_record<T: Default + Serialize, R: ReadDoc>(
    tx: &R,
    record: &ObjId,
    profondeur: usize,
) -> Map<String, Value> {
    let connus = champs_connus::<T>();
    let cles: Vec<&str> = connus.iter().map(String::as_str).collect();
    Lecteur::new(tx).champs(record, &Chemin::RACINE, profondeur, &cles, false)
}

pub(super) fn lire<T: Default + Serialize + DeserializeOwned, R: ReadDoc>(
    tx: &R,
    record: &ObjId,
) -> Result<T, EditError> {
    let json = champs_du_record::<T, R>(tx, record, Collection::Actions.profondeur());
    serde_json::from_value(Value::Object(json)).map_err(valeur_invalide)
}

fn rythme_de(tx: &Transaction<'_>, record: &ObjId, collection: Collection, id: &str) -> Result<Rythme, EditError> {
    let json = Lecteur::new(tx).champs(record, &Chemin::RACINE, collection.profondeur(), &["rythme"], false);
    let rythme = json.get("rythme").filter(|r| !r.is_null()).ok_or_else(|| EditError::SansRythme(id.to_owned()))?;
    serde_json::from_value(rythme.clone()).map_err(valeur_invalide)
}

pub(super) fn verifier_champs<T: Default + Serialize>(champs: &Map<String, Value>) -> Result<(), EditError> {
    let connus = champs_connus::<T>();
    match champs.keys().find(|k| SUIVI.contains(&k.as_str()) || !connus.contains(k)) {
        Some(k) => Err(EditError::ChampInconnu(k.clone())),
        None => Ok(()),
    }
}

fn creer<T>(
    tx: &mut Transaction<'_>,
    record: &ObjId,
    champs: Map<String, Value>,
    suivi: Map<String, Value>,
) -> Result<(), EditError>
where
    T: Default + Serialize + DeserializeOwned + Valider,
{
    verifier_champs::<T>(&champs)?;
    let mut canonique = canonique::<T>(champs)?;
    // Absent optional fields are simply not written.
    canonique.retain(|_, v| !v.is_null());
    ecrire(tx, record, canonique, suivi)
}

fn modifier_enregistrement<T>(
    tx: &mut Transaction<'_>,
    record: &ObjId,
    profondeur: usize,
    champs: Map<String, Value>,
    suivi: Map<String, Value>,
) -> Result<(), EditError>
where
    T: Default + Serialize + DeserializeOwned + Valider,
{
    verifier_champs::<T>(&champs)?;
    let mut actuel = champs_du_record::<T, _>(tx, record, profondeur);
    for (k, v) in &champs {
        actuel.insert(k.clone(), v.clone());
    }
    // The whole record is validated; only the edited fields are written.
    let canonique = canonique::<T>(actuel)?;
    let ecrits = champs.keys().map(|k| (k.clone(), canonique.get(k).cloned().unwrap_or(Value::Null))).collect();
    ecrire(tx, record, ecrits, suivi)
}

/// Reads `champs` as a `T`, validates it, and returns it in canonical JSON
/// (enum spellings, defaults filled in).
fn canonique<T>(champs: Map<String, Value>) -> Result<Map<String, Value>, EditError>
where
    T: Serialize + DeserializeOwned + Valider,
{
    let typed: T = serde_json::from_value(Value::Object(champs)).map_err(valeur_invalide)?;
    typed.valider()?;
    objet(&typed)
}

/// Writes validated fields and the bookkeeping into a record.
fn ecrire(
    tx: &mut Transaction<'_>,
    record: &ObjId,
    mut champs: Map<String, Value>,
    suivi: Map<String, Value>,
) -> Result<(), EditError> {
    champs.extend(suivi);
    tree::write_fields(tx, record, &champs)?;
    Ok(structure(tx, record)?)
}

/// Creates, in the same change as their parent, the containers that
/// several people later add to concurrently: `besoins/*/volontaires`,
/// `rythme/exceptions` and `rythme/pauses`. Created later by two people at
/// once, they would conflict and one person's additions would be hidden.
fn structure(tx: &mut Transaction<'_>, record: &ObjId) -> Result<(), AutomergeError> {
    if let Some(besoins) = tree::find_map(tx, record, &["besoins"]) {
        let ids: Vec<String> = tx.keys(&besoins).collect();
        for id in ids {
            if let Some(besoin) = tree::find_map(tx, &besoins, &[&id]) {
                tree::ensure_map(tx, &besoin, &["volontaires"])?;
            }
        }
    }
    if let Some(rythme) = tree::find_map(tx, record, &["rythme"]) {
        tree::ensure_map(tx, &rythme, &["exceptions"])?;
        if tx.get(&rythme, "pauses")?.is_none() {
            tx.put_object(&rythme, "pauses", ObjType::List)?;
        }
    }
    Ok(())
}
