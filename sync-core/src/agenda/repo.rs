//! The territory agenda on a [`Repo`]: applying an [`Edit`], creating a
//! territory document, reading its [`Agenda`]. This is where the domain
//! meets the protocol, and it goes one way: these methods use only what the
//! repo offers any document (`create_document_with`, `change_document_with`,
//! `document`), and nothing in `repo/` knows they exist. What a change holds
//! is decided here; how it is stored and synced, there.

use automerge::Automerge;

use super::{Agenda, Edit, EditError, Profil};
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
            super::appliquer(am, millis(now), auteur, edit).map_err(ApplyError::from)
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

#[cfg(test)]
mod tests {
    use automerge::ReadDoc;

    use super::*;
    use crate::wire::{Message, PROTOCOL_VERSION, PeerMetadata};
    use crate::{Config, ConnId, Direction, Input, PeerId};

    fn client() -> Repo {
        let actor = automerge::ActorId::from([7; 16]);
        let config = Config::new("client".parse().expect("peer id"), actor, "session".into());
        Repo::start(config, None, [7; 16]).expect("start").0
    }

    /// A client handshaken with a relay on `conn`.
    fn connected(repo: &mut Repo, conn: ConnId) {
        let now = UnixMillis(1);
        repo.handle(now, Input::Connected { conn, direction: Direction::Outbound, expected_peer: None });
        let relay: PeerId = format!("relay-{}", conn.0).parse().expect("peer id");
        let peer = Message::Peer {
            sender: relay,
            target: repo.peer_id().clone(),
            metadata: PeerMetadata { storage_id: None, is_ephemeral: false },
            selected_version: PROTOCOL_VERSION.to_owned(),
        };
        repo.handle(now, Input::Received { conn, bytes: peer.encode() });
    }

    fn profil() -> Profil {
        Profil { nom: "Territoire d'essai".into(), ..Profil::default() }
    }

    #[test]
    fn a_territory_is_created_in_one_change_one_write_and_one_message_per_peer() {
        let mut repo = client();
        let (conn_a, conn_b) = (ConnId(1), ConnId(2));
        connected(&mut repo, conn_a);
        connected(&mut repo, conn_b);
        let (doc, out) = repo.create_territory(UnixMillis(5_000), &[3; 16], "auteur", profil()).expect("territory");

        let am = repo.document(&doc).expect("loaded");
        assert_eq!(am.get_changes(&[]).len(), 1, "one change");
        let writes: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Write(w) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!(writes.len(), 1, "{out:?}");
        assert!(writes[0].holds_document_data());
        let sends: Vec<ConnId> = out
            .iter()
            .filter_map(|o| match o {
                Output::Send { conn, .. } => Some(*conn),
                _ => None,
            })
            .collect();
        assert_eq!(sends, [conn_a, conn_b], "one message per peer: {out:?}");
        let write_at = out.iter().position(|o| matches!(o, Output::Write(_))).expect("a write");
        let first_send = out.iter().position(|o| matches!(o, Output::Send { .. })).expect("a send");
        assert!(write_at < first_send, "stored before it is advertised");

        // The containers and the profile are in that change; the history
        // names the author once.
        for container in ["actions", "acteurs", "contacts_prives", "instances", "decisions", "feuille_de_route"] {
            assert!(am.get(automerge::ROOT, container).expect("readable").is_some(), "{container}");
        }
        assert_eq!(repo.agenda(&doc).and_then(|a| a.profil).map(|p| p.nom), Some("Territoire d'essai".to_owned()));
        let historique = super::super::historique(am);
        assert_eq!(historique.len(), 1);
        assert_eq!(historique[0].auteur.as_deref(), Some("auteur"));
        assert_eq!(historique[0].date, 5_000);
    }

    #[test]
    fn a_refused_profile_creates_no_document() {
        let mut repo = client();
        let long = Profil { nom: "x".repeat(201), ..profil() };
        let refused = repo.create_territory(UnixMillis(5_000), &[3; 16], "auteur", long);
        assert!(matches!(refused, Err(ApplyError::Invalid(_))), "{refused:?}");
        assert_eq!(repo.documents_in_memory().count(), 0, "nothing half-created");
        repo.create_territory(UnixMillis(6_000), &[3; 16], "auteur", profil()).expect("the id is still free");
    }
}
