//! Experience sheets (*fiches d'expérience*): what a territory learnt,
//! written by several organisers offline, published at an exact version
//! while writing goes on, shared between territories that each consent.
//!
//! A sheet is an Automerge document of its own, listed by each territory it
//! belongs to under `documents/<id>` with the kind [`GenreDocument::Fiche`]
//! (`documents.rs`). Its layout (`docs/schema.md`):
//!
//! - `fiche`: the content ([`ContenuFiche`]); the five long texts
//!   ([`SECTIONS`]) are Automerge texts created with the sheet, so two
//!   people writing in one section offline merge character by character;
//!   the short fields are scalars whose concurrent values show as conflicts.
//! - `territoires/<territory id>`: the territories it belongs to, the first
//!   with no `propose_par`, each other one proposed by a member
//!   ([`EditFiche::Proposer`]). A territory opens the sheet only if it
//!   lists the sheet *and* the sheet names it: neither side can pull the
//!   other in alone ([`territoires_de_fiche`], the relay's cheap read).
//! - `contributeurs/<actor>`: the names of those who wrote it;
//!   `dernier_auteur`: the actor of the last content edit.
//! - `relecture`: the review of the current content (removed by any content
//!   edit and by a publication).
//! - `versions/<key>`: each publication, with the document's heads at that
//!   moment; a map, so concurrent publications both stay.
//! - `retraits/<key>`: each withdrawal, with its reason.
//!
//! The state ([`StatutFiche`]) is computed from these, never stored; the
//! national admission is the relay's to record, not the document's (an
//! organiser can write raw changes).
//!
//! [`differences`] compares the latest publication with the current text,
//! section by section, word by word, within bounds.
//!
//! Does not: decide who opens a sheet (the relay, from the territories'
//! listings and [`territoires_de_fiche`]), or render it (`flux::fiche`).

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, ChangeHash, ROOT, ReadDoc, Value as AmValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use super::edit::{EditError, champs_du_record, objet, verifier_champs};
use super::schema::{StatutFiche, Theme, ValidationError, Valider, identifiant_valide, mesure_valide};
use super::{Conflit, Erreurs, tree};
use crate::DocumentId;

/// The long texts of a sheet, in the order it reads, with their French
/// titles: the one list for the editor, the pages, the Markdown and the
/// differences.
pub const SECTIONS: &[(&str, &str)] = &[
    ("contexte", "Contexte"),
    ("ce_qui_a_ete_fait", "Ce qui a été fait"),
    ("resultats", "Résultats"),
    ("difficultes", "Difficultés"),
    ("conseils", "Conseils"),
];

/// Longest title, in characters.
pub const TITRE_MAX: usize = 120;
/// Longest summary, in characters (the domain model's 200).
pub const RESUME_MAX: usize = 200;
/// Longest section, in characters.
pub const SECTION_MAX: usize = 10_000;
/// Most territories one sheet belongs to.
pub const TERRITOIRES_MAX: usize = 16;
/// Most linked actions, and most public actors named.
const LIENS_MAX: usize = 20;
/// Longest reason for a withdrawal, in characters.
const MOTIF_MAX: usize = 300;
/// Most heads a publication records (concurrent branches at that moment).
const TETES_MAX: usize = 16;

/// The licence of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub enum LicenceFiche {
    /// Attribution, share alike: the domain model's default.
    #[default]
    #[serde(rename = "CC BY-SA 4.0")]
    CcBySa,
    /// Attribution.
    #[serde(rename = "CC BY 4.0")]
    CcBy,
    /// Etalab's open licence, for public bodies.
    #[serde(rename = "Licence Ouverte 2.0")]
    LicenceOuverte,
}

impl LicenceFiche {
    /// Every licence, in the order the editor offers them.
    pub const TOUS: &'static [LicenceFiche] = &[LicenceFiche::CcBySa, LicenceFiche::CcBy, LicenceFiche::LicenceOuverte];

