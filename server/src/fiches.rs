//! Experience sheets on the national list: the relay's team admits a
//! territory's published sheet (`essaim fiche admettre`), or takes it off
//! (`essaim fiche retirer`); `essaim fiches` lists the sheets of this
//! relay's territories.
//!
//! The admission lives in the relay's SQLite file (table
//! `fiches_nationales`: sheet, territory, when), never in the sheet's
//! document, which any of its organisers can write. The CLI writes the
//! table through its own connection while the relay runs; the feeds read
//! it on each national request (`feeds/fiches.rs`), so an admission shows
//! at once, with no message to the running relay (as a candidature's
//! acceptance: the relay reads its tables, not a copy). An admitted sheet
//! is listed only while it stays published, its territory public and both
//! still consenting (the territory lists it, the sheet names it): a sheet
//! withdrawn later leaves the national lists, its page answers 410.
//!
//! Does not: render anything (`sync_core::flux`), or write sheets.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use sync_core::DocumentId;
use sync_core::agenda::{
    self, DOCUMENTS_MAX, GenreDocument, StatutFiche, VisibiliteTerritoire, documents_attaches, territoires_de_fiche,
};

use crate::invitations::Invitations;
use crate::store::{StoreError, document_entries, open_database, open_read_only, sqlite};

/// Most sheets on the national list (what the feeds read of the table).
pub const NATIONALES_MAX: usize = 500;

/// The national list's table, through its own connection.
pub struct Nationales {
    conn: Connection,
}

impl Nationales {
    /// Opens the table in `data_dir`'s database, creating it if needed.
    pub fn open(data_dir: &Path) -> Result<Nationales, StoreError> {
        let conn = open_database(data_dir)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS fiches_nationales (
                 fiche TEXT PRIMARY KEY NOT NULL,
                 territory TEXT NOT NULL,
                 admitted_at INTEGER NOT NULL
             ) WITHOUT ROWID;",
        )
        .map_err(sqlite("preparing the national sheets table"))?;
        Ok(Nationales { conn })
    }

    /// The admitted sheets, each with its territory, oldest first.
    pub fn admises(&self) -> Result<Vec<(DocumentId, DocumentId)>, StoreError> {
        admises(&self.conn)
    }
}

