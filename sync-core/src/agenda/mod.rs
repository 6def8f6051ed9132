//! The territory agenda: one Automerge document per territory.
//!
//! `schema.rs` declares the records (French names, as in the domain model)
//! and their validation; `edit.rs` turns an [`Edit`] into writes;
//! `demande.rs` checks and writes a resident's request ([`DemandeHabitant`]),
//! `departements.rs` names the département of a commune's INSEE code,
//! `essaimage.rs` copies another territory's public action as a draft,
//! which the relay applies for them; `tree.rs`
//! maps JSON-shaped records onto Automerge objects. This module builds the
//! read model, [`Agenda`], with every concurrent value of a field that two
//! people changed at once ([`Conflit`]) and who made each change.
//!
//! The document layout (key names, types, which fields are texts) is written
//! down in `docs/schema.md`. Only this module knows it; the relay never
//! interprets agenda content except through this read model (for feeds).

mod demande;
mod departements;
mod documents;
mod edit;
mod essaimage;
mod fiche;
mod historique;
mod lecture;
mod repo;
mod schema;
mod tree;

use std::collections::BTreeMap;

use automerge::{ActorId, Automerge, ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

pub use demande::{DemandeError, DemandeHabitant, NOM_MAX, preuve_du_secret};
pub use departements::{DEPARTEMENTS, Departement, departement, departement_de_commune, departements_des_communes};
#[cfg(test)]
pub(crate) use documents::ecrire_contact_ancien;
pub use documents::{Carnet, DOCUMENTS_MAX, EditCarnet, GenreDocument, documents_attaches, lire_carnet};
pub use edit::{Collection, Edit, EditError};
pub use essaimage::{ActionPublique, EssaimageError, LICENCE_PAR_DEFAUT, essaimer};
pub use fiche::{
    ActionLiee, ContenuFiche, DifferenceSection, EditFiche, Fiche, FicheError, FichePubliee, GenreMorceau,
    LicenceFiche, Morceau, RESUME_MAX, Relecture, RetraitFiche, SECTION_MAX, SECTIONS, TERRITOIRES_MAX, TITRE_MAX,
    TerritoireFiche, VersionFiche, difference_de_mots, differences, fiche_publiee, lire_fiche, territoires_de_fiche,
};
pub use historique::{Evenement, historique_en_mots};
pub use lecture::{LectureAgenda, MiseAJour, lire};
pub use repo::{ApplyError, SuiteDemande};
pub(crate) use schema::mesure_valide;
pub use schema::*;

pub(crate) use edit::{SUIVI, appliquer_dans};
#[cfg(all(test, feature = "flux"))]
pub(crate) use tree::ENTREES_MAX as ENTREES_MAX_POUR_TESTS;

/// Who wrote one of several concurrent values, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ValeurConcurrente {
    /// The value.
    #[ts(type = "unknown")]
    pub valeur: Value,
    /// Actor id of its author, when known.
    pub auteur: Option<String>,
    /// When it was written, milliseconds since the epoch.
    pub date: Option<i64>,
}

/// A field two people changed at once. Shown with every value; resolved by
/// an edit that sets the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Conflit {
    /// Path of the field, such as `actions/a1/lieu/libelle`.
    pub chemin: String,
    /// The concurrent values; the first is the one shown by default.
    pub valeurs: Vec<ValeurConcurrente>,
}

/// The roadmap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct FeuilleDeRoute {
    /// First year of the horizon.
    #[serde(default)]
    pub horizon_debut: Option<String>,
    /// Last year of the horizon.
    #[serde(default)]
    pub horizon_fin: Option<String>,
    /// Phases by id.
    #[serde(default)]
    #[ts(type = "Record<string, Phase>")]
    pub phases: BTreeMap<String, Phase>,
}

/// One change of the document: who, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Modification {
    /// Actor id of the author.
    pub auteur: Option<String>,
    /// Milliseconds since the epoch.
    pub date: i64,
    /// What the edit was (its type and target).
    pub quoi: String,
}