    /// Its name, as written on pages and in front matter.
    pub fn libelle(self) -> &'static str {
        match self {
            LicenceFiche::CcBySa => "CC BY-SA 4.0",
            LicenceFiche::CcBy => "CC BY 4.0",
            LicenceFiche::LicenceOuverte => "Licence Ouverte 2.0",
        }
    }

    /// Where its text is.
    pub fn adresse(self) -> &'static str {
        match self {
            LicenceFiche::CcBySa => "https://creativecommons.org/licenses/by-sa/4.0/deed.fr",
            LicenceFiche::CcBy => "https://creativecommons.org/licenses/by/4.0/deed.fr",
            LicenceFiche::LicenceOuverte => "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        }
    }
}

/// An action a sheet tells of: a territory's document id and the action's
/// id there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionLiee {
    /// The territory's document id.
    pub territoire: String,
    /// The action's id in it.
    pub action: String,
}

/// What a sheet says: the fields an edit sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ContenuFiche {
    /// Title.
    pub titre: String,
    /// A sentence or two, at most [`RESUME_MAX`] characters.
    pub resume: String,
    /// The situation before.
    pub contexte: String,
    /// What was done.
    pub ce_qui_a_ete_fait: String,
    /// What came of it.
    pub resultats: String,
    /// What was hard.
    pub difficultes: String,
    /// Advice to a territory that would do the same.
    pub conseils: String,
    /// Entry doors.
    pub portes_entree: Vec<Theme>,
    /// Pacte pour la Transition measures, `M01` to `M32`.
    pub mesures_pacte: Vec<String>,
    /// Actions it tells of.
    pub actions: Vec<ActionLiee>,
    /// Public actors involved, by name.
    pub acteurs: Vec<String>,
    /// Licence of the text.
    pub licence: LicenceFiche,
}

impl ContenuFiche {
    /// The text of section `cle` (one of [`SECTIONS`]), or the title or
    /// summary.
    pub fn section(&self, cle: &str) -> &str {
        match cle {
            "titre" => &self.titre,
            "resume" => &self.resume,
            "contexte" => &self.contexte,
            "ce_qui_a_ete_fait" => &self.ce_qui_a_ete_fait,
            "resultats" => &self.resultats,
            "difficultes" => &self.difficultes,
            "conseils" => &self.conseils,
            _ => "",
        }
    }
}

impl Valider for ContenuFiche {
    fn valider(&self) -> Result<(), ValidationError> {
        if self.titre.trim().is_empty() {
            return Err(ValidationError::Vide("titre"));
        }
        let longueurs = [("titre", &self.titre, TITRE_MAX), ("resume", &self.resume, RESUME_MAX)];
        for (champ, texte, max) in longueurs {
            if texte.chars().count() > max {
                return Err(ValidationError::TropLong { champ, max });
            }
        }
        for (cle, _) in SECTIONS {
            if self.section(cle).chars().count() > SECTION_MAX {
                return Err(ValidationError::TropLong { champ: cle, max: SECTION_MAX });
            }
        }
        if self.portes_entree.len() > Theme::TOUS.len() {
            return Err(ValidationError::Autre("une porte d'entrée au plus une fois".into()));
        }
        if self.mesures_pacte.len() > 32 {
            return Err(ValidationError::Autre("32 mesures du Pacte au plus".into()));
        }
        if let Some(m) = self.mesures_pacte.iter().find(|m| !mesure_valide(m)) {
            return Err(ValidationError::Autre(format!("mesure du Pacte inconnue\u{a0}: {}", coupe(m))));
        }
        if self.actions.len() > LIENS_MAX || self.acteurs.len() > LIENS_MAX {
            return Err(ValidationError::Autre(format!("{LIENS_MAX} actions et {LIENS_MAX} acteurs au plus")));
        }
        for a in &self.actions {
            if a.territoire.parse::<DocumentId>().is_err() || !identifiant_valide(&a.action) {
                return Err(ValidationError::Autre(format!(
                    "action liée invalide\u{a0}: {}/{}",
                    coupe(&a.territoire),
                    coupe(&a.action)
                )));
            }
        }
        if self.acteurs.iter().any(|a| a.trim().is_empty() || a.chars().count() > TITRE_MAX) {
            return Err(ValidationError::Autre(format!("un acteur est un nom de 1 à {TITRE_MAX} caractères")));
        }
        Ok(())
    }
}

