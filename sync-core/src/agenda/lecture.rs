//! The agenda read model, read whole ([`lire`]) or brought up to a new
//! version from what changed ([`LectureAgenda::suivre`]).
//!
//! A read is cut into parts: the profile, each collection's listing of
//! ids, each record, the roadmap's horizon. What a part reads depends only
//! on its own subtree of the document, except through the read's two
//! global bounds (values read in all, conflicts recorded in all). So what
//! each part gave is kept (its record, errors, conflicts, omissions and the
//! values it read), and after a change only the parts above the objects
//! the new changes' operations touch are read again; everything is then
//! assembled in the order of a whole read, exactly as a whole read would.
//! The read is whole again when that cannot be sure: the parts kept come
//! near a global bound, the new changes are many, an operation replaces a
//! collection itself, or the previous version is not in the document's
//! history.
//!
//! Does not: decide what a part holds or how it is checked (`mod.rs`:
//! `enregistrement`, `typed`, `assainir_*`), nor bound anything itself
//! (`tree.rs`'s [`tree::Lecteur`] does).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use automerge::{Automerge, ChangeHash, ObjId, Prop, ROOT, ReadDoc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::edit::Collection;
use super::tree::{self, Lecteur, Omissions, RawConflict};
use super::{
    Agenda, Authors, Conflit, Erreurs, Instance, Profil, assainir_action, assainir_rythme, authors_by_actor,
    champs_de_fiche, conflicts_avec, enregistrement, ids_de_collection, schema, typed,
};

/// Where a part sits in the document, in the order a whole read visits
/// it (the order of the read model's errors and conflicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Partie {
    Profil,
    Actions,
    Acteurs,
    Instances,
    Decisions,
    ContactsPrives,
    Auteurs,
    Horizon,
    Phases,
}

impl Partie {
    /// The collections, in reading order.
    const COLLECTIONS: [Partie; 7] = [
        Partie::Actions,
        Partie::Acteurs,
        Partie::Instances,
        Partie::Decisions,
        Partie::ContactsPrives,
        Partie::Auteurs,
        Partie::Phases,
    ];

    /// The collection whose container is at `cle` of the root.
    fn a_la_racine(cle: &str) -> Option<Partie> {
        Partie::COLLECTIONS.into_iter().find(|p| p.chemin() == [cle])
    }

    /// The keys a record of this part may hold (the profile's for the
    /// profile; none for the horizon, read by name), from its type's serde
    /// shape, computed once: a whole read asks for each record.
    fn cles(self) -> &'static [String] {
        static CLES: [OnceLock<Vec<String>>; 9] = [const { OnceLock::new() }; 9];
        CLES[self as usize].get_or_init(|| match self {
            Partie::Profil => schema::champs_connus::<Profil>(),
            Partie::Actions => schema::champs_connus::<super::Action>(),
            Partie::Acteurs => schema::champs_connus::<super::Acteur>(),
            Partie::Instances => schema::champs_connus::<Instance>(),
            Partie::Decisions => schema::champs_connus::<super::Decision>(),
            Partie::ContactsPrives => schema::champs_connus::<super::ContactPrive>(),
            Partie::Auteurs => schema::champs_connus::<super::Auteur>(),
            Partie::Phases => schema::champs_connus::<super::Phase>(),
            Partie::Horizon => Vec::new(),
        })
    }

    /// The container's path from the root (a collection's map; the
    /// roadmap's for the horizon; the profile's).
    fn chemin(self) -> &'static [&'static str] {
        match self {
            Partie::Profil => &["profil"],
            Partie::Actions => Collection::Actions.path(),
            Partie::Acteurs => &["acteurs"],
            Partie::Instances => Collection::Instances.path(),
            Partie::Decisions => Collection::Decisions.path(),
            Partie::ContactsPrives => &["contacts_prives"],
            Partie::Auteurs => &["auteurs"],
            Partie::Horizon => &["feuille_de_route"],
            Partie::Phases => Collection::Phases.path(),
        }
    }
}

/// One part: a record (`Some(id)`) of a collection, or the part itself
/// (the profile, the horizon, a collection's listing of ids).
type Unite = (Partie, Option<String>);