/// What the UI renders: the territory's records, deleted ones left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Agenda {
    /// The profile, once set.
    pub profil: Option<Profil>,
    /// Actions by id.
    #[ts(type = "Record<string, Action>")]
    pub actions: BTreeMap<String, Action>,
    /// Actors by id (public fields).
    #[ts(type = "Record<string, Acteur>")]
    pub acteurs: BTreeMap<String, Acteur>,
    /// Private contacts written in the territory document before the
    /// organisers' notebook existed (`documents.rs`), by actor id: moved
    /// there by `Repo::migrer_contacts`; never exported by feeds.
    #[ts(type = "Record<string, ContactPrive>")]
    pub contacts_prives: BTreeMap<String, ContactPrive>,
    /// The roadmap.
    pub feuille_de_route: FeuilleDeRoute,
    /// Governance bodies by id.
    #[ts(type = "Record<string, Instance>")]
    pub instances: BTreeMap<String, Instance>,
    /// Decisions by id.
    #[ts(type = "Record<string, Decision>")]
    pub decisions: BTreeMap<String, Decision>,
    /// The names of those who edit it, by actor id.
    #[ts(type = "Record<string, Auteur>")]
    pub auteurs: BTreeMap<String, Auteur>,
    /// Fields with concurrent values.
    pub conflits: Vec<Conflit>,
    /// Records that could not be read (written by a newer or broken
    /// client); shown as a warning, never dropped from the document.
    pub erreurs: Vec<String>,
}

/// Creates the containers of a new territory document, in its first
/// change, so that people adding records concurrently never create the same
/// container twice (which Automerge would keep as a conflict, hiding one
/// side's records).
pub(crate) fn initialiser(tx: &mut automerge::transaction::Transaction<'_>) -> Result<(), automerge::AutomergeError> {
    for path in [
        &["actions"][..],
        &["acteurs"],
        &["instances"],
        &["auteurs"],
        &[documents::DOCUMENTS],
        &["decisions"],
        &["feuille_de_route", "phases"],
    ] {
        tree::ensure_map(tx, &ROOT, path)?;
    }
    Ok(())
}

/// One rendez-vous of the agenda: an occurrence of an action or of a
/// governance body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RendezVous {
    /// `actions` or `instances`.
    pub collection: Collection,
    /// The record's id.
    pub id: String,
    /// Its title (or name).
    pub titre: String,
    /// When, where, in which state.
    pub occurrence: crate::rythme::Occurrence,
}

impl Agenda {
    /// The rendez-vous starting between `du` and `au`, in time order,
    /// cancelled ones included (shown as "annulé"). Records whose rhythm
    /// cannot be expanded are reported in `erreurs` by the caller's next
    /// read; here they are skipped.
    pub fn rendez_vous(&self, du: crate::rythme::Timestamp, au: crate::rythme::Timestamp) -> Vec<RendezVous> {
        let actions = self.actions.iter().map(|(id, a)| (Collection::Actions, id, &a.titre, &a.rythme));
        let instances = self.instances.iter().map(|(id, i)| (Collection::Instances, id, &i.nom, &i.rythme));
        let mut all: Vec<RendezVous> = actions
            .chain(instances)
            .filter_map(|(collection, id, titre, rythme)| Some((collection, id, titre, rythme.as_ref()?)))
            .flat_map(|(collection, id, titre, rythme)| {
                let occurrences = rythme.occurrences(du, au).unwrap_or_default();
                occurrences.into_iter().map(move |occurrence| RendezVous {
                    collection,
                    id: id.clone(),
                    titre: titre.clone(),
                    occurrence,
                })
            })
            .collect();
        all.sort_by(|a, b| (a.occurrence.debut_utc, &a.id).cmp(&(b.occurrence.debut_utc, &b.id)));
        all
    }

    /// Long-running work without dated rendez-vous (*chantiers*), shown
    /// apart from the agenda.
    pub fn chantiers(&self) -> Vec<(&String, &Action)> {
        self.actions.iter().filter(|(_, a)| a.rythme.is_none()).collect()
    }
}

/// Applies `edit` to a territory document as one Automerge change made by
/// `auteur` at `now_millis` (the change's time in seconds, its message
/// naming the author and the edit). An invalid edit changes nothing.
///
/// [`crate::Repo::apply`] uses it on the documents it holds; it is public for
/// code that builds documents outside a repo (benchmarks, fixtures).
pub fn appliquer(am: &mut Automerge, now_millis: i64, auteur: &str, edit: Edit) -> Result<(), EditError> {
    let message = message(auteur, &edit);
    un_changement(am, now_millis, message, |tx| appliquer_dans(tx, now_millis, auteur, edit))
}