/// Where a territory stands in a sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct TerritoireFiche {
    /// When it was added (ms since the epoch).
    pub le: i64,
    /// The member territory that proposed it; none for the first.
    #[serde(default)]
    pub propose_par: Option<String>,
}

/// A review of the current content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Relecture {
    /// Who reviewed it, by name (or actor id when they gave none).
    pub par: String,
    /// When (ms since the epoch).
    pub le: i64,
}

/// A publication: the document's heads at that moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct VersionFiche {
    /// Its key in `versions`, also its address (`?version=`).
    #[serde(default)]
    pub id: String,
    /// The document's heads, hex.
    pub tetes: Vec<String>,
    /// When (ms since the epoch).
    pub le: i64,
    /// Who published it, by name.
    pub par: String,
}

/// A withdrawal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct RetraitFiche {
    /// When (ms since the epoch).
    pub le: i64,
    /// Why, as the public pages say it.
    pub motif: String,
    /// Who withdrew it, by name.
    pub par: String,
}

/// A sheet as the editor reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Fiche {
    /// What it says now.
    pub contenu: ContenuFiche,
    /// Short fields with concurrent values (`fiche/titre`…).
    pub conflits: Vec<Conflit>,
    /// The territories it belongs to, by document id.
    pub territoires: BTreeMap<String, TerritoireFiche>,
    /// The names of those who wrote it, sorted.
    pub contributeurs: Vec<String>,
    /// The actor of the last content edit.
    pub dernier_auteur: Option<String>,
    /// The review of the current content, if any.
    pub relecture: Option<Relecture>,
    /// Publications, oldest first.
    pub versions: Vec<VersionFiche>,
    /// Withdrawals, oldest first.
    pub retraits: Vec<RetraitFiche>,
    /// Where it stands.
    pub statut: StatutFiche,
    /// What could not be read.
    pub erreurs: Vec<String>,
}

impl Fiche {
    /// The latest publication, if any.
    pub fn derniere_version(&self) -> Option<&VersionFiche> {
        self.versions.last()
    }
}

/// A change to a sheet. Serialised as `{"type": "modifier", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EditFiche {
    /// Sets the fields given (a text field by a character diff, so that
    /// concurrent edits merge); withdraws the review.
    Modifier {
        /// Fields of [`ContenuFiche`].
        #[ts(type = "Partial<ContenuFiche>")]
        champs: Map<String, Value>,
    },
    /// Confirms the current content, by an organiser other than its last
    /// author.
    Relire,
    /// Publishes the reviewed content at the document's current heads.
    Publier,
    /// Withdraws the published sheet; its pages answer 410 with `motif`.
    Retirer {
        /// Why, 1 to 300 characters.
        motif: String,
    },
    /// Territory `depuis`, a member, proposes `territoire`: the sheet
    /// becomes theirs once `territoire` lists it.
    Proposer {
        /// A member territory's document id.
        depuis: String,
        /// The territory proposed.
        territoire: String,
    },
}

