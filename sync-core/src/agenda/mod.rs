//! The territory agenda: one Automerge document per territory.
//!
//! `schema.rs` declares the records (French names, as in the domain model)
//! and their validation; `edit.rs` turns an [`Edit`] into writes; `tree.rs`
//! maps JSON-shaped records onto Automerge objects. This module builds the
//! read model, [`Agenda`], with every concurrent value of a field that two
//! people changed at once ([`Conflit`]) and who made each change.
//!
//! The document layout (key names, types, which fields are texts) is written
//! down in `docs/schema.md`. Only this module knows it; the relay never
//! interprets agenda content except through this read model (for feeds).

mod edit;
mod schema;
mod tree;

use std::collections::BTreeMap;

use automerge::{ActorId, Automerge, ObjId, ROOT};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use edit::{Collection, Edit, EditError};
pub use schema::*;

pub(crate) use edit::{SUIVI, appliquer};

/// Who wrote one of several concurrent values, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValeurConcurrente {
    /// The value.
    pub valeur: Value,
    /// Actor id of its author, when known.
    pub auteur: Option<String>,
    /// When it was written, milliseconds since the epoch.
    pub date: Option<i64>,
}

/// A field two people changed at once. Shown with every value; resolved by
/// an edit that sets the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflit {
    /// Path of the field, such as `actions/a1/lieu/libelle`.
    pub chemin: String,
    /// The concurrent values; the first is the one shown by default.
    pub valeurs: Vec<ValeurConcurrente>,
}

/// The roadmap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeuilleDeRoute {
    /// First year of the horizon.
    #[serde(default)]
    pub horizon_debut: Option<String>,
    /// Last year of the horizon.
    #[serde(default)]
    pub horizon_fin: Option<String>,
    /// Phases by id.
    #[serde(default)]
    pub phases: BTreeMap<String, Phase>,
}

/// One change of the document: who, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Modification {
    /// Actor id of the author.
    pub auteur: Option<String>,
    /// Milliseconds since the epoch.
    pub date: i64,
    /// What the edit was (its type and target).
    pub quoi: String,
}

/// What the UI renders: the territory's records, deleted ones left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agenda {
    /// The profile, once set.
    pub profil: Option<Profil>,
    /// Actions by id.
    pub actions: BTreeMap<String, Action>,
    /// Actors by id (public fields).
    pub acteurs: BTreeMap<String, Acteur>,
    /// Actors' private contacts by actor id; never exported by feeds.
    pub contacts_prives: BTreeMap<String, ContactPrive>,
    /// The roadmap.
    pub feuille_de_route: FeuilleDeRoute,
    /// Governance bodies by id.
    pub instances: BTreeMap<String, Instance>,
    /// Decisions by id.
    pub decisions: BTreeMap<String, Decision>,
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
        &["contacts_prives"],
        &["instances"],
        &["decisions"],
        &["feuille_de_route", "phases"],
    ] {
        tree::ensure_map(tx, &ROOT, path)?;
    }
    Ok(())
}

/// One rendez-vous of the agenda: an occurrence of an action or of a
/// governance body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub fn modifier(am: &mut Automerge, now_millis: i64, auteur: &str, edit: Edit) -> Result<(), EditError> {
    let options = automerge::transaction::CommitOptions::default()
        .with_time(now_millis.div_euclid(1000))
        .with_message(message(auteur, &edit));
    am.transact_with(|_| options, |tx| appliquer(tx, now_millis, auteur, edit))
        .map(|_| ())
        .map_err(|failure| failure.error)
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
        Edit::DefinirContact { acteur_id, .. } => format!("contact {acteur_id}"),
        Edit::DefinirBesoin { action_id, besoin_id, .. } => format!("besoin {action_id} {besoin_id}"),
        Edit::AjouterVolontaire { action_id, besoin_id, .. } => format!("volontaire {action_id} {besoin_id}"),
        Edit::ModifierOccurrence { id, origine, .. } => format!("occurrence {id} {origine}"),
        Edit::Pauser { id, .. } => format!("pause {id}"),
        Edit::ScinderSerie { action_id, a_partir_de, .. } => format!("scinder {action_id} {a_partir_de}"),
    }
    .to_lowercase();
    serde_json::json!({ "auteur": auteur, "quoi": quoi }).to_string()
}

/// Reads the agenda of a territory document.
pub fn lire(doc: &Automerge) -> Agenda {
    let mut raw_conflicts = Vec::new();
    let root = tree::read_map(doc, &ROOT, "", &mut raw_conflicts);
    let mut agenda = Agenda::default();
    let mut erreurs = Vec::new();
    if let Some(p) = root.get("profil") {
        agenda.profil = typed("profil", p, &mut erreurs);
    }
    agenda.actions = collection(&root, &["actions"], &mut erreurs);
    agenda.acteurs = collection(&root, &["acteurs"], &mut erreurs);
    agenda.instances = collection(&root, &["instances"], &mut erreurs);
    agenda.decisions = collection(&root, &["decisions"], &mut erreurs);
    agenda.contacts_prives = collection(&root, &["contacts_prives"], &mut erreurs);
    let roadmap = root.get("feuille_de_route");
    agenda.feuille_de_route = FeuilleDeRoute {
        horizon_debut: roadmap.and_then(|r| r.get("horizon_debut")).and_then(Value::as_str).map(str::to_owned),
        horizon_fin: roadmap.and_then(|r| r.get("horizon_fin")).and_then(Value::as_str).map(str::to_owned),
        phases: collection(&root, &["feuille_de_route", "phases"], &mut erreurs),
    };
    agenda.erreurs = erreurs;
    agenda.conflits = conflicts(doc, raw_conflicts);
    agenda
}

fn typed<T: serde::de::DeserializeOwned>(chemin: &str, value: &Value, erreurs: &mut Vec<String>) -> Option<T> {
    match serde_json::from_value(value.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            erreurs.push(format!("{chemin} : {e}"));
            None
        }
    }
}

/// The live records of a collection (tombstones left out).
fn collection<T: serde::de::DeserializeOwned>(
    root: &Value,
    path: &[&str],
    erreurs: &mut Vec<String>,
) -> BTreeMap<String, T> {
    let mut node = root;
    for key in path {
        match node.get(*key) {
            Some(next) => node = next,
            None => return BTreeMap::new(),
        }
    }
    let Some(records) = node.as_object() else { return BTreeMap::new() };
    records
        .iter()
        .filter(|(_, r)| r.get("supprime").and_then(Value::as_bool) != Some(true))
        .filter_map(|(id, r)| Some((id.clone(), typed(&format!("{}/{id}", path.join("/")), r, erreurs)?)))
        .collect()
}

/// Keeps the conflicts a person should see (not bookkeeping fields), with
/// the author and time of each value.
fn conflicts(doc: &Automerge, raw: Vec<tree::RawConflict>) -> Vec<Conflit> {
    if raw.is_empty() {
        return Vec::new();
    }
    let authors = authors_by_actor(doc);
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