/// What reading one part gave besides its record.
#[derive(Clone, Default)]
struct Bilan {
    /// Values read (tree.rs's budget).
    valeurs: usize,
    /// Conflicts recorded (tree.rs's cap), bookkeeping fields included.
    conflits_lus: usize,
    /// Conflicts recorded, until [`LectureAgenda::attribuer`] gives them
    /// their authors.
    bruts: Vec<RawConflict>,
    /// The conflicts a person sees, with their authors.
    conflits: Vec<Conflit>,
    /// What the bounds left out.
    omissions: Omissions,
    /// Errors while reading.
    erreurs: Erreurs,
    /// Errors while sanitising the record (after every part is read, in a
    /// whole read).
    assainies: Erreurs,
}

/// New changes beyond which the read is whole again: decoding each
/// operation to find its part would cost more than reading.
const OPERATIONS_SUIVIES_MAX: usize = 2_000;

/// How a [`LectureAgenda`] reached the document's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiseAJour {
    /// Already at it.
    AJour,
    /// By reading this many parts again.
    Parties(usize),
    /// By reading the document whole.
    Entiere,
}

/// A territory's read model with what each of its parts gave, so that the
/// next version is read from what changed (see the module docs).
#[derive(Clone)]
pub struct LectureAgenda {
    tetes: Vec<ChangeHash>,
    agenda: Agenda,
    bilans: BTreeMap<Unite, Bilan>,
}

/// Reads the agenda of a territory document.
///
/// Only the schema is read: the root's known keys, each record's known
/// fields, records under ids of the schema's format
/// ([`identifiant_valide`]), within the bounds of `tree.rs` (depth, entries,
/// characters, values in all), so a crafted document costs no more to read
/// than a legal one of the same size and cannot overflow the stack. Links
/// that are not `http:`/`https:` ([`super::lien_valide`]) are dropped. A
/// record that does not fit its type is left out and named in `erreurs`;
/// the rest of the agenda still reads. What the bounds left out is said in
/// one line of `erreurs`.
pub fn lire(doc: &Automerge) -> Agenda {
    LectureAgenda::nouvelle(doc).agenda
}

impl LectureAgenda {
    /// The document read whole.
    pub fn nouvelle(doc: &Automerge) -> LectureAgenda {
        let mut lecture = LectureAgenda { tetes: doc.get_heads(), agenda: Agenda::default(), bilans: BTreeMap::new() };
        let mut l = Lecteur::new(doc);
        lecture.relire(&mut l, doc, &(Partie::Profil, None));
        for partie in Partie::COLLECTIONS {
            if partie == Partie::Phases {
                lecture.relire(&mut l, doc, &(Partie::Horizon, None));
            }
            // A listing, then its records in its order.
            for id in lecture.relire(&mut l, doc, &(partie, None)) {
                lecture.relire(&mut l, doc, &(partie, Some(id)));
            }
        }
        lecture.attribuer(doc);
        lecture.assembler();
        lecture
    }

    /// The read model.
    pub fn agenda(&self) -> &Agenda {
        &self.agenda
    }

    /// The version read.
    pub fn tetes(&self) -> &[ChangeHash] {
        &self.tetes
    }

    /// Brings the read model to `doc`'s version, reading again only the
    /// parts its new changes touched when that gives exactly what reading
    /// it whole would.
    pub fn suivre(&mut self, doc: &Automerge) -> MiseAJour {
        let tetes = doc.get_heads();
        if tetes == self.tetes {
            return MiseAJour::AJour;
        }
        if let Some(touchees) = self.parties_touchees(doc) {
            let n = touchees.len();
            let mut l = Lecteur::new(doc);
            for unite in touchees {
                if unite.1.is_none() && Partie::COLLECTIONS.contains(&unite.0) {
                    self.relister(&mut l, doc, unite.0);
                } else if unite.1.is_none() || self.bilans.contains_key(&unite) {
                    self.relire(&mut l, doc, &unite);
                }
            }
            self.attribuer(doc);
            if self.loin_des_bornes() {
                self.assembler();
                self.tetes = tetes;
                return MiseAJour::Parties(n);
            }
        }
        *self = LectureAgenda::nouvelle(doc);
        MiseAJour::Entiere
    }

