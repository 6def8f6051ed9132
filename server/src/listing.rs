//! The territories of a relay's storage as the CLI lists them
//! (`essaim territory list`, `essaim demo` on a second run): each one's
//! profile read from its committed chunks (SQLite in the data directory or
//! the cluster's PostgreSQL), as the feeds read it
//! (`sync_core::load_chunks`), with its flags from the territories table.
//!
//! Read-only: safe while the relay runs.

use sync_core::DocumentId;
use sync_core::agenda::{self, Profil, VisibiliteTerritoire};

use crate::invitations::Invitations;
use crate::store::{Storage, StoreError};

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

/// Every territory of the relay whose storage is `storage`, oldest first.
/// Blocking.
pub fn territories(storage: &Storage) -> Result<Vec<TerritorySummary>, StoreError> {
    let invitations = Invitations::open_for(storage)?;
    let demonstrations = invitations.demonstrations()?;
    let mut reader = storage.reader()?;
    let mut all = Vec::new();
    for doc in invitations.territories()? {
        let entries = reader.entries(&doc)?;
        let am = sync_core::load_chunks(&doc, entries);
        let profil = agenda::lire(&am).profil;
        let demonstration = demonstrations.contains(&doc);
        all.push(TerritorySummary { doc, profil, demonstration });
    }
    Ok(all)
}
