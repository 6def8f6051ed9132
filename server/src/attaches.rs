//! Access to documents that belong to a territory (the organisers'
//! notebook…): the hub's part of `gate::access`.
//!
//! A document that is no territory opens through the territories a
//! connection's invitations name: if one of them lists it
//! (`sync_core::agenda::documents_attaches`, the core's reading), its
//! kind's rule (`GenreDocument::acces`) and the connection's role there
//! decide. To read a listing the territory must be in memory: the decision
//! waits for its load ([`Attaches::attendre`]). Each decision taken through
//! territories is kept ([`Attaches::retenir`]) and taken again when one of
//! them changes ([`Attaches::a_revoir`]): a new entry opens the document (a
//! notebook created offline syncs once the change listing it arrives), a
//! removed one closes it at once.
//!
//! Listing is half of the consent: the document must also agree to
//! belong to the listing territory (`GenreDocument::nomme`, the core's
//! rule), so that a territory cannot pull in another's document by listing
//! its id, which the other territory's residents read in its document. A
//! sheet names its territories (`sync_core::agenda::territoires_de_fiche`:
//! territory A proposes B, B lists it, neither alone opens it); a notebook
//! names its territory (one made before notebooks did names none and is
//! taken on the listing alone). The document must then be in memory: the
//! decision waits for its load as for a territory's ([`Decision::Charger`]),
//! and it joins `via`, so a change of it decides again. A document the
//! relay holds nothing of (empty after its load) agrees: it was created
//! offline and is being uploaded, and holds nothing to read yet. Known
//! race: an organiser of a territory that lists such a document (knowing
//! its random id beforehand) opens it empty; when its first changes
//! arrive, the relay forwards them to the pairs open at that moment, then
//! decides again (the document changed) and closes it to that territory if
//! the document does not name it. So such an organiser may receive the
//! first changes of a document whose id it learnt, nothing after.
//!
//! Does not: read documents (the repo does), or decide anything for a
//! territory itself (`gate::access`).

use std::collections::{HashMap, HashSet};

use sync_core::agenda::documents_attaches;
use sync_core::{Access, ConnId, DocumentId, Repo};

use crate::gate::{self, Pass};
use crate::invitations::Role;

/// What the hub does with an access question.
#[derive(Debug, PartialEq)]
pub(crate) enum Decision {
    /// Answer it; `via`: the territories it was read from, to decide again
    /// when one changes.
    Decidee { access: Access, via: Vec<DocumentId> },
    /// Load these territories (or this sheet) first.
    Charger(Vec<DocumentId>),
}

/// The access of `pass` to `doc`, from the relay's rule for territories,
/// else from the territories `pass` opens that list `doc`.
pub(crate) fn decider(repo: &Repo, pass: &Pass, doc: &DocumentId) -> Decision {
    let direct = gate::access(pass, doc);
    if direct != Access::Denied || pass.open {
        return Decision::Decidee { access: direct, via: Vec::new() };
    }
    // The strongest role per territory.
    let mut roles: HashMap<&DocumentId, bool> = HashMap::new();
    for grant in pass.grants.iter().filter(|g| g.territory != *doc) {
        *roles.entry(&grant.territory).or_default() |= grant.role == Role::Organisateur;
    }
    let manquants: Vec<DocumentId> =
        roles.keys().filter(|t| repo.document(t).is_none()).map(|t| (*t).clone()).collect();
    if !manquants.is_empty() {
        return Decision::Charger(manquants);
    }
    let mut access = Access::Denied;
    let mut liste = false;
    for (territoire, organisateur) in &roles {
        let Some(am) = repo.document(territoire) else { continue };
        for (_, genre) in documents_attaches(am).into_iter().filter(|(d, _)| d == doc) {
            liste = true;
            // The document must agree too (the core's rule): it is read.
            let Some(document) = repo.document(doc) else { return Decision::Charger(vec![doc.clone()]) };
            if genre.nomme(document, territoire) {
                access = plus_fort(access, genre.acces(*organisateur));
            }
        }
    }
    let mut via: Vec<DocumentId> = roles.into_keys().cloned().collect();
    if liste {
        via.push(doc.clone());
    }
    Decision::Decidee { access, via }
}

fn plus_fort(a: Access, b: Access) -> Access {
    let rang = |x: Access| match x {
        Access::Denied => 0,
        Access::ReadOnly => 1,
        Access::ReadWrite => 2,
    };
    if rang(b) > rang(a) { b } else { a }
}

/// The decisions waiting for a territory's load, and those taken through
/// territories, with the access given.
#[derive(Debug, Default)]
pub(crate) struct Attaches {
    attente: HashMap<DocumentId, HashSet<(ConnId, DocumentId)>>,
    decidees: HashMap<DocumentId, HashMap<(ConnId, DocumentId), Access>>,
}

impl Attaches {
    /// `(conn, doc)` waits for territory `territoire` to load.
    pub(crate) fn attendre(&mut self, territoire: DocumentId, conn: ConnId, doc: DocumentId) {
        self.attente.entry(territoire).or_default().insert((conn, doc));
    }

    /// The questions that waited for `territoire`, now loaded.
    pub(crate) fn charge(&mut self, territoire: &DocumentId) -> Vec<(ConnId, DocumentId)> {
        self.attente.remove(territoire).map(|s| s.into_iter().collect()).unwrap_or_default()
    }

    /// `(conn, doc)` was given `access` through `via`.
    pub(crate) fn retenir(&mut self, via: &[DocumentId], conn: ConnId, doc: &DocumentId, access: Access) {
        for territoire in via {
            self.decidees.entry(territoire.clone()).or_default().insert((conn, doc.clone()), access);
        }
    }

    /// The decisions taken through `territoire`, which changed: each with
    /// the access it gave, to decide again.
    pub(crate) fn a_revoir(&self, territoire: &DocumentId) -> Vec<(ConnId, DocumentId, Access)> {
        let Some(decidees) = self.decidees.get(territoire) else { return Vec::new() };
        decidees.iter().map(|((conn, doc), access)| (*conn, doc.clone(), *access)).collect()
    }

    /// Forgets a connection that left.
    pub(crate) fn oublier(&mut self, conn: ConnId) {
        for paires in self.attente.values_mut() {
            paires.retain(|(c, _)| *c != conn);
        }
        self.attente.retain(|_, p| !p.is_empty());
        for paires in self.decidees.values_mut() {
            paires.retain(|(c, _), _| *c != conn);
        }
        self.decidees.retain(|_, p| !p.is_empty());
    }
}