    /// Reads `unite` again with `l`, replacing what it gave; for a
    /// listing, the ids it lists (their parts are not read).
    fn relire(&mut self, l: &mut Lecteur<'_, Automerge>, doc: &Automerge, unite: &Unite) -> Vec<String> {
        let (partie, id) = (unite.0, unite.1.as_deref());
        let valeurs = l.valeurs_lues();
        let omissions_avant = std::mem::take(&mut l.omissions);
        let mut bilan = Bilan::default();
        let mut ids = Vec::new();
        let racine = tree::Chemin::RACINE;
        let a = &mut self.agenda;
        match (partie, id) {
            (Partie::Profil, _) => {
                let cles: Vec<&str> = partie.cles().iter().map(String::as_str).collect();
                let champs = enregistrement(l, &ROOT, &racine, "profil", 1, &cles);
                a.profil = champs.and_then(|champs| typed("profil", Value::Object(champs), &mut bilan.erreurs));
            }
            (Partie::Horizon, _) => {
                let feuille = racine.sous("feuille_de_route");
                let horizon = match tree::find_map(doc, &ROOT, &["feuille_de_route"]) {
                    Some(obj) => l.champs(&obj, &feuille, 1, &["horizon_debut", "horizon_fin"], true),
                    None => serde_json::Map::new(),
                };
                let texte = |cle| horizon.get(cle).and_then(Value::as_str).map(str::to_owned);
                a.feuille_de_route.horizon_debut = texte("horizon_debut");
                a.feuille_de_route.horizon_fin = texte("horizon_fin");
            }
            (partie, None) => ids = lister(l, doc, partie, &mut bilan.erreurs),
            (partie, Some(id)) => {
                let lu = champs(l, doc, partie, id, partie.cles(), &mut bilan.erreurs);
                let b = &mut bilan;
                match partie {
                    Partie::Actions => fiche(&mut a.actions, id, lu, b, assainir_action),
                    Partie::Acteurs => fiche(&mut a.acteurs, id, lu, b, rien),
                    Partie::Instances => fiche(&mut a.instances, id, lu, b, assainir_instance),
                    Partie::Decisions => fiche(&mut a.decisions, id, lu, b, rien),
                    Partie::ContactsPrives => fiche(&mut a.contacts_prives, id, lu, b, rien),
                    Partie::Auteurs => fiche(&mut a.auteurs, id, lu, b, rien),
                    Partie::Phases => fiche(&mut a.feuille_de_route.phases, id, lu, b, rien),
                    Partie::Profil | Partie::Horizon => {}
                }
            }
        }
        bilan.valeurs = l.valeurs_lues() - valeurs;
        bilan.bruts = std::mem::take(&mut l.conflits);
        bilan.conflits_lus = bilan.bruts.len();
        bilan.omissions = std::mem::replace(&mut l.omissions, omissions_avant);
        self.bilans.insert(unite.clone(), bilan);
        ids
    }

    /// Lists collection `partie` again: parts of ids no longer listed are
    /// dropped with their records, parts of new ids read.
    fn relister(&mut self, l: &mut Lecteur<'_, Automerge>, doc: &Automerge, partie: Partie) {
        let listes: BTreeSet<String> = self.relire(l, doc, &(partie, None)).into_iter().collect();
        let partis: Vec<Unite> = self
            .bilans
            .range((partie, Some(String::new()))..)
            .take_while(|((p, _), _)| *p == partie)
            .filter(|((_, id), _)| id.as_ref().is_some_and(|id| !listes.contains(id)))
            .map(|(unite, _)| unite.clone())
            .collect();
        for unite in partis {
            self.bilans.remove(&unite);
            let id = unite.1.as_deref().unwrap_or_default();
            let a = &mut self.agenda;
            match partie {
                Partie::Actions => drop(a.actions.remove(id)),
                Partie::Acteurs => drop(a.acteurs.remove(id)),
                Partie::Instances => drop(a.instances.remove(id)),
                Partie::Decisions => drop(a.decisions.remove(id)),
                Partie::ContactsPrives => drop(a.contacts_prives.remove(id)),
                Partie::Auteurs => drop(a.auteurs.remove(id)),
                Partie::Phases => drop(a.feuille_de_route.phases.remove(id)),
                Partie::Profil | Partie::Horizon => {}
            }
        }
        for id in listes {
            let unite = (partie, Some(id));
            if !self.bilans.contains_key(&unite) {
                self.relire(l, doc, &unite);
            }
        }
    }