/// Why a sheet's workflow refuses an edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FicheError {
    /// The last author cannot review their own text.
    #[error("la relecture revient à un autre organisateur que le dernier auteur")]
    RelectureParLAuteur,
    /// Already reviewed, nothing changed since.
    #[error("la fiche est déjà relue")]
    DejaRelue,
    /// Publishing needs a review of the current content.
    #[error("la fiche doit être relue par un autre organisateur avant d'être publiée")]
    PasRelue,
    /// Withdrawing needs a publication.
    #[error("la fiche n'est pas publiée")]
    PasPubliee,
    /// The reason for a withdrawal.
    #[error("le motif du retrait fait de 1 à {MOTIF_MAX} caractères")]
    Motif,
    /// Only a member territory proposes another.
    #[error("seul un territoire de la fiche peut en proposer un autre")]
    PasMembre,
    /// Proposed already, or a member.
    #[error("ce territoire est déjà proposé pour cette fiche")]
    DejaProposee,
    /// Too many territories.
    #[error("{TERRITOIRES_MAX} territoires au plus par fiche")]
    TropDeTerritoires,
    /// Not a territory's document id.
    #[error("identifiant de territoire invalide")]
    TerritoireInvalide,
    /// A version that the document does not hold.
    #[error("version inconnue de cette fiche")]
    VersionInconnue,
}

/// Writes a new sheet's first change: its content (every text created, even
/// empty, so that later edits of one section merge), the territory it
/// belongs to, its first contributor, and the maps later edits add to.
pub(crate) fn initialiser_fiche(
    tx: &mut Transaction<'_>,
    now_millis: i64,
    territoire: &DocumentId,
    auteur: &str,
    nom: Option<&str>,
    contenu: &ContenuFiche,
) -> Result<(), EditError> {
    contenu.valider()?;
    let obj = tree::ensure_map(tx, &ROOT, &[FICHE])?;
    tree::write_fields(tx, &obj, &objet(contenu)?)?;
    let membre = tree::ensure_map(tx, &ROOT, &[TERRITOIRES, &territoire.to_string()])?;
    tree::write_fields(tx, &membre, &objet(&TerritoireFiche { le: now_millis, propose_par: None })?)?;
    // Made now, so that two publications or withdrawals made offline land
    // in one map rather than in two concurrent ones, one of them hidden.
    for conteneur in [VERSIONS, RETRAITS, CONTRIBUTEURS] {
        tree::ensure_map(tx, &ROOT, &[conteneur])?;
    }
    contributeur(tx, auteur, nom)
}