/// Writes a new territory document's first change, made by `auteur` at
/// `now_millis`: the containers ([`initialiser`]) and the profile, as the
/// edit [`Edit::ModifierProfil`] would (same validation, same message). One
/// change, so a new territory costs one write and one round of sync.
pub(crate) fn creer_territoire(
    am: &mut Automerge,
    now_millis: i64,
    auteur: &str,
    profil: &Profil,
) -> Result<(), EditError> {
    let champs = match serde_json::to_value(profil) {
        Ok(Value::Object(champs)) => champs,
        _ => serde_json::Map::new(),
    };
    let champs = champs.into_iter().filter(|(k, v)| !v.is_null() && !SUIVI.contains(&k.as_str())).collect();
    let edit = Edit::ModifierProfil { champs };
    let message = message(auteur, &edit);
    un_changement(am, now_millis, message, |tx| {
        initialiser(tx)?;
        appliquer_dans(tx, now_millis, auteur, edit)
    })
}

/// Runs `ecrire` in one Automerge transaction, committed at `now_millis`
/// (in seconds, as Automerge stores it) with `message`; rolled back on error.
pub(crate) fn un_changement(
    am: &mut Automerge,
    now_millis: i64,
    message: String,
    ecrire: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), EditError>,
) -> Result<(), EditError> {
    let options =
        automerge::transaction::CommitOptions::default().with_time(now_millis.div_euclid(1000)).with_message(message);
    am.transact_with(|_| options, ecrire).map(|_| ()).map_err(|failure| failure.error)
}

/// The change message of an edit: who made it and what it was.
pub(crate) fn message(auteur: &str, edit: &Edit) -> String {
    let quoi = match edit {
        Edit::ModifierProfil { .. } => "modifier profil".to_owned(),
        Edit::ModifierHorizon { .. } => "modifier horizon".to_owned(),
        Edit::Creer { collection, id, .. } => format!("creer {collection:?} {id}"),
        Edit::Modifier { collection, id, champs } => {
            format!("modifier {collection:?} {id} {}", champs.keys().cloned().collect::<Vec<_>>().join(","))
        }
        Edit::Supprimer { collection, id } => format!("supprimer {collection:?} {id}"),
        Edit::DefinirNom { .. } => "nom".to_owned(),
        Edit::AttacherDocument { document, .. } => format!("document {document}"),
        Edit::DetacherDocument { document } => format!("document {document}"),
        Edit::DefinirBesoin { action_id, besoin_id, .. } => format!("besoin {action_id} {besoin_id}"),
        Edit::AjouterVolontaire { action_id, besoin_id, .. } => format!("volontaire {action_id} {besoin_id}"),
        Edit::ModifierOccurrence { id, origine, .. } => format!("occurrence {id} {origine}"),
        Edit::Pauser { id, .. } => format!("pause {id}"),
        Edit::ScinderSerie { action_id, a_partir_de, .. } => format!("scinder {action_id} {a_partir_de}"),
    }
    .to_lowercase();
    serde_json::json!({ "auteur": auteur, "quoi": quoi }).to_string()
}

/// The errors of one read, at most [`ERREURS_MAX`], each at most
/// [`ERREUR_CARACTERES_MAX`] characters: a message may quote a value
/// (serde names the unknown variant it met), and a crafted document could
/// otherwise make the list as big as the document many times over.
#[derive(Clone, Default)]
struct Erreurs(Vec<String>);

/// Errors kept by one read; the last one says how many more there were.
const ERREURS_MAX: usize = 100;
/// Characters kept of one error.
const ERREUR_CARACTERES_MAX: usize = 300;

impl Erreurs {
    fn push(&mut self, erreur: String) {
        match self.0.len() {
            n if n < ERREURS_MAX => {
                let mut e: String = erreur.chars().take(ERREUR_CARACTERES_MAX).collect();
                if e.len() < erreur.len() {
                    e.push('…');
                }
                self.0.push(e);
            }
            ERREURS_MAX => self.0.push("et d'autres erreurs".to_owned()),
            _ => {}
        }
    }
}

fn typed<T: serde::de::DeserializeOwned>(chemin: &str, value: Value, erreurs: &mut Erreurs) -> Option<T> {
    match serde_json::from_value(value) {
        Ok(t) => Some(t),
        Err(e) => {
            erreurs.push(format!("{chemin} : {e}"));
            None
        }
    }
}