    /// Gives the conflicts recorded since the last call their authors.
    fn attribuer(&mut self, doc: &Automerge) {
        let mut authors: Option<Authors> = None;
        for bilan in self.bilans.values_mut().filter(|b| !b.bruts.is_empty()) {
            let authors = authors.get_or_insert_with(|| authors_by_actor(doc));
            bilan.conflits = conflicts_avec(authors, std::mem::take(&mut bilan.bruts));
        }
    }

    /// Whether the parts kept are far enough from the read's global bounds
    /// that reading them one by one gave what one whole read gives.
    fn loin_des_bornes(&self) -> bool {
        let (mut valeurs, mut conflits) = (0, 0);
        for bilan in self.bilans.values() {
            if bilan.omissions.budget > 0 || bilan.omissions.conflits > 0 {
                return false;
            }
            valeurs += bilan.valeurs;
            conflits += bilan.conflits_lus;
        }
        valeurs <= tree::VALEURS_MAX / 2 && conflits <= tree::CONFLITS_MAX / 2
    }

    /// The read model's errors and conflicts from the parts', in the order
    /// of a whole read: reading errors, then sanitising ones, then one line
    /// for what the bounds left out.
    fn assembler(&mut self) {
        let mut erreurs = Erreurs::default();
        let mut omissions = Omissions::default();
        let mut conflits = Vec::new();
        for bilan in self.bilans.values() {
            for erreur in &bilan.erreurs.0 {
                erreurs.push(erreur.clone());
            }
            omissions.ajouter(&bilan.omissions);
            conflits.extend(bilan.conflits.iter().cloned());
        }
        for bilan in self.bilans.values() {
            for erreur in &bilan.assainies.0 {
                erreurs.push(erreur.clone());
            }
        }
        let mut erreurs = erreurs.0;
        erreurs.extend(omissions.message());
        self.agenda.erreurs = erreurs;
        self.agenda.conflits = conflits;
    }

    /// The parts the changes since the version read touch, listings before
    /// their records; `None` when the read must be whole.
    fn parties_touchees(&self, doc: &Automerge) -> Option<BTreeSet<Unite>> {
        if !doc.get_missing_deps(&self.tetes).is_empty() {
            return None;
        }
        let changements = doc.get_changes(&self.tetes);
        if changements.iter().map(automerge::Change::len).sum::<usize>() > OPERATIONS_SUIVIES_MAX {
            return None;
        }
        let mut touchees = BTreeSet::new();
        for changement in &changements {
            for op in changement.decode().operations {
                let obj = match &op.obj {
                    automerge::legacy::ObjectId::Root => ROOT,
                    automerge::legacy::ObjectId::Id(id) => doc.import_obj(&format!("{}@{}", id.0, id.1)).ok()?,
                };
                let cle = match &op.key {
                    automerge::legacy::Key::Map(cle) => Some(cle.as_str()),
                    automerge::legacy::Key::Seq(_) => None,
                };
                // Deeper than any read looks: nothing to read again.
                if let Some(chemin) = chemin_de(doc, &obj)? {
                    touchees.extend(partie_de(&chemin, cle)?);
                }
            }
        }
        Some(touchees)
    }
}

/// The keys from the root to `obj`, if it is no deeper than anything a
/// read looks into (deeper, `Some(None)`: nothing read depends on it);
/// `None` if the document does not know it.
fn chemin_de(doc: &Automerge, obj: &ObjId) -> Option<Option<Vec<Prop>>> {
    let mut chemin = Vec::new();
    for parent in doc.parents(obj).ok()? {
        if chemin.len() > tree::PROFONDEUR_MAX {
            return Some(None);
        }
        chemin.push(parent.prop);
    }
    chemin.reverse();
    Some(Some(chemin))
}