/// Validates `edit` and writes it in the sheet's transaction `tx`, made by
/// actor `auteur`, named `nom` when they gave a name.
pub(crate) fn appliquer_fiche(
    tx: &mut Transaction<'_>,
    now_millis: i64,
    auteur: &str,
    nom: Option<&str>,
    edit: EditFiche,
) -> Result<(), EditError> {
    let par = nom.map_or_else(|| auteur.to_owned(), str::to_owned);
    match edit {
        EditFiche::Modifier { champs } => {
            verifier_champs::<ContenuFiche>(&champs)?;
            let obj = tree::ensure_map(tx, &ROOT, &[FICHE])?;
            let mut actuel = champs_du_record::<ContenuFiche, _>(tx, &obj, 1);
            for (k, v) in &champs {
                actuel.insert(k.clone(), v.clone());
            }
            let contenu: ContenuFiche =
                serde_json::from_value(Value::Object(actuel)).map_err(|e| EditError::ValeurInvalide(e.to_string()))?;
            contenu.valider()?;
            let canonique = objet(&contenu)?;
            let ecrits: Map<String, Value> =
                champs.keys().map(|k| (k.clone(), canonique.get(k).cloned().unwrap_or(Value::Null))).collect();
            tree::write_fields(tx, &obj, &ecrits)?;
            if tx.get(&ROOT, RELECTURE)?.is_some() {
                tx.delete(&ROOT, RELECTURE)?;
            }
            contributeur(tx, auteur, nom)
        }
        EditFiche::Relire => {
            let (fiche, _) = lire(tx);
            if fiche.relecture.is_some() {
                return Err(FicheError::DejaRelue.into());
            }
            let dernier = fiche.dernier_auteur.as_deref();
            let nom_du_dernier = dernier.and_then(|d| nom_de(tx, d));
            if dernier == Some(auteur) || (nom.is_some() && nom_du_dernier.as_deref() == nom) {
                return Err(FicheError::RelectureParLAuteur.into());
            }
            fiche.contenu.valider()?;
            let obj = tree::ensure_map(tx, &ROOT, &[RELECTURE])?;
            Ok(tree::write_fields(tx, &obj, &objet(&Relecture { par, le: now_millis })?)?)
        }
        EditFiche::Publier => {
            if tx.get(&ROOT, RELECTURE)?.is_none() {
                return Err(FicheError::PasRelue.into());
            }
            let mut tetes: Vec<String> = tx.get_heads().iter().map(ToString::to_string).collect();
            tetes.sort();
            let id: String = tetes.first().map(|t| t.chars().take(16).collect()).unwrap_or_default();
            let version = VersionFiche { id: String::new(), tetes, le: now_millis, par };
            let mut champs = objet(&version)?;
            champs.remove("id");
            let obj = tree::ensure_map(tx, &ROOT, &[VERSIONS, &id])?;
            tree::write_fields(tx, &obj, &champs)?;
            Ok(tx.delete(&ROOT, RELECTURE)?)
        }
        EditFiche::Retirer { motif } => {
            let motif = motif.trim();
            if motif.is_empty() || motif.chars().count() > MOTIF_MAX {
                return Err(FicheError::Motif.into());
            }
            if lire(tx).0.statut != StatutFiche::PublieeTerritoire {
                return Err(FicheError::PasPubliee.into());
            }
            let id = format!("{now_millis}-{}", auteur.chars().take(8).collect::<String>());
            if !identifiant_valide(&id) {
                return Err(EditError::IdentifiantInvalide(coupe(auteur)));
            }
            let obj = tree::ensure_map(tx, &ROOT, &[RETRAITS, &id])?;
            let retrait = RetraitFiche { le: now_millis, motif: motif.to_owned(), par };
            Ok(tree::write_fields(tx, &obj, &objet(&retrait)?)?)
        }
        EditFiche::Proposer { depuis, territoire } => {
            let (Ok(depuis), Ok(propose)) = (depuis.parse::<DocumentId>(), territoire.parse::<DocumentId>()) else {
                return Err(FicheError::TerritoireInvalide.into());
            };
            let membres = territoires_de_fiche(tx);
            if !membres.contains(&depuis) {
                return Err(FicheError::PasMembre.into());
            }
            if membres.contains(&propose) {
                return Err(FicheError::DejaProposee.into());
            }
            if membres.len() >= TERRITOIRES_MAX {
                return Err(FicheError::TropDeTerritoires.into());
            }
            let obj = tree::ensure_map(tx, &ROOT, &[TERRITOIRES, &propose.to_string()])?;
            let membre = TerritoireFiche { le: now_millis, propose_par: Some(depuis.to_string()) };
            Ok(tree::write_fields(tx, &obj, &objet(&membre)?)?)
        }
    }
}

/// Records `auteur` as the last author, with their name when given.
fn contributeur(tx: &mut Transaction<'_>, auteur: &str, nom: Option<&str>) -> Result<(), EditError> {
    if !identifiant_valide(auteur) {
        return Err(EditError::IdentifiantInvalide(coupe(auteur)));
    }
    if let Some(nom) = nom.map(str::trim).filter(|n| !n.is_empty()) {
        if nom.chars().count() > super::NOM_MAX {
            return Err(EditError::ValeurInvalide(format!("un nom de 1 à {} caractères", super::NOM_MAX)));
        }
        let obj = tree::ensure_map(tx, &ROOT, &[CONTRIBUTEURS, auteur])?;
        let mut champs = Map::new();
        champs.insert("nom".into(), nom.into());
        tree::write_fields(tx, &obj, &champs)?;
    }
    let mut champs = Map::new();
    champs.insert(DERNIER_AUTEUR.into(), auteur.into());
    Ok(tree::write_fields(tx, &ROOT, &champs)?)
}