/// The admitted sheets read on `conn` (a read-only one, say), at most
/// [`NATIONALES_MAX`]; none if the table does not exist yet.
pub(crate) fn admises(conn: &Connection) -> Result<Vec<(DocumentId, DocumentId)>, StoreError> {
    let existe = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fiches_nationales'", [], |_| Ok(()))
        .optional()
        .map_err(sqlite("looking for the national sheets table"))?
        .is_some();
    if !existe {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached("SELECT fiche, territory FROM fiches_nationales ORDER BY admitted_at, fiche LIMIT ?1")
        .map_err(sqlite("listing national sheets"))?;
    let rows = stmt
        .query_map(params![NATIONALES_MAX as i64], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(sqlite("listing national sheets"))?;
    let mut all = Vec::new();
    for row in rows {
        let (fiche, territoire) = row.map_err(sqlite("listing national sheets"))?;
        if let (Ok(f), Ok(t)) = (fiche.parse(), territoire.parse()) {
            all.push((f, t));
        }
    }
    Ok(all)
}

/// Why the national list refused a command. The CLI prints it: the
/// relay's team reads French here, as the sheets' authors do.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// Not a document id.
    #[error("identifiant invalide\u{a0}: {0}")]
    Identifiant(String),
    /// No such territory on this relay.
    #[error("aucun territoire {0} sur ce relais (voir essaim territory list)")]
    TerritoireInconnu(String),
    /// A private territory's sheets stay off the national list.
    #[error("le territoire {0} n'est pas public\u{a0}: ses fiches ne vont pas sur la liste nationale")]
    TerritoirePrive(String),
    /// The territory does not list the sheet.
    #[error("le territoire {territoire} ne liste pas la fiche {fiche}")]
    NonListee {
        /// The sheet.
        fiche: String,
        /// The territory.
        territoire: String,
    },
    /// The sheet does not name the territory.
    #[error("la fiche {fiche} n'est pas celle du territoire {territoire}")]
    NonNommee {
        /// The sheet.
        fiche: String,
        /// The territory.
        territoire: String,
    },
    /// Never published (a draft, or reviewed only).
    #[error("la fiche {0} n'est pas publiée (état\u{a0}: {1})")]
    PasPubliee(String, &'static str),
    /// Withdrawn.
    #[error("la fiche {0} a été retirée par ses auteurs")]
    Retiree(String),
    /// Not on the list.
    #[error("la fiche {0} n'est pas sur la liste nationale")]
    PasAdmise(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A sheet of one of this relay's territories, as `essaim fiches` lists it.
#[derive(Debug, Clone)]
pub struct FicheDuRelais {
    /// The sheet's document.
    pub fiche: DocumentId,
    /// A territory that lists it and that it names.
    pub territoire: DocumentId,
    /// Its current title.
    pub titre: String,
    /// Where it stands.
    pub statut: StatutFiche,
    /// On the national list (under this territory).
    pub nationale: bool,
}

/// Every sheet published at least once (withdrawn ones included) of this
/// relay's territories, one per (sheet, territory) where both consent.
/// Read-only: safe while the relay runs.
pub fn fiches(data_dir: &Path) -> Result<Vec<FicheDuRelais>, StoreError> {
    let invitations = Invitations::open(data_dir)?;
    let admises = Nationales::open(data_dir)?.admises()?;
    let conn = open_read_only(data_dir)?;
    let mut all = Vec::new();
    for territoire in invitations.territories()? {
        let am = sync_core::load_chunks(&territoire, document_entries(&conn, &territoire)?);
        for (fiche, genre) in documents_attaches(&am).into_iter().take(DOCUMENTS_MAX) {
            if genre != GenreDocument::Fiche {
                continue;
            }
            let doc = sync_core::load_chunks(&fiche, document_entries(&conn, &fiche)?);
            if !territoires_de_fiche(&doc).contains(&territoire) {
                continue;
            }
            let lue = agenda::lire_fiche(&doc);
            if lue.versions.is_empty() {
                continue;
            }
            let nationale = admises.contains(&(fiche.clone(), territoire.clone()));
            all.push(FicheDuRelais {
                fiche,
                territoire: territoire.clone(),
                titre: lue.contenu.titre,
                statut: lue.statut,
                nationale,
            });
        }
    }
    Ok(all)
}

/// Admits sheet `fiche` of territory `territoire` on the national list:
/// only a published, not withdrawn, sheet of a public territory of this
/// relay that lists it and that it names. Admitting it again under
/// another territory moves it there.
pub fn admettre(data_dir: &Path, fiche: &str, territoire: &str, now: i64) -> Result<(), AdmissionError> {
    let id = |texte: &str| texte.parse::<DocumentId>().map_err(|_| AdmissionError::Identifiant(texte.to_owned()));
    let (fiche_id, territoire_id) = (id(fiche)?, id(territoire)?);
    let invitations = Invitations::open(data_dir)?;
    if !invitations.territories()?.contains(&territoire_id) {
        return Err(AdmissionError::TerritoireInconnu(territoire.to_owned()));
    }
    let nationales = Nationales::open(data_dir)?;
    let conn = open_read_only(data_dir)?;
    let am = sync_core::load_chunks(&territoire_id, document_entries(&conn, &territoire_id)?);
    let public = agenda::lire(&am).profil.is_some_and(|p| p.visibilite == VisibiliteTerritoire::Public);
    if !public {
        return Err(AdmissionError::TerritoirePrive(territoire.to_owned()));
    }
    let (f, t) = (fiche.to_owned(), territoire.to_owned());
    if !documents_attaches(&am).contains(&(fiche_id.clone(), GenreDocument::Fiche)) {
        return Err(AdmissionError::NonListee { fiche: f, territoire: t });
    }
    let doc = sync_core::load_chunks(&fiche_id, document_entries(&conn, &fiche_id)?);
    if !territoires_de_fiche(&doc).contains(&territoire_id) {
        return Err(AdmissionError::NonNommee { fiche: f, territoire: t });
    }
    match agenda::lire_fiche(&doc).statut {
        StatutFiche::PublieeTerritoire | StatutFiche::PublieeNationale => {}
        StatutFiche::Retiree => return Err(AdmissionError::Retiree(f)),
        autre => return Err(AdmissionError::PasPubliee(f, autre.libelle())),
    }
    nationales
        .conn
        .execute(
            "INSERT INTO fiches_nationales (fiche, territory, admitted_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (fiche) DO UPDATE SET territory = ?2, admitted_at = ?3",
            params![fiche_id.to_string(), territoire_id.to_string(), now],
        )
        .map_err(sqlite("admitting a sheet"))?;
    Ok(())
}

/// Takes sheet `fiche` off the national list.
pub fn retirer(data_dir: &Path, fiche: &str) -> Result<(), AdmissionError> {
    let fiche_id = fiche.parse::<DocumentId>().map_err(|_| AdmissionError::Identifiant(fiche.to_owned()))?;
    let nationales = Nationales::open(data_dir)?;
    let retirees = nationales
        .conn
        .execute("DELETE FROM fiches_nationales WHERE fiche = ?1", params![fiche_id.to_string()])
        .map_err(sqlite("taking a sheet off the national list"))?;
    if retirees == 0 {
        return Err(AdmissionError::PasAdmise(fiche.to_owned()));
    }
    Ok(())
}
