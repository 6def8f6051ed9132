//! The territories of a relay's data directory as the CLI lists them
//! (`essaim territory list`, `essaim demo` on a second run): each one's
//! profile read from its committed chunks in SQLite, as the feeds read it
//! (`sync_core::load_chunks`), with its flags from the territories table.
//!
//! Read-only: safe while the relay runs.

use std::path::Path;

use sync_core::DocumentId;
use sync_core::agenda::{self, Profil, VisibiliteTerritoire};

use crate::invitations::Invitations;
use crate::store::{StoreError, document_entries, open_read_only};

/// One territory of this relay.
#[derive(Debug, Clone)]
pub struct TerritorySummary {
    /// Its document.
    pub doc: DocumentId,
    /// Its profile, if the document holds a readable one.
    pub profil: Option<Profil>,
    /// A demonstration territory (the territories table says so).
    pub demonstration: bool,
}

impl TerritorySummary {
    /// Public in its profile: listed by the national feeds.
    pub fn public(&self) -> bool {
        self.profil.as_ref().is_some_and(|p| p.visibilite == VisibiliteTerritoire::Public)
    }

    /// Its name, or an empty string.
    pub fn name(&self) -> &str {
        self.profil.as_ref().map_or("", |p| p.nom.as_str())
    }
}

/// Every territory of the relay in `data_dir`, oldest first.
pub fn territories(data_dir: &Path) -> Result<Vec<TerritorySummary>, StoreError> {
    let invitations = Invitations::open(data_dir)?;
    let demonstrations = invitations.demonstrations()?;
    let conn = open_read_only(data_dir)?;
    let mut all = Vec::new();
    for doc in invitations.territories()? {
        let entries = document_entries(&conn, &doc)?;
        let am = sync_core::load_chunks(&doc, entries);
        let profil = agenda::lire(&am).profil;
        let demonstration = demonstrations.contains(&doc);
        all.push(TerritorySummary { doc, profil, demonstration });
    }
    Ok(all)
}