fn nom_de<R: ReadDoc>(doc: &R, acteur: &str) -> Option<String> {
    let obj = tree::find_map(doc, &ROOT, &[CONTRIBUTEURS, acteur])?;
    match doc.get(&obj, "nom").ok()?? {
        (AmValue::Scalar(s), _) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

const FICHE: &str = "fiche";
const TERRITOIRES: &str = "territoires";
const CONTRIBUTEURS: &str = "contributeurs";
const DERNIER_AUTEUR: &str = "dernier_auteur";
const RELECTURE: &str = "relecture";
const VERSIONS: &str = "versions";
const RETRAITS: &str = "retraits";

/// The territories sheet `am` names (at most [`TERRITOIRES_MAX`],
/// well-formed ids only): with the territories' listings, who may open it.
/// Reads nothing else of the document.
pub fn territoires_de_fiche<R: ReadDoc>(am: &R) -> Vec<DocumentId> {
    let Some(membres) = tree::find_map(am, &ROOT, &[TERRITOIRES]) else { return Vec::new() };
    am.keys(&membres).take(TERRITOIRES_MAX).filter_map(|k| k.parse().ok()).collect()
}

/// Sheet `am` as the editor reads it, under the agenda's bounds, with the
/// authors of its conflicting values.
pub fn lire_fiche(am: &Automerge) -> Fiche {
    let (mut fiche, conflits) = lire(am);
    fiche.conflits = super::conflicts(am, conflits);
    fiche
}

/// The sheet without its conflicts' authors (a transaction cannot say
/// them), and the conflicts as read.
fn lire<R: ReadDoc>(am: &R) -> (Fiche, Vec<tree::RawConflict>) {
    let mut l = tree::Lecteur::new(am);
    let mut erreurs = Erreurs::default();
    let racine = tree::Chemin::RACINE;
    let connus = super::schema::champs_connus::<ContenuFiche>();
    let cles: Vec<&str> = connus.iter().map(String::as_str).collect();
    let mut fiche = Fiche::default();
    if let Some(champs) = super::enregistrement(&mut l, &ROOT, &racine, FICHE, 1, &cles)
        && let Some(contenu) = super::typed(FICHE, Value::Object(champs), &mut erreurs)
    {
        fiche.contenu = contenu;
    }
    fiche.territoires = super::collection(&mut l, &[TERRITOIRES], &mut erreurs);
    fiche.territoires.retain(|t, _| t.parse::<DocumentId>().is_ok());
    let contributeurs: BTreeMap<String, Contributeur> = super::collection(&mut l, &[CONTRIBUTEURS], &mut erreurs);
    let noms: HashSet<String> = contributeurs.into_values().map(|c| c.nom).filter(|n| !n.is_empty()).collect();
    fiche.contributeurs = noms.into_iter().collect();
    fiche.contributeurs.sort();
    fiche.dernier_auteur = match am.get(&ROOT, DERNIER_AUTEUR).ok().flatten() {
        Some((AmValue::Scalar(s), _)) => s.as_str().filter(|a| identifiant_valide(a)).map(str::to_owned),
        _ => None,
    };
    if let Some(champs) = super::enregistrement(&mut l, &ROOT, &racine, RELECTURE, 1, &["par", "le"]) {
        fiche.relecture = super::typed(RELECTURE, Value::Object(champs), &mut erreurs);
    }
    let versions: BTreeMap<String, VersionFiche> = super::collection(&mut l, &[VERSIONS], &mut erreurs);
    fiche.versions = versions
        .into_iter()
        .filter(|(_, v)| !v.tetes.is_empty() && v.tetes.len() <= TETES_MAX)
        .map(|(id, v)| VersionFiche { id, ..v })
        .collect();
    fiche.versions.sort_by(|a, b| (a.le, &a.id).cmp(&(b.le, &b.id)));
    let retraits: BTreeMap<String, RetraitFiche> = super::collection(&mut l, &[RETRAITS], &mut erreurs);
    fiche.retraits = retraits.into_values().collect();
    fiche.retraits.sort_by_key(|r| r.le);
    fiche.statut = statut(&fiche);
    let mut erreurs = erreurs.0;
    erreurs.extend(l.omissions.message());
    fiche.erreurs = erreurs;
    (fiche, l.conflits)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Contributeur {
    nom: String,
}

fn statut(fiche: &Fiche) -> StatutFiche {
    let publiee = fiche.versions.last().map(|v| v.le);
    let retiree = fiche.retraits.last().map(|r| r.le);
    match (publiee, retiree) {
        (Some(p), Some(r)) if r >= p => StatutFiche::Retiree,
        (Some(_), _) => StatutFiche::PublieeTerritoire,
        (None, _) if fiche.relecture.is_some() => StatutFiche::Relue,
        (None, _) => StatutFiche::Brouillon,
    }
}

/// A published version of a sheet, as the public reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FichePubliee {
    /// The content at that version.
    pub contenu: ContenuFiche,
    /// Those who had written it by then, by name.
    pub contributeurs: Vec<String>,
    /// The version shown.
    pub version: VersionFiche,
    /// Every publication, oldest first.
    pub versions: Vec<VersionFiche>,
    /// Where it stands (`publiee_territoire` or `retiree`).
    pub statut: StatutFiche,
    /// The latest withdrawal, when withdrawn.
    pub retrait: Option<RetraitFiche>,
    /// The territories it belongs to.
    pub territoires: Vec<String>,
}

/// Sheet `am` at its publication `version` (the latest when `None`):
/// `Ok(None)` when never published; an unknown version is an error. The
/// content is read from the document as it was at that version's heads,
/// so edits made since change nothing of it.
pub fn fiche_publiee(am: &Automerge, version: Option<&str>) -> Result<Option<FichePubliee>, FicheError> {
    let (fiche, _) = lire(am);
    let choisie = match version {
        None => match fiche.versions.last() {
            Some(v) => v.clone(),
            None => return Ok(None),
        },
        Some(id) => fiche.versions.iter().find(|v| v.id == id).cloned().ok_or(FicheError::VersionInconnue)?,
    };
    let (alors, _) = lire(&a_la_version(am, &choisie)?);
    Ok(Some(FichePubliee {
        contenu: alors.contenu,
        contributeurs: alors.contributeurs,
        version: choisie,
        retrait: (fiche.statut == StatutFiche::Retiree).then(|| fiche.retraits.last().cloned()).flatten(),
        statut: fiche.statut,
        versions: fiche.versions,
        territoires: fiche.territoires.into_keys().collect(),
    }))
}

/// The document as it was at `version`'s heads.
fn a_la_version(am: &Automerge, version: &VersionFiche) -> Result<Automerge, FicheError> {
    let tetes: Vec<ChangeHash> = version
        .tetes
        .iter()
        .map(|t| t.parse::<ChangeHash>().map_err(|_| FicheError::VersionInconnue))
        .collect::<Result<_, _>>()?;
    if tetes.iter().any(|t| am.get_change_by_hash(t).is_none()) {
        return Err(FicheError::VersionInconnue);
    }
    am.fork_at(&tetes).map_err(|_| FicheError::VersionInconnue)
}

/// One piece of a section's difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Morceau {
    /// Unchanged, added or removed.
    pub genre: GenreMorceau,
    /// The text.
    pub texte: String,
}

/// What happened to a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GenreMorceau {
    /// In both.
    Egal,
    /// Only in the current text.
    Ajoute,
    /// Only in the published one.
    Retire,
}