/// The schema's fields of the map at `cle` in `parent` (a record or the
/// profile, at depth `profondeur`), if it is a map. Concurrent creations of
/// it are recorded as a conflict.
fn enregistrement<R: ReadDoc>(
    l: &mut tree::Lecteur<'_, R>,
    parent: &ObjId,
    chemin_parent: &tree::Chemin<'_>,
    cle: &str,
    profondeur: usize,
    cles: &[&str],
) -> Option<serde_json::Map<String, Value>> {
    let chemin = chemin_parent.sous(cle);
    let tous = l.tous(parent, cle);
    let (gagnant, obj) = tous.last()?;
    if tous.len() > 1 {
        l.conflit(&chemin, profondeur, &tous, Some(cles));
    }
    matches!(gagnant, automerge::Value::Object(automerge::ObjType::Map))
        .then(|| l.champs(obj, &chemin, profondeur, cles, true))
}

/// The live records of a collection (tombstones left out), read through
/// their type's fields only. Keys that are not record ids are dropped
/// unread.
fn collection<T: serde::de::DeserializeOwned + Default + Serialize, R: ReadDoc>(
    l: &mut tree::Lecteur<'_, R>,
    path: &[&str],
    erreurs: &mut Erreurs,
) -> BTreeMap<String, T> {
    let mut records = BTreeMap::new();
    let Some(parent) = tree::find_map(l.doc(), &ROOT, path) else { return records };
    let nom = path.join("/");
    let racine = tree::Chemin::RACINE;
    let conteneur = racine.sous(&nom);
    let profondeur = path.len() + 1;
    let connus = schema::champs_connus::<T>();
    let cles: Vec<&str> = connus.iter().map(String::as_str).collect();
    for id in ids_de_collection(l, &parent, &conteneur, erreurs) {
        let Some(champs) = champs_de_fiche(l, &parent, &conteneur, &id, profondeur, &cles, erreurs) else { continue };
        if let Some(record) = typed(&format!("{nom}/{id}"), Value::Object(champs), erreurs) {
            records.insert(id, record);
        }
    }
    records
}

/// The record ids the collection `parent` at `conteneur` lists, within
/// the reader's bounds; keys that are not ids are counted in one error.
fn ids_de_collection<R: ReadDoc>(
    l: &mut tree::Lecteur<'_, R>,
    parent: &ObjId,
    conteneur: &tree::Chemin<'_>,
    erreurs: &mut Erreurs,
) -> Vec<String> {
    let mut invalides = 0;
    let ids = l.entrees(parent, conteneur, |id| {
        let ok = identifiant_valide(id);
        if !ok {
            invalides += 1;
        }
        ok
    });
    if invalides > 0 {
        let nom = conteneur.texte();
        erreurs.push(format!("{nom} : {invalides} enregistrements sous un identifiant invalide, ignorés"));
    }
    ids
}

/// The schema's fields of the live record `id` of the collection `parent`
/// at `conteneur` (a tombstone gives none; a value that is not a map gives
/// none and an error), read through the keys `cles` of its type only.
fn champs_de_fiche<R: ReadDoc>(
    l: &mut tree::Lecteur<'_, R>,
    parent: &ObjId,
    conteneur: &tree::Chemin<'_>,
    id: &str,
    profondeur: usize,
    cles: &[&str],
    erreurs: &mut Erreurs,
) -> Option<serde_json::Map<String, Value>> {
    let Some(champs) = enregistrement(l, parent, conteneur, id, profondeur, cles) else {
        erreurs.push(format!("{}/{id} : un enregistrement est un objet", conteneur.texte()));
        return None;
    };
    (champs.get("supprime").and_then(Value::as_bool) != Some(true)).then_some(champs)
}

