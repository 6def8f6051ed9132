//! Documents that belong to a territory, and the first of them: the
//! organisers' notebook (*carnet*), where private contacts live, out of
//! residents' reach.
//!
//! A territory document lists its documents under `documents/<id>`, each
//! with its kind (`genre`); the container is created with the territory
//! (older territories get it at their next organiser edit that attaches a
//! document). Who may open a listed document is its kind's rule
//! ([`GenreDocument::acces`]), applied by the relay from the role the
//! connection holds in the territory that lists it
//! ([`documents_attaches`], a cheap, bounded read it makes on every access
//! decision). A document no territory lists is opened by no one but an
//! `--open` relay's peers.
//!
//! The notebook is an Automerge document of its own: `contacts/<actor id>`
//! holds an actor's [`ContactPrive`]. [`lire_carnet`] reads it,
//! [`EditCarnet`] changes it.
//!
//! Does not: decide a connection's role (the relay's invitations do), or
//! forget what a document's history holds (contacts written in a
//! territory document before the notebook existed remain in its history:
//! `docs/schema.md`).

use std::collections::BTreeMap;

use automerge::transaction::Transaction;
use automerge::{Automerge, ObjType, ROOT, ReadDoc, Value as AmValue};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::edit::EditError;
use super::schema::{ContactPrive, Valider, identifiant_valide};
use super::tree;
use crate::{Access, DocumentId};

/// At most this many documents listed by one territory (and read by
/// [`documents_attaches`], whatever the document holds).
pub const DOCUMENTS_MAX: usize = 64;

/// Where a territory lists its documents.
pub(crate) const DOCUMENTS: &str = "documents";

/// What a document attached to a territory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum GenreDocument {
    /// The organisers' notebook: private contacts.
    #[default]
    Carnet,
    /// An experience sheet (`fiche.rs`): organisers write it; the public
    /// reads its published versions over HTTP, never the document. The
    /// sheet must also name the territory ([`super::territoires_de_fiche`]).
    Fiche,
}

impl GenreDocument {
    /// What a connection may do with a document of this kind, from its
    /// role in the territory that lists it: the one rule per kind.
    pub fn acces(self, organisateur: bool) -> Access {
        match self {
            GenreDocument::Carnet | GenreDocument::Fiche if organisateur => Access::ReadWrite,
            GenreDocument::Carnet | GenreDocument::Fiche => Access::Denied,
        }
    }

    /// Whether document `am`, of this kind, listed by `territoire`, agrees
    /// to belong to it: the other half of the consent the relay checks
    /// besides the listing, so that a territory cannot pull in another's
    /// document by listing its id (which the other territory's residents
    /// read). A sheet must name the territory among its `territoires`; a
    /// notebook must name it as its `territoire` (one made before notebooks
    /// named their territory names none and is taken on the listing alone).
    /// A document holding nothing yet (created offline, being uploaded)
    /// agrees: there is nothing in it to read.
    pub fn nomme(self, am: &Automerge, territoire: &DocumentId) -> bool {
        if am.get_heads().is_empty() {
            return true;
        }
        match self {
            GenreDocument::Fiche => super::territoires_de_fiche(am).contains(territoire),
            GenreDocument::Carnet => territoire_du_carnet(am).is_none_or(|t| t == *territoire),
        }
    }

    /// In French, for screens.
    pub fn libelle(self) -> &'static str {
        match self {
            GenreDocument::Carnet => "Carnet des organisateurs",
            GenreDocument::Fiche => "Fiche d'expérience",
        }
    }
}

/// The documents territory `am` lists, at most [`DOCUMENTS_MAX`], each
/// with its kind: only well-formed document ids and known kinds, the
/// winning value of a conflict. Reads nothing else of the territory.
pub fn documents_attaches(am: &Automerge) -> Vec<(DocumentId, GenreDocument)> {
    let Some(liste) = tree::find_map(am, &ROOT, &[DOCUMENTS]) else { return Vec::new() };
    am.keys(&liste)
        .take(DOCUMENTS_MAX)
        .filter_map(|cle| {
            let id: DocumentId = cle.parse().ok()?;
            let entree = match am.get(&liste, cle.as_str()).ok()?? {
                (AmValue::Object(ObjType::Map), entree) => entree,
                _ => return None,
            };
            let genre = match am.get(&entree, "genre").ok()?? {
                (AmValue::Scalar(s), _) => serde_json::from_value(s.as_str()?.into()).ok()?,
                _ => return None,
            };
            Some((id, genre))
        })
        .collect()
}