/// The difference of one section between the published version and now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DifferenceSection {
    /// `titre`, `resume` or one of [`SECTIONS`].
    pub section: String,
    /// Its French title.
    pub libelle: String,
    /// The text, piece by piece.
    pub morceaux: Vec<Morceau>,
}

/// « Modifications depuis la version publiée »: each section whose text
/// differs between the latest publication and now, word by word. Empty
/// when never published or unchanged.
pub fn differences(am: &Automerge) -> Vec<DifferenceSection> {
    let (maintenant, _) = lire(am);
    let Some(version) = maintenant.versions.last() else { return Vec::new() };
    let Ok(alors) = a_la_version(am, version) else { return Vec::new() };
    let alors = lire(&alors).0.contenu;
    let toutes = [("titre", "Titre"), ("resume", "Résumé")].into_iter().chain(SECTIONS.iter().copied());
    toutes
        .filter(|(cle, _)| alors.section(cle) != maintenant.contenu.section(cle))
        .map(|(cle, libelle)| DifferenceSection {
            section: cle.to_owned(),
            libelle: libelle.to_owned(),
            morceaux: difference_de_mots(alors.section(cle), maintenant.contenu.section(cle)),
        })
        .collect()
}

/// Most cells of the comparison table (words before × words after, once
/// their common start and end are set aside): beyond it, the middle is
/// shown as removed then added, so a crafted text costs bounded time.
const CELLULES_MAX: usize = 1_000_000;

