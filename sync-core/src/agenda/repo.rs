//! The territory agenda on a [`Repo`]: applying an [`Edit`], creating a
//! territory document, reading its [`Agenda`]. This is where the domain
//! meets the protocol, and it goes one way: these methods use only what the
//! repo offers any document (`create_document_with`, `change_document_with`,
//! `document`), and nothing in `repo/` knows they exist. What a change holds
//! is decided here; how it is stored and synced, there.

use automerge::Automerge;

use super::{Agenda, DemandeError, DemandeHabitant, Edit, EditError, Profil};
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
    /// A resident's request was refused; nothing was written.
    #[error(transparent)]
    Refusee(#[from] DemandeError),
    /// The document could not be created.
    #[error("cannot create the document: {0}")]
    Create(String),
    /// The action cannot be taken up; nothing was written.
    #[error(transparent)]
    Essaimage(#[from] super::EssaimageError),
}

/// What a resident's request did.
#[derive(Debug, Clone, PartialEq)]
pub enum SuiteDemande {
    /// It was written in one change: carry out these outputs (the write,
    /// then the sync messages to every peer).
    Ecrite(Vec<Output>),
    /// It was done already (the same volunteering again, an entry
    /// withdrawn already): nothing changed.
    DejaFaite,
}

/// A request that changes nothing, or failed, inside `change_document_with`.
enum Echec {
    DejaFaite,
    Erreur(ApplyError),
}

impl From<ChangeError> for Echec {
    fn from(e: ChangeError) -> Echec {
        Echec::Erreur(e.into())
    }
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

    /// What action `action` of the loaded territory `source` offers other
    /// territories, read at the document's current heads
    /// (`agenda::ActionPublique`): refused unless it is public and
    /// published.
    pub fn action_publique(&self, source: &DocumentId, action: &str) -> Result<super::ActionPublique, ApplyError> {
        let am = self.document(source).ok_or_else(|| ApplyError::NotLoaded(source.clone()))?;
        let tetes: Vec<String> = am.get_heads().iter().map(|h| h.to_string()).collect();
        Ok(super::ActionPublique::de(&super::lire(am), &source.to_string(), &tetes, action)?)
    }

    /// Takes up `publique` (from [`Repo::action_publique`], or as another
    /// relay served it) into territory `cible` as the draft `nouvel_id`
    /// (essaimage, `agenda::essaimage`), its rhythm from `a_partir_de` in
    /// the target's time zone. The target must be loaded. One change to
    /// `cible`, or nothing written.
    pub fn essaimer(
        &mut self,
        now: UnixMillis,
        publique: &super::ActionPublique,
        cible: &DocumentId,
        nouvel_id: &str,
        a_partir_de: crate::rythme::Jour,
        auteur: &str,
    ) -> Result<Vec<Output>, ApplyError> {
        let fuseau = self
            .agenda(cible)
            .ok_or_else(|| ApplyError::NotLoaded(cible.clone()))?
            .profil
            .map(|p| p.fuseau)
            .unwrap_or_else(|| crate::rythme::FUSEAU_PAR_DEFAUT.to_owned());
        let edit = super::essaimer(publique, nouvel_id, a_partir_de, &fuseau)?;
        self.apply(now, cible, auteur, edit)
    }

    /// Applies a resident's request as this repo's own change, made by
    /// `auteur` (the relay: the invitation it came with) at `now`: checked
    /// against the document (`demande.rs`), then written in one change, or
    /// refused with nothing written. The document must be loaded.
    pub fn appliquer_demande(
        &mut self,
        now: UnixMillis,
        doc: &DocumentId,
        auteur: &str,
        demande: &DemandeHabitant,
    ) -> Result<SuiteDemande, ApplyError> {
        let ecrite = self.change_document_with(doc, |am: &mut Automerge| {
            match super::demande::appliquer(am, millis(now), auteur, demande) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Echec::DejaFaite),
                Err(e) => Err(Echec::Erreur(e.into())),
            }
        });
        match ecrite {
            Ok(outputs) => Ok(SuiteDemande::Ecrite(outputs)),
            Err(Echec::DejaFaite) => Ok(SuiteDemande::DejaFaite),
            Err(Echec::Erreur(e)) => Err(e),
        }
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

    /// Creates the organisers' notebook of the loaded territory
    /// `territoire` (`documents.rs`): a document of its own, its
    /// containers in its first change, then listed by the territory in
    /// one change. Offline too: the relay lets organisers open it once
    /// that change reaches it.
    pub fn creer_carnet(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
        territoire: &DocumentId,
        auteur: &str,
    ) -> Result<(DocumentId, Vec<Output>), ApplyError> {
        if self.document(territoire).is_none() {
            return Err(ApplyError::NotLoaded(territoire.clone()));
        }
        let message = serde_json::json!({ "auteur": auteur, "quoi": "carnet" }).to_string();
        let (carnet, mut outputs) = self.create_document_with(now, id_bytes, |am: &mut Automerge| {
            super::un_changement(am, millis(now), message, |tx| super::documents::initialiser_carnet(tx, territoire))
                .map_err(ApplyError::from)
        })?;
        let attacher = Edit::AttacherDocument { document: carnet.to_string(), genre: super::GenreDocument::Carnet };
        outputs.extend(self.apply(now, territoire, auteur, attacher)?);
        Ok((carnet, outputs))
    }

    /// The notebook `territoire` lists, if any (the first, should two
    /// devices have made one each offline).
    pub fn carnet_de(&self, territoire: &DocumentId) -> Option<DocumentId> {
        let am = self.document(territoire)?;
        super::documents_attaches(am).into_iter().find(|(_, g)| *g == super::GenreDocument::Carnet).map(|(d, _)| d)
    }

    /// Applies `edit` to the loaded notebook `carnet`, or writes nothing.
    pub fn appliquer_carnet(
        &mut self,
        now: UnixMillis,
        carnet: &DocumentId,
        auteur: &str,
        edit: super::EditCarnet,
    ) -> Result<Vec<Output>, ApplyError> {
        let message = serde_json::json!({ "auteur": auteur, "quoi": "contact" }).to_string();
        self.change_document_with(carnet, |am: &mut Automerge| {
            super::un_changement(am, millis(now), message, |tx| super::documents::appliquer_carnet(tx, edit))
                .map_err(ApplyError::from)
        })
    }

    /// The notebook read model, if the document is loaded.
    pub fn carnet(&self, carnet: &DocumentId) -> Option<super::Carnet> {
        self.document(carnet).map(super::lire_carnet)
    }

    /// Creates an experience sheet of the loaded territory `territoire`
    /// (`fiche.rs`): a document of its own whose first change holds its
    /// content and names the territory, then listed by the territory in
    /// one change. Offline too.
    pub fn creer_fiche(
        &mut self,
        now: UnixMillis,
        id_bytes: &[u8],
        territoire: &DocumentId,
        auteur: &str,
        nom: Option<&str>,
        contenu: super::ContenuFiche,
    ) -> Result<(DocumentId, Vec<Output>), ApplyError> {
        if self.document(territoire).is_none() {
            return Err(ApplyError::NotLoaded(territoire.clone()));
        }
        let message = serde_json::json!({ "auteur": auteur, "quoi": "fiche" }).to_string();
        let (fiche, mut outputs) = self.create_document_with(now, id_bytes, |am: &mut Automerge| {
            super::un_changement(am, millis(now), message, |tx| {
                super::fiche::initialiser_fiche(tx, millis(now), territoire, auteur, nom, &contenu)
            })
            .map_err(ApplyError::from)
        })?;
        let attacher = Edit::AttacherDocument { document: fiche.to_string(), genre: super::GenreDocument::Fiche };
        outputs.extend(self.apply(now, territoire, auteur, attacher)?);
        Ok((fiche, outputs))
    }

    /// The sheets loaded territory `territoire` lists (each may be
    /// unloaded, or not yet consent to it).
    pub fn fiches_de(&self, territoire: &DocumentId) -> Vec<DocumentId> {
        let Some(am) = self.document(territoire) else { return Vec::new() };
        super::documents_attaches(am)
            .into_iter()
            .filter(|(_, g)| *g == super::GenreDocument::Fiche)
            .map(|(d, _)| d)
            .collect()
    }

    /// Applies `edit` to the loaded sheet `fiche` as actor `auteur`, named
    /// `nom`, or writes nothing.
    pub fn appliquer_fiche(
        &mut self,
        now: UnixMillis,
        fiche: &DocumentId,
        auteur: &str,
        nom: Option<&str>,
        edit: super::EditFiche,
    ) -> Result<Vec<Output>, ApplyError> {
        let quoi = match &edit {
            super::EditFiche::Modifier { champs } => {
                format!("fiche {}", champs.keys().cloned().collect::<Vec<_>>().join(","))
            }
            super::EditFiche::Relire => "fiche relue".to_owned(),
            super::EditFiche::Publier => "fiche publiee".to_owned(),
            super::EditFiche::Retirer { .. } => "fiche retiree".to_owned(),
            super::EditFiche::Proposer { territoire, .. } => format!("fiche proposee {territoire}"),
        };
        let message = serde_json::json!({ "auteur": auteur, "quoi": quoi }).to_string();
        self.change_document_with(fiche, |am: &mut Automerge| {
            super::un_changement(am, millis(now), message, |tx| {
                super::fiche::appliquer_fiche(tx, millis(now), auteur, nom, edit)
            })
            .map_err(ApplyError::from)
        })
    }

    /// The sheet's read model, if the document is loaded.
    pub fn fiche(&self, fiche: &DocumentId) -> Option<super::Fiche> {
        self.document(fiche).map(super::lire_fiche)
    }

    /// Moves the private contacts written in territory `territoire` before
    /// the notebook existed into its notebook (made with `id_bytes` if it
    /// lists none), then removes them from the territory, in one change
    /// each. Nothing to do (`Ok` with no output) when it holds none; the
    /// notebook must be loaded if it exists. Earlier versions stay in the
    /// territory document's history (`docs/schema.md`).
    pub fn migrer_contacts(
        &mut self,
        now: UnixMillis,
        territoire: &DocumentId,
        id_bytes: &[u8],
        auteur: &str,
    ) -> Result<Vec<Output>, ApplyError> {
        let agenda = self.agenda(territoire).ok_or_else(|| ApplyError::NotLoaded(territoire.clone()))?;
        if agenda.contacts_prives.is_empty() {
            return Ok(Vec::new());
        }
        let (carnet, mut outputs) = match self.carnet_de(territoire) {
            Some(carnet) if self.document(&carnet).is_none() => return Err(ApplyError::NotLoaded(carnet)),
            Some(carnet) => (carnet, Vec::new()),
            None => self.creer_carnet(now, id_bytes, territoire, auteur)?,
        };
        let deja = self.carnet(&carnet).unwrap_or_default().contacts;
        let mut deplaces = Vec::new();
        for (acteur_id, contact) in agenda.contacts_prives {
            // A contact set in the notebook since wins over the old one.
            if deja.contains_key(&acteur_id) {
                deplaces.push(acteur_id);
                continue;
            }
            let edit = super::EditCarnet::DefinirContact { acteur_id: acteur_id.clone(), contact };
            match self.appliquer_carnet(now, &carnet, auteur, edit) {
                Ok(written) => {
                    outputs.extend(written);
                    deplaces.push(acteur_id);
                }
                // One the notebook refuses (written by an older or another
                // tool) stays where it is rather than being lost.
                Err(ApplyError::Invalid(_)) => {}
                Err(other) => return Err(other),
            }
        }
        if deplaces.is_empty() {
            return Ok(outputs);
        }
        let message = serde_json::json!({ "auteur": auteur, "quoi": "contacts vers le carnet" }).to_string();
        outputs.extend(self.change_document_with(territoire, |am: &mut Automerge| {
            super::un_changement(am, millis(now), message, |tx| {
                super::documents::retirer_contacts_prives(tx, &deplaces)
            })
            .map_err(ApplyError::from)
        })?);
        Ok(outputs)
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
    use crate::agenda::NOM_MAX;
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
        for container in ["actions", "acteurs", "instances", "decisions", "auteurs", "documents", "feuille_de_route"] {
            assert!(am.get(automerge::ROOT, container).expect("readable").is_some(), "{container}");
        }
        // Private contacts live in the organisers' notebook, never here.
        assert!(am.get(automerge::ROOT, "contacts_prives").expect("readable").is_none());
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

    /// A territory with action `a1` and its open need `b1`.
    fn territoire_avec_besoin() -> (Repo, DocumentId) {
        let mut repo = client();
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[4; 16], "org", profil()).expect("territory");
        let creer = serde_json::from_value(serde_json::json!(
            {"type": "creer", "collection": "actions", "id": "a1", "valeur": {"titre": "Chantier"}}
        ))
        .expect("an edit");
        repo.apply(UnixMillis(2_000), &doc, "org", creer).expect("action");
        let besoin = serde_json::from_value(serde_json::json!(
            {"type": "definir_besoin", "action_id": "a1", "besoin_id": "b1", "besoin": {"type": "benevoles", "statut": "ouvert"}}
        ))
        .expect("an edit");
        repo.apply(UnixMillis(3_000), &doc, "org", besoin).expect("need");
        (repo, doc)
    }

    fn propose(volontaire: &str, nom: &str, message: Option<&str>, secret: &str) -> DemandeHabitant {
        DemandeHabitant::SePropose {
            action_id: "a1".into(),
            besoin_id: "b1".into(),
            volontaire_id: volontaire.into(),
            nom: nom.into(),
            message: message.map(str::to_owned),
            preuve: super::super::preuve_du_secret(secret),
        }
    }

    fn retire(volontaire: &str, secret: &str) -> DemandeHabitant {
        DemandeHabitant::SeRetire {
            action_id: "a1".into(),
            besoin_id: "b1".into(),
            volontaire_id: volontaire.into(),
            secret: secret.into(),
        }
    }

    fn heads(repo: &Repo, doc: &DocumentId) -> Vec<automerge::ChangeHash> {
        repo.document(doc).expect("loaded").get_heads()
    }

    #[test]
    fn a_resident_volunteers_once_and_withdraws_with_the_secret_only() {
        let (mut repo, doc) = territoire_avec_besoin();
        let secret = "a".repeat(64);
        let demande = propose("v1", "  Camille  ", Some("Je viens avec une brouette\r\nà 10 h"), &secret);
        let suite = repo.appliquer_demande(UnixMillis(1_767_225_600_000), &doc, "inv1", &demande).expect("applied");
        assert!(matches!(&suite, SuiteDemande::Ecrite(out) if out.iter().any(|o| matches!(o, Output::Write(_)))));
        let agenda = repo.agenda(&doc).expect("agenda");
        let v = &agenda.actions["a1"].besoins["b1"].volontaires["v1"];
        assert_eq!(v.nom.as_deref(), Some("Camille"));
        assert_eq!(v.message.as_deref(), Some("Je viens avec une brouette\nà 10 h"));
        assert_eq!(v.preuve, Some(super::super::preuve_du_secret(&secret)));
        assert_eq!(v.date.as_deref(), Some("2026-01-01"));
        assert!(!v.confirme && v.acteur_id.is_none());
        let historique = super::super::historique(repo.document(&doc).expect("loaded"));
        assert_eq!(historique.last().and_then(|m| m.auteur.as_deref()), Some("inv1"));

        // The same request again (a retry): nothing more.
        let avant = heads(&repo, &doc);
        assert_eq!(repo.appliquer_demande(UnixMillis(9_000), &doc, "inv1", &demande), Ok(SuiteDemande::DejaFaite));
        // The same id with another proof: refused.
        let autre = propose("v1", "Sacha", None, &"b".repeat(64));
        assert_eq!(
            repo.appliquer_demande(UnixMillis(9_000), &doc, "inv2", &autre),
            Err(ApplyError::Refusee(DemandeError::DejaPris))
        );
        // A wrong secret, then a malformed one: refused.
        for (secret, error) in
            [("b".repeat(64), DemandeError::SecretIncorrect), ("court".to_owned(), DemandeError::PreuveInvalide)]
        {
            assert_eq!(
                repo.appliquer_demande(UnixMillis(9_000), &doc, "inv2", &retire("v1", &secret)),
                Err(ApplyError::Refusee(error))
            );
        }
        assert_eq!(heads(&repo, &doc), avant, "nothing written");

        let suite =
            repo.appliquer_demande(UnixMillis(10_000), &doc, "inv1", &retire("v1", &secret)).expect("withdrawn");
        assert!(matches!(suite, SuiteDemande::Ecrite(_)));
        assert!(repo.agenda(&doc).expect("agenda").actions["a1"].besoins["b1"].volontaires.is_empty());
        assert_eq!(
            repo.appliquer_demande(UnixMillis(11_000), &doc, "inv1", &retire("v1", &secret)),
            Ok(SuiteDemande::DejaFaite)
        );
    }

    #[test]
    fn a_request_the_core_refuses_writes_nothing() {
        let (mut repo, doc) = territoire_avec_besoin();
        let secret = "c".repeat(64);
        let edit = |json: serde_json::Value| serde_json::from_value::<Edit>(json).expect("an edit");
        // An organiser's own entry, without a proof.
        repo.apply(
            UnixMillis(4_000),
            &doc,
            "org",
            edit(serde_json::json!({"type": "ajouter_volontaire", "action_id": "a1", "besoin_id": "b1",
                "volontaire_id": "vo", "volontaire": {"nom": "Dominique"}})),
        )
        .expect("organiser's volunteer");
        let avant = heads(&repo, &doc);
        let refus = |repo: &mut Repo, demande: DemandeHabitant| match repo.appliquer_demande(
            UnixMillis(5_000),
            &doc,
            "inv",
            &demande,
        ) {
            Err(ApplyError::Refusee(e)) => e,
            other => panic!("accepted: {other:?}"),
        };
        for nom in ["", "   ", &"x".repeat(NOM_MAX + 1), "Ca\u{7}mille", "Ca\nmille"] {
            assert_eq!(refus(&mut repo, propose("v2", nom, None, &secret)), DemandeError::NomInvalide, "{nom:?}");
        }
        let long = "m".repeat(crate::agenda::MESSAGE_MAX + 1);
        assert_eq!(refus(&mut repo, propose("v2", "Camille", Some(&long), &secret)), DemandeError::MessageInvalide);
        assert_eq!(refus(&mut repo, propose("v/2", "Camille", None, &secret)), DemandeError::IdentifiantInvalide);
        let mut sans_preuve = propose("v2", "Camille", None, &secret);
        if let DemandeHabitant::SePropose { preuve, .. } = &mut sans_preuve {
            *preuve = "Z".repeat(64);
        }
        assert_eq!(refus(&mut repo, sans_preuve), DemandeError::PreuveInvalide);
        assert_eq!(refus(&mut repo, retire("vo", &secret)), DemandeError::NonRetirable);
        let mut ailleurs = propose("v2", "Camille", None, &secret);
        if let DemandeHabitant::SePropose { besoin_id, .. } = &mut ailleurs {
            *besoin_id = "b9".into();
        }
        assert_eq!(refus(&mut repo, ailleurs), DemandeError::BesoinInconnu);
        assert_eq!(heads(&repo, &doc), avant, "nothing written");

        for (statut, error) in [("pourvu", DemandeError::BesoinPourvu), ("clos", DemandeError::BesoinClos)] {
            repo.apply(
                UnixMillis(6_000),
                &doc,
                "org",
                edit(serde_json::json!({"type": "definir_besoin", "action_id": "a1", "besoin_id": "b1",
                    "besoin": {"type": "benevoles", "statut": statut}})),
            )
            .expect("need's state");
            assert_eq!(refus(&mut repo, propose("v2", "Camille", None, &secret)), error);
        }
        repo.apply(
            UnixMillis(7_000),
            &doc,
            "org",
            edit(serde_json::json!({"type": "supprimer", "collection": "actions", "id": "a1"})),
        )
        .expect("deleted");
        let avant = heads(&repo, &doc);
        assert_eq!(refus(&mut repo, propose("v2", "Camille", None, &secret)), DemandeError::ActionInconnue);
        assert_eq!(refus(&mut repo, retire("vo", &secret)), DemandeError::ActionInconnue);
        assert_eq!(heads(&repo, &doc), avant, "nothing written");
        assert!(matches!(
            repo.appliquer_demande(
                UnixMillis(8_000),
                &DocumentId::from_bytes(&[9; 16]).expect("id"),
                "inv",
                &retire("vo", &secret)
            ),
            Err(ApplyError::NotLoaded(_))
        ));
    }

    #[test]
    fn a_person_names_themselves_once_and_the_others_read_the_name() {
        let mut repo = client();
        let profil = Profil { nom: "Val".into(), ..Profil::default() };
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[8; 16], "0707", profil).expect("territory");
        let auteur = "07070707070707070707070707070707";
        let nommer = |nom: &str| Edit::DefinirNom { nom: nom.into() };
        repo.apply(UnixMillis(2_000), &doc, auteur, nommer("  Camille  ")).expect("named");
        assert_eq!(repo.agenda(&doc).expect("read").auteurs[auteur].nom, "Camille");
        for refus in ["", &"x".repeat(81)] {
            assert!(matches!(repo.apply(UnixMillis(3_000), &doc, auteur, nommer(refus)), Err(ApplyError::Invalid(_))));
        }
        assert!(matches!(repo.apply(UnixMillis(3_000), &doc, "pas un id !", nommer("X")), Err(ApplyError::Invalid(_))));
    }
}