/// Lists `document` as territory `tx`'s document of kind `genre`.
pub(crate) fn attacher(tx: &mut Transaction<'_>, document: &str, genre: GenreDocument) -> Result<(), EditError> {
    document.parse::<DocumentId>().map_err(|_| EditError::IdentifiantInvalide(coupe(document)))?;
    let liste = tree::ensure_map(tx, &ROOT, &[DOCUMENTS])?;
    if tx.get(&liste, document)?.is_none() && tx.length(&liste) >= DOCUMENTS_MAX {
        return Err(EditError::ValeurInvalide(format!("{DOCUMENTS_MAX} documents au plus par territoire")));
    }
    let entree = tree::ensure_map(tx, &liste, &[document])?;
    let mut champs = serde_json::Map::new();
    champs.insert("genre".into(), serde_json::to_value(genre).map_err(|e| EditError::ValeurInvalide(e.to_string()))?);
    Ok(tree::write_fields(tx, &entree, &champs)?)
}

/// Removes `document` from territory `tx`'s list: access to it goes at
/// the relay's next decision.
pub(crate) fn detacher(tx: &mut Transaction<'_>, document: &str) -> Result<(), EditError> {
    let liste = tree::find_map(tx, &ROOT, &[DOCUMENTS]).ok_or_else(|| EditError::Inconnu(coupe(document)))?;
    if tx.get(&liste, document)?.is_none() {
        return Err(EditError::Inconnu(coupe(document)));
    }
    Ok(automerge::transaction::Transactable::delete(tx, &liste, document)?)
}

fn coupe(texte: &str) -> String {
    texte.chars().take(40).collect()
}

/// Where the notebook keeps contacts.
const CONTACTS: &str = "contacts";

/// The organisers' notebook as screens read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Carnet {
    /// Private contacts by actor id.
    #[ts(type = "Record<string, ContactPrive>")]
    pub contacts: BTreeMap<String, ContactPrive>,
}

/// A change to the organisers' notebook. Serialised as
/// `{"type": "definir_contact", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EditCarnet {
    /// Sets an actor's private contact (the fields given replace theirs).
    DefinirContact {
        /// The actor, in the territory document.
        acteur_id: String,
        /// The contact.
        #[ts(type = "Partial<ContactPrive>")]
        contact: ContactPrive,
    },
    /// Removes an actor's private contact.
    RetirerContact {
        /// The actor.
        acteur_id: String,
    },
}

/// Where the notebook names its territory.
const TERRITOIRE: &str = "territoire";

/// Creates the notebook's containers and names its territory, in its
/// first change.
pub(crate) fn initialiser_carnet(tx: &mut Transaction<'_>, territoire: &DocumentId) -> Result<(), EditError> {
    tree::ensure_map(tx, &ROOT, &[CONTACTS])?;
    automerge::transaction::Transactable::put(tx, &ROOT, TERRITOIRE, territoire.to_string())?;
    Ok(())
}

/// The territory notebook `am` names, if it names one (a well-formed id,
/// the winning value).
fn territoire_du_carnet(am: &Automerge) -> Option<DocumentId> {
    match am.get(&ROOT, TERRITOIRE).ok()?? {
        (AmValue::Scalar(s), _) => s.as_str()?.parse().ok(),
        _ => None,
    }
}

/// Validates `edit` and writes it in the notebook's transaction `tx`.
pub(crate) fn appliquer_carnet(tx: &mut Transaction<'_>, edit: EditCarnet) -> Result<(), EditError> {
    match edit {
        EditCarnet::DefinirContact { acteur_id, contact } => {
            if !identifiant_valide(&acteur_id) {
                return Err(EditError::IdentifiantInvalide(coupe(&acteur_id)));
            }
            contact.valider()?;
            let obj = tree::ensure_map(tx, &ROOT, &[CONTACTS, &acteur_id])?;
            let champs = match serde_json::to_value(&contact) {
                Ok(serde_json::Value::Object(champs)) => champs,
                _ => return Err(EditError::ValeurInvalide("un contact est un objet JSON".into())),
            };
            Ok(tree::write_fields(tx, &obj, &champs)?)
        }
        EditCarnet::RetirerContact { acteur_id } => {
            let contacts =
                tree::find_map(tx, &ROOT, &[CONTACTS]).ok_or_else(|| EditError::Inconnu(coupe(&acteur_id)))?;
            if tx.get(&contacts, acteur_id.as_str())?.is_none() {
                return Err(EditError::Inconnu(coupe(&acteur_id)));
            }
            Ok(automerge::transaction::Transactable::delete(tx, &contacts, acteur_id.as_str())?)
        }
    }
}

