//! `essaim demo`: public demonstration territories, so that a first run
//! shows a living agenda instead of empty forms.
//!
//! Each territory is created like `essaim territory create` does
//! ([`crate::write_territory`]: the core's `Repo`, every edit through its
//! validation, one storage transaction, safe while the relay runs), then
//! recorded in the territories table as a demonstration
//! ([`Invitations::add_demonstration`]), which lets anyone read it
//! (`gate.rs`), with an organiser and a resident invitation. Its profile
//! says `demonstration: true` too, for the app and the feeds.
//!
//! The content (`lieux.json`: the places and people, data only, read by
//! `lieux.rs`; `contenu.rs`: the edits) is deterministic from the date and the index; document ids
//! and tokens are random. A data directory that holds any demonstration
//! territory gets nothing more: a second run creates nothing.
//!
//! Does not: serve anything, or read the clock (the caller passes the date
//! and the time).

mod contenu;
mod lieux;

use sync_core::DocumentId;
use sync_core::agenda::{ContenuFiche, Edit, EditCarnet, Profil};
use sync_core::rythme::jiff::civil::Date;

use crate::invitations::{Invitations, Role};
use crate::listing::{TerritorySummary, territories};
use crate::{RunError, Storage, StoreError, random_bytes, write_territory};

/// The years `--date` may name: the rhythms reach a year either side.
pub const YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

/// A demonstration territory just made, with its invitations' tokens
/// (shown once, like `essaim territory create`'s).
#[derive(Debug, Clone)]
pub struct Created {
    /// Its document.
    pub doc: DocumentId,
    /// Its name.
    pub name: String,
    /// An organiser invitation's token.
    pub organiser_token: String,
    /// A resident invitation's token.
    pub resident_token: String,
}