/// Drops what a raw change could put in an action that an edit refuses and
/// a reader must not act on: links that are not `http:`/`https:`, needs
/// and volunteers under invalid ids.
fn assainir_action(id: &str, action: &mut Action, erreurs: &mut Erreurs) {
    if action.lien_en_ligne.as_deref().is_some_and(|l| !l.trim().is_empty() && !lien_valide(l)) {
        action.lien_en_ligne = None;
        erreurs.push(format!("actions/{id}/lien_en_ligne : lien refusé (ni http ni https)"));
    }
    if let Some(r) = &mut action.rythme {
        assainir_rythme(&format!("actions/{id}"), r, erreurs);
    }
    let avant = action.besoins.len();
    action.besoins.retain(|b, _| identifiant_valide(b));
    let mut retires = avant - action.besoins.len();
    for (bid, besoin) in &mut action.besoins {
        let avant = besoin.volontaires.len();
        besoin.volontaires.retain(|v, _| identifiant_valide(v));
        retires += avant - besoin.volontaires.len();
        for (vid, v) in &mut besoin.volontaires {
            if v.preuve.as_deref().is_some_and(|p| !preuve_valide(p)) {
                v.preuve = None;
                erreurs.push(format!("actions/{id}/besoins/{bid}/volontaires/{vid}/preuve : preuve invalide, ignorée"));
            }
            if let Some(message) = &mut v.message
                && let Some((fin, _)) = message.char_indices().nth(MESSAGE_MAX)
            {
                message.truncate(fin);
                erreurs.push(format!(
                    "actions/{id}/besoins/{bid}/volontaires/{vid}/message : coupé à {MESSAGE_MAX} caractères"
                ));
            }
        }
    }
    if retires > 0 {
        erreurs.push(format!("actions/{id} : {retires} besoins ou volontaires sous un identifiant invalide, ignorés"));
    }
}

fn assainir_rythme(chemin: &str, rythme: &mut crate::rythme::Rythme, erreurs: &mut Erreurs) {
    for (origine, exception) in &mut rythme.exceptions {
        if exception.lien_en_ligne.as_deref().is_some_and(|l| !l.trim().is_empty() && !lien_valide(l)) {
            exception.lien_en_ligne = None;
            erreurs.push(format!("{chemin}/rythme/exceptions/{origine} : lien refusé (ni http ni https)"));
        }
    }
}

/// Keeps the conflicts a person should see (not bookkeeping fields), with
/// the author and time of each value.
fn conflicts(doc: &Automerge, raw: Vec<tree::RawConflict>) -> Vec<Conflit> {
    if raw.is_empty() {
        return Vec::new();
    }
    conflicts_avec(&authors_by_actor(doc), raw)
}

/// [`conflicts`] with the authors already found.
fn conflicts_avec(authors: &Authors, raw: Vec<tree::RawConflict>) -> Vec<Conflit> {
    raw.into_iter()
        .filter(|c| !["cree_le", "modifie_le", "modifie_par"].iter().any(|k| c.chemin_fini_par(k)))
        .map(|c| Conflit {
            chemin: c.path.clone(),
            valeurs: c
                .values
                .into_iter()
                .map(|(valeur, id)| {
                    let (auteur, date) = match &id {
                        ObjId::Id(counter, actor, _) => authors.find(actor, *counter),
                        ObjId::Root => (None, None),
                    };
                    ValeurConcurrente { valeur, auteur, date }
                })
                .collect(),
        })
        .collect()
}

impl tree::RawConflict {
    fn chemin_fini_par(&self, key: &str) -> bool {
        self.path.rsplit('/').next() == Some(key)
    }
}

/// For each change: its actor, op range, author (from its message) and time.
struct Authors(Vec<(ActorId, u64, u64, Option<String>, i64)>);

impl Authors {
    fn find(&self, actor: &ActorId, counter: u64) -> (Option<String>, Option<i64>) {
        self.0
            .iter()
            .find(|(a, start, end, _, _)| a == actor && (*start..*end).contains(&counter))
            .map_or((None, None), |(_, _, _, auteur, time)| (auteur.clone(), Some(time * 1000)))
    }
}

fn authors_by_actor(doc: &Automerge) -> Authors {
    Authors(
        doc.get_changes(&[])
            .iter()
            .map(|c| {
                let start = c.start_op().get();
                (c.actor_id().clone(), start, start + c.len() as u64, author_of(c.message()), c.timestamp())
            })
            .collect(),
    )
}

fn author_of(message: Option<&str>) -> Option<String> {
    let parsed: Value = serde_json::from_str(message?).ok()?;
    parsed.get("auteur")?.as_str().map(str::to_owned)
}

/// The history of the document, oldest first: who changed what, when.
pub fn historique(doc: &Automerge) -> Vec<Modification> {
    doc.get_changes(&[])
        .iter()
        .filter_map(|c| {
            let parsed: Value = serde_json::from_str(c.message()?).ok()?;
            Some(Modification {
                auteur: parsed.get("auteur").and_then(Value::as_str).map(str::to_owned),
                date: c.timestamp() * 1000,
                quoi: parsed.get("quoi").and_then(Value::as_str).unwrap_or_default().to_owned(),
            })
        })
        .collect()
}