/// Deletes the contacts of `acteurs` from the territory's old
/// `contacts_prives` (moved to the notebook), keeping the container.
pub(crate) fn retirer_contacts_prives(tx: &mut Transaction<'_>, acteurs: &[String]) -> Result<(), EditError> {
    let Some(contacts) = tree::find_map(tx, &ROOT, &["contacts_prives"]) else { return Ok(()) };
    for acteur in acteurs {
        if tx.get(&contacts, acteur.as_str())?.is_some() {
            automerge::transaction::Transactable::delete(tx, &contacts, acteur.as_str())?;
        }
    }
    Ok(())
}

/// The notebook `am`, read under the agenda's bounds.
pub fn lire_carnet(am: &Automerge) -> Carnet {
    let mut l = tree::Lecteur::new(am);
    let mut erreurs = super::Erreurs::default();
    Carnet { contacts: super::collection(&mut l, &[CONTACTS], &mut erreurs) }
}

/// Writes `contact` for `acteur_id` in the territory document itself, as
/// versions before the notebook did: what the migration and the feeds'
/// privacy tests start from.
#[cfg(test)]
pub(crate) fn ecrire_contact_ancien(am: &mut Automerge, acteur_id: &str, contact: &ContactPrive) {
    let champs = match serde_json::to_value(contact) {
        Ok(serde_json::Value::Object(champs)) => champs,
        _ => serde_json::Map::new(),
    };
    super::un_changement(am, 0, "contact ancien".into(), |tx| {
        let obj = tree::ensure_map(tx, &ROOT, &["contacts_prives", acteur_id])?;
        Ok(tree::write_fields(tx, &obj, &champs)?)
    })
    .expect("a contact written as before the notebook");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agenda::{ApplyError, Edit, Profil};
    use crate::{Config, Repo, UnixMillis};

    fn territoire() -> (Repo, DocumentId) {
        let actor = automerge::ActorId::from([3; 16]);
        let config = Config::new("carnet".parse().expect("peer id"), actor, "session".into());
        let (mut repo, _) = Repo::start(config, None, [3; 16]).expect("start");
        let profil = Profil { nom: "Val d'Essaim".into(), ..Profil::default() };
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[3; 16], "auteur", profil).expect("territory");
        (repo, doc)
    }

    fn contact(email: &str) -> ContactPrive {
        ContactPrive { email: Some(email.into()), tel: Some("0600000000".into()), ..Default::default() }
    }

    #[test]
    fn a_territory_lists_its_documents_and_each_kind_says_who_opens_them() {
        let (mut repo, doc) = territoire();
        let autre = DocumentId::from_bytes(&[9; 16]).expect("id");
        let attacher = Edit::AttacherDocument { document: autre.to_string(), genre: GenreDocument::Carnet };
        repo.apply(UnixMillis(2_000), &doc, "auteur", attacher).expect("attached");
        let am = repo.document(&doc).expect("loaded");
        assert_eq!(documents_attaches(am), [(autre.clone(), GenreDocument::Carnet)]);
        assert_eq!(GenreDocument::Carnet.acces(true), Access::ReadWrite);
        assert_eq!(GenreDocument::Carnet.acces(false), Access::Denied);
        // Not a document id: refused, nothing written.
        let heads = repo.document(&doc).expect("loaded").get_heads();
        let mauvais = Edit::AttacherDocument { document: "pas un id".into(), genre: GenreDocument::Carnet };
        assert!(matches!(repo.apply(UnixMillis(3_000), &doc, "auteur", mauvais), Err(ApplyError::Invalid(_))));
        assert_eq!(repo.document(&doc).expect("loaded").get_heads(), heads);
        // Detached: listed no more.
        let detacher = Edit::DetacherDocument { document: autre.to_string() };
        repo.apply(UnixMillis(4_000), &doc, "auteur", detacher.clone()).expect("detached");
        assert!(documents_attaches(repo.document(&doc).expect("loaded")).is_empty());
        assert!(matches!(repo.apply(UnixMillis(5_000), &doc, "auteur", detacher), Err(ApplyError::Invalid(_))));
    }

    #[test]
    fn at_most_so_many_documents_are_listed_or_read() {
        let (mut repo, doc) = territoire();
        for i in 0..DOCUMENTS_MAX {
            let id = DocumentId::from_bytes(&[u8::try_from(i).expect("small"); 16]).expect("id");
            let edit = Edit::AttacherDocument { document: id.to_string(), genre: GenreDocument::Carnet };
            repo.apply(UnixMillis(2_000), &doc, "auteur", edit).expect("attached");
        }
        let trop = DocumentId::from_bytes(&[200; 16]).expect("id");
        let edit = Edit::AttacherDocument { document: trop.to_string(), genre: GenreDocument::Carnet };
        assert!(matches!(repo.apply(UnixMillis(3_000), &doc, "auteur", edit), Err(ApplyError::Invalid(_))));
        // Whatever a document holds (raw changes), a read stops there, and
        // entries that are not a document of a known kind are skipped.
        let am = repo.document(&doc).expect("loaded").clone();
        let mut am = am;
        super::super::un_changement(&mut am, 0, "brut".into(), |tx| {
            let liste = tree::find_map(tx, &ROOT, &[DOCUMENTS]).expect("list");
            for i in 0..100 {
                let entree = tree::ensure_map(tx, &liste, &[&format!("zz{i}")])?;
                automerge::transaction::Transactable::put(tx, &entree, "genre", "inconnu")?;
            }
            Ok(())
        })
        .expect("raw");
        assert_eq!(documents_attaches(&am).len(), DOCUMENTS_MAX);
    }

    #[test]
    fn the_notebook_keeps_contacts_and_the_migration_empties_the_territory() {
        let (mut repo, doc) = territoire();
        let t = doc.clone();
        repo.change_document_with(&t, |am| {
            ecrire_contact_ancien(am, "maire", &contact("mairie@example.org"));
            ecrire_contact_ancien(am, "asso", &contact("asso@example.org"));
            ecrire_contact_ancien(am, "ancien", &contact("pas-une-adresse"));
            Ok::<(), crate::ChangeError>(())
        })
        .expect("old contacts");
        assert_eq!(repo.agenda(&doc).expect("read").contacts_prives.len(), 3);

        let outputs = repo.migrer_contacts(UnixMillis(5_000), &doc, &[4; 16], "auteur").expect("moved");
        assert!(!outputs.is_empty());
        let carnet = repo.carnet_de(&doc).expect("a notebook listed");
        let lu = repo.carnet(&carnet).expect("loaded");
        assert_eq!(lu.contacts["maire"].email.as_deref(), Some("mairie@example.org"));
        assert_eq!(lu.contacts.len(), 2);
        // The territory's current state holds none of them (its history
        // still does); one the notebook refuses stays rather than be lost.
        let reste = repo.agenda(&doc).expect("read").contacts_prives;
        assert_eq!(reste.keys().collect::<Vec<_>>(), ["ancien"]);
        assert!(!format!("{:?}", repo.agenda(&doc)).contains("mairie@example.org"));
        // Once done, nothing more to do (the refused one is not moved).
        assert_eq!(repo.migrer_contacts(UnixMillis(6_000), &doc, &[5; 16], "auteur"), Ok(Vec::new()));

        // The notebook names its territory: listed by another, it does
        // not agree to open there; one that names none (made before
        // notebooks did) is taken on the listing alone.
        let am = repo.document(&carnet).expect("loaded");
        let autre = DocumentId::from_bytes(&[9; 16]).expect("id");
        assert!(GenreDocument::Carnet.nomme(am, &doc));
        assert!(!GenreDocument::Carnet.nomme(am, &autre));
        let mut ancien = automerge::Automerge::new();
        super::super::un_changement(&mut ancien, 0, "ancien".into(), |tx| {
            Ok(tree::ensure_map(tx, &ROOT, &[CONTACTS]).map(|_| ())?)
        })
        .expect("an older notebook");
        assert!(GenreDocument::Carnet.nomme(&ancien, &autre));
        assert!(GenreDocument::Carnet.nomme(&automerge::Automerge::new(), &autre), "nothing to read yet");

        // Notebook edits: validated, or nothing written.
        let definir = EditCarnet::DefinirContact { acteur_id: "elu".into(), contact: contact("elu@example.org") };
        repo.appliquer_carnet(UnixMillis(7_000), &carnet, "auteur", definir).expect("set");
        let faux = EditCarnet::DefinirContact { acteur_id: "elu".into(), contact: contact("pas-une-adresse") };
        assert!(matches!(
            repo.appliquer_carnet(UnixMillis(7_100), &carnet, "auteur", faux),
            Err(ApplyError::Invalid(_))
        ));
        let retirer = EditCarnet::RetirerContact { acteur_id: "asso".into() };
        repo.appliquer_carnet(UnixMillis(7_200), &carnet, "auteur", retirer).expect("removed");
        let lu = repo.carnet(&carnet).expect("loaded");
        assert_eq!(lu.contacts.keys().collect::<Vec<_>>(), ["elu", "maire"]);
        assert_eq!(lu.contacts["elu"].email.as_deref(), Some("elu@example.org"));
    }
}
