//! Candidatures: territories proposed from the app on a `sur-candidature`
//! relay, waiting for its team (`essaim candidatures`, `essaim candidature
//! accept|refuse`).
//!
//! A candidature keeps what the app asked for ([`Demande`], validated by
//! `territoires.rs` before it gets here), the SHA-256 of the applicant's
//! new organiser secret (`cle`: the relay never sees the secret), the
//! address it came from (to cap what one address keeps waiting) and its
//! state. Nothing else exists before acceptance: no document, no
//! territory, no invitation. [`accept`] creates the territory's document
//! from the demande (as `essaim territory create` does) and the organiser
//! invitation whose secret hash is the `cle`, so the applicant's device
//! holds the token `<invitation id>.<its secret>`; [`refuse`] only records
//! the reason.
//!
//! The table lives in the relay's SQLite file (`--data`), through its own
//! connection, also on a cluster's relay (each keeps the candidatures it
//! took); the territory and invitation [`accept`] makes go to the relay's
//! storage, with the invitations (`Invitations::open_for`). This module
//! does not read HTTP bodies nor decide the policy (`territoires.rs` does).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sync_core::DocumentId;
use sync_core::agenda::{Codes, LienReseau, Profil, Reseau, Theme, TypeTerritoire, VisibiliteTerritoire};

use crate::invitations::{Invitations, NewInvitation, Role};
use crate::store::{Storage, StoreError, open_database, sqlite};

/// The label of the organiser invitation a creation from the app makes.
pub const CREATOR_LABEL: &str = "créateur";

/// Longest refusal reason, in characters.
pub const MAX_MOTIF_CHARS: usize = 500;

/// What a creation from the app asks for, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demande {
    /// The territory's name.
    pub nom: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub type_territoire: TypeTerritoire,
    /// INSEE codes of its communes.
    pub insee: Vec<String>,
    /// Its entry doors.
    pub portes_entree: Vec<Theme>,
    /// National networks it belongs to.
    pub reseaux: Vec<Reseau>,
    /// How the relay's team reaches the applicant.
    pub contact: String,
    /// Why they ask.
    pub motivation: String,
}

impl Demande {
    /// The accepted territory's profile: name, kind, INSEE codes, entry
    /// doors, networks (their role the schema's default), visibility.
    pub fn profil(&self, public: bool) -> Profil {
        Profil {
            nom: self.nom.clone(),
            type_territoire: self.type_territoire,
            codes: Codes { insee: self.insee.clone(), ..Codes::default() },
            portes_entree: self.portes_entree.clone(),
            reseaux: self.reseaux.iter().map(|&reseau| LienReseau { reseau, ..LienReseau::default() }).collect(),
            visibilite: if public { VisibiliteTerritoire::Public } else { VisibiliteTerritoire::Prive },
            ..Profil::default()
        }
    }
}

/// Where a candidature stands, as `GET /candidatures/{id}` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "etat", rename_all = "kebab-case")]
pub enum Etat {
    /// Waiting for the relay's team.
    EnAttente,
    /// Accepted: the territory and the applicant's invitation exist.
    Acceptee {
        /// The territory's document.
        territoire: String,
        /// The organiser invitation's id (the token is `<id>.<secret>`).
        invitation: String,
    },
    /// Refused, with the team's reason.
    Refusee {
        /// Why.
        motif: String,
    },
}

/// One candidature.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidature {
    /// 64 random bits, hex.
    pub id: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// What it asks for.
    pub demande: Demande,
    /// SHA-256 of the applicant's organiser secret.
    pub cle: Vec<u8>,
    /// Where it stands.
    pub etat: Etat,
}

/// Why a candidature could not be accepted or refused. The CLI prints it
/// (for operators: English).
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No candidature with that id.
    #[error("no candidature {0} (see `essaim candidatures`)")]
    Unknown(String),
    /// Accepted or refused already.
    #[error("candidature {0} was already accepted or refused")]
    Decided(String),
    /// An empty or too long reason.
    #[error("--motif must be 1 to {MAX_MOTIF_CHARS} characters: the applicant reads it")]
    Motif,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The territory could not be created.
    #[error(transparent)]
    Run(#[from] crate::RunError),
}

/// The candidatures table, through its own connection.
pub struct Candidatures {
    conn: Connection,
}

impl Candidatures {
    /// Opens the table in `data_dir`'s database, creating it if needed.
    pub fn open(data_dir: &Path) -> Result<Candidatures, StoreError> {
        let conn = open_database(data_dir)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS candidatures (
                 id TEXT PRIMARY KEY NOT NULL,
                 created_at INTEGER NOT NULL,
                 demande TEXT NOT NULL,
                 cle BLOB NOT NULL UNIQUE,
                 address TEXT NOT NULL,
                 etat TEXT NOT NULL,
                 motif TEXT,
                 territory TEXT,
                 invitation TEXT,
                 decided_at INTEGER
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS candidatures_by_state ON candidatures (etat, address);",
        )
        .map_err(sqlite("preparing the candidatures table"))?;
        Ok(Candidatures { conn })
    }