/// The difference between `avant` and `apres`, by words, pieces of one
/// kind merged.
pub fn difference_de_mots(avant: &str, apres: &str) -> Vec<Morceau> {
    let a = mots(avant);
    let b = mots(apres);
    let debut = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let fin = a[debut..].iter().rev().zip(b[debut..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (milieu_a, milieu_b) = (&a[debut..a.len() - fin], &b[debut..b.len() - fin]);
    let mut morceaux = Vec::new();
    let mut pousser = |genre: GenreMorceau, texte: &str| match morceaux.last_mut() {
        Some(Morceau { genre: g, texte: t }) if *g == genre => t.push_str(texte),
        _ if texte.is_empty() => {}
        _ => morceaux.push(Morceau { genre, texte: texte.to_owned() }),
    };
    for m in &a[..debut] {
        pousser(GenreMorceau::Egal, m);
    }
    if milieu_a.len().saturating_mul(milieu_b.len()) > CELLULES_MAX {
        milieu_a.iter().for_each(|m| pousser(GenreMorceau::Retire, m));
        milieu_b.iter().for_each(|m| pousser(GenreMorceau::Ajoute, m));
    } else {
        for (genre, m) in plus_longue_sous_suite(milieu_a, milieu_b) {
            pousser(genre, m);
        }
    }
    for m in &a[a.len() - fin..] {
        pousser(GenreMorceau::Egal, m);
    }
    morceaux
}

/// Words and the runs of whitespace between them, in order: their
/// concatenation is the text.
fn mots(texte: &str) -> Vec<&str> {
    let mut mots = Vec::new();
    let mut debut = 0;
    let mut espace = None;
    for (i, c) in texte.char_indices() {
        let est_espace = c.is_whitespace();
        if espace.is_some_and(|e| e != est_espace) {
            mots.push(&texte[debut..i]);
            debut = i;
        }
        espace = Some(est_espace);
    }
    if debut < texte.len() {
        mots.push(&texte[debut..]);
    }
    mots
}

/// The classic longest common subsequence table, then its walk: each word
/// of `a` and `b` once, as unchanged, removed or added.
fn plus_longue_sous_suite<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<(GenreMorceau, &'t str)> {
    let largeur = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * largeur];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            table[i * largeur + j] = if a[i] == b[j] {
                table[(i + 1) * largeur + j + 1] + 1
            } else {
                table[(i + 1) * largeur + j].max(table[i * largeur + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut suite = Vec::with_capacity(a.len() + b.len());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            suite.push((GenreMorceau::Egal, a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || table[i * largeur + j + 1] >= table[(i + 1) * largeur + j]) {
            suite.push((GenreMorceau::Ajoute, b[j]));
            j += 1;
        } else {
            suite.push((GenreMorceau::Retire, a[i]));
            i += 1;
        }
    }
    suite
}

fn coupe(texte: &str) -> String {
    texte.chars().take(40).collect()
}

#[cfg(test)]
mod tests;