/// What a run did.
#[derive(Debug)]
pub enum Outcome {
    /// The territories made, in order.
    Created(Vec<Created>),
    /// Nothing: these demonstration territories were there already.
    AlreadyThere(Vec<TerritorySummary>),
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--territoires` is 0 or more than there are places (`lieux.json`).
    #[error("--territoires must be between 1 and {max}, not {asked}")]
    Count {
        /// What was asked.
        asked: usize,
        /// How many places there are.
        max: usize,
    },
    /// `--date` outside [`YEARS`].
    #[error("--date must be in the years {first} to {last}, not {0}", first = YEARS.start(), last = YEARS.end())]
    Date(Date),
    /// The demonstration content does not pass the core's validation (a
    /// bug in `contenu.rs`).
    #[error("invalid demonstration content: {0}")]
    Content(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Creating a document failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// What territory `index` holds for `date`: what [`seed`] writes, also for
/// checks that build it in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Contenu {
    /// Its profile.
    pub profil: Profil,
    /// The edits of the territory document.
    pub edits: Vec<Edit>,
    /// The private contacts, for the organisers' notebook.
    pub carnet: Vec<EditCarnet>,
    /// Its experience sheets.
    pub fiches: Vec<FicheDemo>,
}

/// A demonstration experience sheet.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FicheDemo {
    /// What it says.
    pub contenu: ContenuFiche,
    /// Published (after a second organiser's review), or a draft.
    pub publiee: bool,
    /// The territory's actions it tells of, by id (the territory's document
    /// id is known only once it is made).
    pub actions: Vec<String>,
}

/// The content of territory `index` for `date`.
pub fn territory(index: usize, date: Date) -> Result<Contenu, DemoError> {
    let modeles = lieux::modeles().map_err(|e| DemoError::Content(format!("lieux.json: {e}")))?;
    let modele = modeles.get(index).ok_or(DemoError::Count { asked: index + 1, max: modeles.len() })?;
    let profil: Profil =
        serde_json::from_value(contenu::profil(modele)).map_err(|e| DemoError::Content(format!("profil: {e}")))?;
    fn lu<T: serde::de::DeserializeOwned>(valeurs: Vec<serde_json::Value>) -> Result<Vec<T>, DemoError> {
        valeurs
            .into_iter()
            .map(|v| {
                let text = v.to_string();
                serde_json::from_value(v).map_err(|e| DemoError::Content(format!("{e}: {text}")))
            })
            .collect()
    }
    let (edits, carnet) = contenu::edits(modele, index, date);
    Ok(Contenu { profil, edits: lu(edits)?, carnet: lu(carnet)?, fiches: lu(contenu::fiches(modele))? })
}

/// Makes `count` demonstration territories for `date` in `storage` (the
/// documents and the tables, see [`Invitations::open_for`]), unless it
/// holds some already. `now` (ms) dates the invitations. Blocking.
pub fn seed(storage: &Storage, date: Date, count: usize, now: i64) -> Result<Outcome, DemoError> {
    let max = lieux::modeles().map_err(|e| DemoError::Content(format!("lieux.json: {e}")))?.len();
    if !(1..=max).contains(&count) {
        return Err(DemoError::Count { asked: count, max });
    }
    if !YEARS.contains(&date.year()) {
        return Err(DemoError::Date(date));
    }
    let existing: Vec<TerritorySummary> = territories(storage)?.into_iter().filter(|t| t.demonstration).collect();
    if !existing.is_empty() {
        return Ok(Outcome::AlreadyThere(existing));
    }
    // Every territory's content is checked before anything is written.
    let contents = (0..count).map(|index| territory(index, date)).collect::<Result<Vec<_>, _>>()?;
    let invitations = Invitations::open_for(storage)?;
    let mut created = Vec::with_capacity(count);
    for (index, contenu) in contents.into_iter().enumerate() {
        let name = contenu.profil.nom.clone();
        let doc = write_territory(storage, "essaim-demo", contenu)?;
        // Listed in the order made (the table sorts by creation time).
        invitations.add_demonstration(&doc, now + index as i64)?;
        let (_, organiser_token) =
            invitations.create(&doc, Role::Organisateur, Some("démonstration"), None, now, random_bytes()?)?;
        let (_, resident_token) =
            invitations.create(&doc, Role::Habitant, Some("démonstration"), None, now, random_bytes()?)?;
        created.push(Created { doc, name, organiser_token, resident_token });
    }
    Ok(Outcome::Created(created))
}

#[cfg(test)]
mod tests {
    use sync_core::agenda::{self, Agenda, Collection};
    use sync_core::automerge::ActorId;
    use sync_core::rythme::{Timestamp, fuseau};
    use sync_core::{Config, Repo, UnixMillis};

    use super::*;

    /// Territory `index` for `date`, built in memory through the core,
    /// with its notebook.
    fn built(index: usize, date: Date) -> (Agenda, agenda::Carnet) {
        let Contenu { profil, edits, carnet, .. } = territory(index, date).expect("valid content");
        let config = Config::new("demo".parse().expect("peer id"), ActorId::from([3u8; 16]), "s".into());
        let (mut repo, _) = Repo::start(config, None, [3; 16]).expect("start");
        let (doc, _) =
            repo.create_territory(UnixMillis(1_000), &[index as u8 + 1; 16], "demo", profil).expect("create");
        for edit in edits {
            let text = format!("{edit:?}");
            repo.apply(UnixMillis(2_000), &doc, "demo", edit).unwrap_or_else(|e| panic!("{e}: {text}"));
        }
        let (notebook, _) =
            repo.creer_carnet(UnixMillis(2_000), &[index as u8 + 100; 16], &doc, "demo").expect("notebook");
        for edit in carnet {
            repo.appliquer_carnet(UnixMillis(2_000), &notebook, "demo", edit).expect("contact");
        }
        (repo.agenda(&doc).expect("loaded"), repo.carnet(&notebook).expect("loaded"))
    }

    /// The rendez-vous of `days` local days from `date`, in the territory's zone.
    fn rendez_vous(agenda: &Agenda, date: Date, days: i64) -> usize {
        let zone = fuseau(&agenda.profil.as_ref().expect("profile").fuseau).expect("zone");
        let at = |d: Date| -> Timestamp { d.to_zoned_datetime(zone.clone()).expect("in range").timestamp() };
        let end = date.checked_add(sync_core::rythme::jiff::Span::new().days(days)).expect("in range");
        agenda.rendez_vous(at(date), at(end)).len()
    }

    #[test]
    fn every_place_passes_the_core_and_is_alive_whatever_the_date() {
        let dates = ["2026-03-02", "2026-03-08", "2027-01-01", "2028-02-29", "2026-08-15", "2026-12-31", "2026-10-25"];
        for date in dates {
            let date: Date = date.parse().expect("date");
            for index in 0..lieux::modeles().expect("lieux.json").len() {
                let (agenda, carnet) = built(index, date);
                assert!(agenda.erreurs.is_empty(), "{index} {date}: {:?}", agenda.erreurs);
                let profil = agenda.profil.as_ref().expect("profile");
                assert!(profil.demonstration, "marked in its profile");
                let actions = agenda.actions.len();
                assert!((15..=25).contains(&actions), "{index} {date}: {actions} actions");
                assert!(rendez_vous(&agenda, date, 1) >= 1, "{index} {date}: a rendez-vous today");
                assert!(rendez_vous(&agenda, date, 7) >= 5, "{index} {date}: several this week");
                let drafts =
                    agenda.actions.values().filter(|a| a.publication == agenda::Publication::Brouillon).count();
                assert!(drafts >= 1, "drafts");
                let families: std::collections::BTreeSet<_> =
                    agenda.acteurs.values().filter_map(|a| a.famille()).collect();
                assert_eq!(families.len(), 4, "the four families");
                assert!(agenda.contacts_prives.is_empty(), "no contact in the territory document");
                assert_eq!(carnet.contacts.len(), 6, "private contacts, in the organisers' notebook");
                assert!(agenda.instances.values().all(|i| i.rythme.is_some()), "bodies with a rhythm");
                assert!(!agenda.decisions.is_empty() && !agenda.feuille_de_route.phases.is_empty());
                let volunteers: usize =
                    agenda.actions.values().flat_map(|a| a.besoins.values()).map(|b| b.volontaires.len()).sum();
                assert!(volunteers >= 2, "needs with volunteers");
                let _ = Collection::Actions;
            }
        }
    }

    #[test]
    fn every_place_has_a_published_sheet_and_a_draft() {
        let data = tempfile::tempdir().expect("temporary directory");
        let date: Date = "2026-05-20".parse().expect("date");
        let Outcome::Created(created) = seed(&Storage::Sqlite(data.path().to_owned()), date, 2, 1_000).expect("seeded")
        else {
            panic!("a fresh directory gets territories");
        };
        let conn = crate::store::open_read_only(data.path()).expect("store");
        for territoire in created {
            let charger = |doc: &sync_core::DocumentId| {
                sync_core::load_chunks(doc, crate::store::document_entries(&conn, doc).expect("read"))
            };
            let am = charger(&territoire.doc);
            let fiches: Vec<_> = agenda::documents_attaches(&am)
                .into_iter()
                .filter(|(_, g)| *g == agenda::GenreDocument::Fiche)
                .map(|(d, _)| agenda::lire_fiche(&charger(&d)))
                .collect();
            let statuts: Vec<_> = fiches.iter().map(|f| f.statut).collect();
            assert_eq!(statuts.len(), 2, "{}", territoire.name);
            assert!(statuts.contains(&agenda::StatutFiche::PublieeTerritoire));
            assert!(statuts.contains(&agenda::StatutFiche::Brouillon));
            let publiee = fiches.iter().find(|f| f.statut == agenda::StatutFiche::PublieeTerritoire).expect("one");
            assert_eq!(publiee.contenu.actions[0].territoire, territoire.doc.to_string());
            assert_eq!(publiee.contributeurs, ["Équipe d'animation"], "the reviewer wrote nothing");
            assert!(fiches.iter().all(|f| f.erreurs.is_empty() && f.conflits.is_empty()));
        }
    }

    #[test]
    fn the_same_date_gives_the_same_content() {
        let date: Date = "2026-05-20".parse().expect("date");
        assert_eq!(territory(1, date).expect("valid"), territory(1, date).expect("valid"));
        assert_ne!(territory(0, date).expect("valid").edits, territory(1, date).expect("valid").edits);
    }
}