    /// Records a new candidature; returns its id. `id` is 8 random bytes.
    pub fn submit(
        &self,
        id: [u8; 8],
        demande: &Demande,
        cle: &[u8],
        address: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let json = serde_json::to_string(demande).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO candidatures (id, created_at, demande, cle, address, etat)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'en-attente')",
                params![id, now, json, cle, address],
            )
            .map_err(sqlite("recording a candidature"))?;
        Ok(id)
    }

    /// The candidature made with this `cle`, if any: a candidature sent
    /// again finds the first.
    pub fn find_by_cle(&self, cle: &[u8]) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT id FROM candidatures WHERE cle = ?1", params![cle], |row| row.get(0))
            .optional()
            .map_err(sqlite("finding a candidature"))
    }

    /// Candidatures waiting, from `address` or from anyone.
    pub fn pending_count(&self, address: Option<&str>) -> Result<u64, StoreError> {
        let count = match address {
            Some(address) => self.conn.query_row(
                "SELECT count(*) FROM candidatures WHERE etat = 'en-attente' AND address = ?1",
                params![address],
                |row| row.get(0),
            ),
            None => {
                self.conn.query_row("SELECT count(*) FROM candidatures WHERE etat = 'en-attente'", [], |row| row.get(0))
            }
        };
        count.map_err(sqlite("counting candidatures"))
    }

    /// One candidature.
    pub fn get(&self, id: &str) -> Result<Option<Candidature>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, created_at, demande, cle, etat, motif, territory, invitation FROM candidatures WHERE id = ?1",
            )
            .map_err(sqlite("reading a candidature"))?;
        let found =
            stmt.query_row(params![id], row_to_candidature).optional().map_err(sqlite("reading a candidature"))?;
        Ok(found.flatten())
    }

    /// The candidatures waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<Candidature>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, created_at, demande, cle, etat, motif, territory, invitation FROM candidatures
                 WHERE etat = 'en-attente' ORDER BY created_at, id",
            )
            .map_err(sqlite("listing candidatures"))?;
        let rows = stmt
            .query_map([], row_to_candidature)
            .map_err(sqlite("listing candidatures"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite("listing candidatures"))?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Marks a waiting candidature decided; false if it was not waiting.
    fn decide(&self, id: &str, etat: &Etat, now: i64) -> Result<bool, StoreError> {
        let (word, motif, territory, invitation) = match etat {
            Etat::EnAttente => ("en-attente", None, None, None),
            Etat::Acceptee { territoire, invitation } => ("acceptee", None, Some(territoire), Some(invitation)),
            Etat::Refusee { motif } => ("refusee", Some(motif), None, None),
        };
        let changed = self
            .conn
            .execute(
                "UPDATE candidatures SET etat = ?2, motif = ?3, territory = ?4, invitation = ?5, decided_at = ?6
                 WHERE id = ?1 AND etat = 'en-attente'",
                params![id, word, motif, territory, invitation, now],
            )
            .map_err(sqlite("deciding a candidature"))?;
        Ok(changed > 0)
    }
}

fn row_to_candidature(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Candidature>> {
    let demande: String = row.get(2)?;
    let Ok(demande) = serde_json::from_str(&demande) else { return Ok(None) };
    let etat: String = row.get(4)?;
    let etat = match etat.as_str() {
        "en-attente" => Etat::EnAttente,
        "acceptee" => Etat::Acceptee {
            territoire: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
            invitation: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
        },
        "refusee" => Etat::Refusee { motif: row.get::<_, Option<String>>(5)?.unwrap_or_default() },
        _ => return Ok(None),
    };
    Ok(Some(Candidature { id: row.get(0)?, created_at: row.get(1)?, demande, cle: row.get(3)?, etat }))
}

/// Accepts a waiting candidature of the table in `data_dir`: creates its
/// territory in the relay's `storage` (public with `public`), its
/// organiser invitation from the candidature's `cle` (both where the relay
/// reads them: a cluster's PostgreSQL, say), and records both in the
/// candidature. Returns the territory and the invitation's id. Safe while
/// the relay runs.
pub fn accept(
    data_dir: &Path,
    storage: &Storage,
    id: &str,
    public: bool,
    now: i64,
) -> Result<(DocumentId, String), DecisionError> {
    let candidatures = Candidatures::open(data_dir)?;
    let candidature = candidatures.get(id)?.ok_or_else(|| DecisionError::Unknown(id.to_owned()))?;
    if candidature.etat != Etat::EnAttente {
        return Err(DecisionError::Decided(id.to_owned()));
    }
    let doc = crate::create_territory_in(storage, candidature.demande.profil(public))?;
    let new =
        NewInvitation { territory: &doc, role: Role::Organisateur, label: Some(CREATOR_LABEL), expires_at: None, now };
    let invitation = Invitations::open_for(storage)?.create_from_hash(new, crate::random_bytes()?, &candidature.cle)?;
    let etat = Etat::Acceptee { territoire: doc.to_string(), invitation: invitation.id.clone() };
    if !candidatures.decide(id, &etat, now)? {
        return Err(DecisionError::Decided(id.to_owned()));
    }
    Ok((doc, invitation.id))
}

/// Refuses a waiting candidature with `motif` (1 to [`MAX_MOTIF_CHARS`]
/// characters): nothing is created.
pub fn refuse(data_dir: &Path, id: &str, motif: &str, now: i64) -> Result<(), DecisionError> {
    let motif = motif.trim();
    if motif.is_empty() || motif.chars().count() > MAX_MOTIF_CHARS {
        return Err(DecisionError::Motif);
    }
    let candidatures = Candidatures::open(data_dir)?;
    let candidature = candidatures.get(id)?.ok_or_else(|| DecisionError::Unknown(id.to_owned()))?;
    if candidature.etat != Etat::EnAttente
        || !candidatures.decide(id, &Etat::Refusee { motif: motif.to_owned() }, now)?
    {
        return Err(DecisionError::Decided(id.to_owned()));
    }
    Ok(())
}
