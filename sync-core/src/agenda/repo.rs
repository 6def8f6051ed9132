//! The territory agenda on a [`Repo`]: applying an [`Edit`], creating a
//! territory document, reading its [`Agenda`]. This is where the domain
//! meets the protocol, and it goes one way: these methods use only what the
//! repo offers any document (`create_document_with`, `change_document_with`,
//! `document`), and nothing in `repo/` knows they exist. What a change holds
//! is decided here; how it is stored and synced, there.

use automerge::Automerge;

use super::{Agenda, Edit, EditError, Profil};
#[cfg(doc)]
use crate::repo::Output as _;
use crate::{ChangeError, DocumentId, Output, Repo, UnixMillis};

/// Why an agenda edit was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// The document is not loaded (open it and wait for it).
    #[error("document {0} is not loaded")]
    NotLoaded(DocumentId),
    /// A peer's changes to the document are being applied
    /// ([`Output::ApplyChanges`]); try again after.
    #[error("document {0} is applying a peer's changes")]
    Busy(DocumentId),
    /// The edit is invalid; nothing was written.
    #[error(transparent)]
    Invalid(#[from] EditError),
    /// The document could not be created.
    #[error("cannot create the document: {0}")]
    Create(String),
}

impl From<ChangeError> for ApplyError {
    fn from(e: ChangeError) -> ApplyError {
        match e {
            ChangeError::NotLoaded(doc) => ApplyError::NotLoaded(doc),
            ChangeError::Busy(doc) => ApplyError::Busy(doc),
            other => ApplyError::Create(other.to_string()),
        }
    }
}

/// The time of an agenda change: milliseconds, as [`super::modifier`] takes them.
fn millis(now: UnixMillis) -> i64 {
    i64::try_from(now.0).unwrap_or(i64::MAX)
}

impl Repo {
    /// Applies an agenda edit made by `auteur` (an actor id) in one
    /// Automerge change carrying the author and `now`. An invalid edit
    /// changes nothing and returns why.
    pub fn apply(
        &mut self,
        now: UnixMillis,
        doc: &DocumentId,
        auteur: &str,
        edit: Edit,
    ) -> Result<Vec<Output>, ApplyError> {
        self.change_document_with(doc, |am: &mut Automerge| {
            super::modifier(am, millis(now), auteur, edit).map_err(ApplyError::from)
        })
    }

    /// Creates a territory document, open locally, in one change made by
    /// `auteur`: the agenda's containers and the profile. One change means
    /// one storage write and one round of sync messages; the containers
    /// come with the document so that concurrent additions never hide each
    /// other.
    pub fn create_territory(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
        auteur: &str,
        profil: Profil,
    ) -> Result<(DocumentId, Vec<Output>), ApplyError> {
        self.create_document_with(now, id_bytes, |am: &mut Automerge| {
            super::creer_territoire(am, millis(now), auteur, &profil).map_err(ApplyError::from)
        })
    }

    /// The agenda read model of a loaded territory document.
    pub fn agenda(&self, doc: &DocumentId) -> Option<Agenda> {
        self.document(doc).map(super::lire)
    }
}