/// The parts a write under `chemin` (at map key `cle`, or in a list)
/// touches; `None` when it replaces a container the read starts from.
fn partie_de(chemin: &[Prop], cle: Option<&str>) -> Option<Vec<Unite>> {
    let cle_de = |prop: &Prop| match prop {
        Prop::Map(cle) => Some(cle.to_string()),
        Prop::Seq(_) => None,
    };
    let collection = |partie: Partie, reste: &[Prop]| -> Option<Vec<Unite>> {
        match reste.first() {
            // In the collection's map: its listing, and the record at `cle`.
            None => Some(vec![(partie, None), (partie, Some(cle?.to_owned()))]),
            Some(id) => Some(vec![(partie, Some(cle_de(id)?))]),
        }
    };
    let Some(premiere) = chemin.first() else {
        return match cle? {
            "profil" => Some(vec![(Partie::Profil, None)]),
            cle if Partie::a_la_racine(cle).is_some() || cle == "feuille_de_route" => None,
            _ => Some(Vec::new()),
        };
    };
    match cle_de(premiere)?.as_str() {
        "profil" => Some(vec![(Partie::Profil, None)]),
        "feuille_de_route" => match chemin.get(1).map(cle_de) {
            None if cle == Some("phases") => None,
            None => Some(vec![(Partie::Horizon, None)]),
            Some(Some(sous)) if sous == "phases" => collection(Partie::Phases, &chemin[2..]),
            Some(Some(sous)) if sous == "horizon_debut" || sous == "horizon_fin" => Some(vec![(Partie::Horizon, None)]),
            Some(Some(_)) => Some(Vec::new()),
            Some(None) => None,
        },
        racine => match Partie::a_la_racine(racine) {
            Some(partie) => collection(partie, &chemin[1..]),
            None => Some(Vec::new()),
        },
    }
}

/// The ids collection `partie` lists (valid ones, within the bounds).
fn lister(l: &mut Lecteur<'_, Automerge>, doc: &Automerge, partie: Partie, erreurs: &mut Erreurs) -> Vec<String> {
    let chemin = partie.chemin();
    let Some(parent) = tree::find_map(doc, &ROOT, chemin) else { return Vec::new() };
    let nom = chemin.join("/");
    ids_de_collection(l, &parent, &tree::Chemin::RACINE.sous(&nom), erreurs)
}

/// The live record `id` of collection `partie`, read through the keys
/// `cles` of its type, if it is one.
fn champs(
    l: &mut Lecteur<'_, Automerge>,
    doc: &Automerge,
    partie: Partie,
    id: &str,
    cles: &[String],
    erreurs: &mut Erreurs,
) -> Option<(String, serde_json::Map<String, Value>)> {
    let chemin = partie.chemin();
    let parent = tree::find_map(doc, &ROOT, chemin)?;
    let nom = chemin.join("/");
    let conteneur = tree::Chemin::RACINE.sous(&nom);
    let cles: Vec<&str> = cles.iter().map(String::as_str).collect();
    let champs = champs_de_fiche(l, &parent, &conteneur, id, chemin.len() + 1, &cles, erreurs)?;
    Some((format!("{nom}/{id}"), champs))
}

/// The record of `champs`, if it fits type `T`, sanitised; kept at `id`
/// of `carte` (or taken away from it).
fn fiche<T: DeserializeOwned>(
    carte: &mut BTreeMap<String, T>,
    id: &str,
    champs: Option<(String, serde_json::Map<String, Value>)>,
    bilan: &mut Bilan,
    assainir: fn(&str, &mut T, &mut Erreurs),
) {
    let record = champs.and_then(|(chemin, champs)| typed::<T>(&chemin, Value::Object(champs), &mut bilan.erreurs));
    match record {
        Some(mut record) => {
            assainir(id, &mut record, &mut bilan.assainies);
            carte.insert(id.to_owned(), record);
        }
        None => drop(carte.remove(id)),
    }
}

fn rien<T>(_: &str, _: &mut T, _: &mut Erreurs) {}

fn assainir_instance(id: &str, instance: &mut Instance, erreurs: &mut Erreurs) {
    if let Some(r) = &mut instance.rythme {
        assainir_rythme(&format!("instances/{id}"), r, erreurs);
    }
}
