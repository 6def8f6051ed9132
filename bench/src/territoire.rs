//! A realistic territory document of any number of changes, built offline
//! and deterministically from a seed: what a commune's agenda looks like
//! after years of use.
//!
//! A few organisers take turns (each session is one actor making a run of
//! edits a minute apart): they create actions with rhythms, reword them,
//! add needs, sign volunteers up, cancel or move occurrences, now and then
//! create a one-off. The mix follows what the PWA's screens write. It is
//! built with [`sync_core::agenda::appliquer`], the code the repo runs for
//! an edit, so every change passes the schema's validation.

use client::MemoryStore;
use serde_json::{Value, json};
use sync_core::agenda::{self, Edit, Profil};
use sync_core::automerge::{ActorId, Automerge};
use sync_core::{ChunkKind, Config, DocumentId, Repo, StorageKey, UnixMillis};

/// A territory document and its id.
pub struct Territoire {
    /// The document's id (from the seed).
    pub doc: DocumentId,
    /// The document.
    pub am: Automerge,
}

impl Territoire {
    /// What a device that has the territory keeps: the saved document as
    /// one snapshot chunk.
    pub fn store(&self) -> MemoryStore {
        let mut store = MemoryStore::default();
        store.put(StorageKey::chunk(&self.doc, ChunkKind::Snapshot, "realiste"), self.am.save());
        store
    }
}

/// Organisers taking turns.
const ORGANISATEURS: u64 = 8;

/// Builds a territory of `changes` changes (at least 2: creation and
/// profile).
pub fn realiste(changes: usize, seed: u64) -> Territoire {
    let mut rng = Rng(seed | 1);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seed.to_le_bytes());
    // 2026-01-05 09:00 UTC, then a minute per edit.
    let mut now: i64 = 1_767_603_600_000;
    let mut am = created(&id, now);
    let mut actions: Vec<String> = Vec::new();
    let mut besoins: Vec<(String, String)> = Vec::new();
    let mut made = am.get_changes(&[]).len();
    let mut session_left = 0;
    let mut organiser = 0;
    while made < changes {
        if session_left == 0 {
            organiser = rng.below(ORGANISATEURS);
            am.set_actor(ActorId::from(&actor_bytes(organiser)[..]));
            session_left = 5 + rng.below(40);
        }
        session_left -= 1;
        now += 60_000;
        let auteur = hex(&actor_bytes(organiser));
        let edit = next_edit(&mut rng, made, &mut actions, &mut besoins);
        agenda::appliquer(&mut am, now, &auteur, edit).expect("the generator writes valid edits");
        made += 1;
    }
    let doc = DocumentId::from_bytes(&id).expect("16 bytes make a document id");
    Territoire { doc, am }
}

/// The territory as [`Repo::create_territory`] makes it (first organiser).
fn created(id: &[u8; 16], now: i64) -> Automerge {
    let actor = ActorId::from(&actor_bytes(0)[..]);
    let config = Config::new("essaim-bench-generateur".parse().expect("a peer id"), actor, "0".into());
    let (mut repo, _) = Repo::start(config, None, [7; 16]).expect("an in-memory repo starts");
    let profil = Profil { nom: "Commune en transition".into(), ..Profil::default() };
    let (doc, _) =
        repo.create_territory(UnixMillis(now as u64), id, &hex(&actor_bytes(0)), profil).expect("a valid territory");
    repo.document(&doc).expect("the repo holds what it created").clone()
}

fn next_edit(rng: &mut Rng, n: usize, actions: &mut Vec<String>, besoins: &mut Vec<(String, String)>) -> Edit {
    let roll = rng.below(100);
    if actions.is_empty() || roll < 8 {
        let id = format!("a{n}");
        actions.push(id.clone());
        return Edit::Creer { collection: agenda::Collection::Actions, id, valeur: action(rng, n) };
    }
    let action = actions[rng.below(actions.len() as u64) as usize].clone();
    match roll {
        8..38 => {
            let champ = ["titre", "resume", "description"][rng.below(3) as usize];
            let texte = match champ {
                "titre" => format!("{} n°{n}", TITRES[rng.below(TITRES.len() as u64) as usize]),
                "resume" => format!("Rendez-vous ouvert à toutes et tous, édition {n}."),
                _ => format!(
                    "Apportez vos outils et votre bonne humeur. Accueil à partir de l'heure indiquée, \
                     café offert. Modification {n} : accès par la cour de l'école."
                ),
            };
            Edit::Modifier {
                collection: agenda::Collection::Actions,
                id: action,
                champs: [(champ.to_owned(), Value::String(texte))].into_iter().collect(),
            }
        }
        38..58 => {
            let besoin_id = format!("b{n}");
            besoins.push((action.clone(), besoin_id.clone()));
            let besoin =
                json!({ "type": "benevoles", "description": "Des bras pour installer", "quantite": 1 + rng.below(6) });
            Edit::DefinirBesoin {
                action_id: action,
                besoin_id,
                besoin: serde_json::from_value(besoin).expect("a valid need"),
            }
        }
        58..83 if !besoins.is_empty() => {
            let (action_id, besoin_id) = besoins[rng.below(besoins.len() as u64) as usize].clone();
            let volontaire = json!({ "nom": PRENOMS[rng.below(PRENOMS.len() as u64) as usize], "date": "2026-03-02" });
            Edit::AjouterVolontaire {
                action_id,
                besoin_id,
                volontaire_id: format!("v{n}"),
                volontaire: serde_json::from_value(volontaire).expect("a valid volunteer"),
            }
        }
        _ => {
            // Every action's rhythm is weekly on Wednesdays from 2026-01-07.
            let semaine = rng.below(100);
            let jour = jiff_date(semaine);
            let exception = if rng.below(2) == 0 {
                json!({ "etat": "annule", "motif": "Salle indisponible" })
            } else {
                json!({ "debut": format!("{jour}T20:00:00") })
            };
            Edit::ModifierOccurrence {
                collection: agenda::Collection::Actions,
                id: action,
                origine: format!("{jour}T18:30:00"),
                exception: serde_json::from_value(exception).expect("a valid exception"),
            }
        }
    }
}

fn action(rng: &mut Rng, n: usize) -> Value {
    let theme = [
        "alimentation_agriculture",
        "energie",
        "mobilite",
        "environnement_biodiversite_eau",
        "dechets_reemploi",
        "solidarites_inclusion",
    ][rng.below(6) as usize];
    json!({
        "titre": format!("{} n°{n}", TITRES[rng.below(TITRES.len() as u64) as usize]),
        "resume": "Un rendez-vous du territoire, ouvert à tous.",
        "portes_entree": [theme],
        "lieu": { "libelle": "Salle des fêtes", "adresse": "1 place de la Mairie" },
        "visibilite": "public",
        "publication": "publie",
        "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                    "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-12-29" } },
    })
}

/// The Wednesday `semaine` weeks after 2026-01-07, as `AAAA-MM-JJ`.
fn jiff_date(semaine: u64) -> String {
    // Days since 2026-01-07 to a calendar date, without a date library:
    // month lengths of 2026 and 2027.
    const MOIS: [u64; 24] =
        [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut jour = 6 + semaine * 7;
    let mut mois = 0;
    while jour >= MOIS[mois] {
        jour -= MOIS[mois];
        mois += 1;
    }
    format!("{}-{:02}-{:02}", 2026 + mois / 12, mois % 12 + 1, jour + 1)
}

const TITRES: [&str; 6] =
    ["Repair café", "Atelier vélo", "Jardin partagé", "Conseil citoyen", "Grainothèque", "Fresque du climat"];
const PRENOMS: [&str; 6] = ["Camille", "Dominique", "Sacha", "Alix", "Noa", "Claude"];

fn actor_bytes(organiser: u64) -> [u8; 16] {
    let mut bytes = [0xe5; 16];
    bytes[..8].copy_from_slice(&organiser.to_le_bytes());
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A small deterministic generator (xorshift).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_asked_number_of_valid_changes() {
        let t = realiste(300, 7);
        assert_eq!(t.am.get_changes(&[]).len(), 300);
        let lu = agenda::lire(&t.am);
        assert!(lu.actions.len() > 10, "{} actions", lu.actions.len());
        assert!(lu.erreurs.is_empty(), "{:?}", lu.erreurs);
        assert_eq!(realiste(300, 7).am.get_heads(), t.am.get_heads(), "deterministic");
    }

    #[test]
    fn wednesdays() {
        assert_eq!(jiff_date(0), "2026-01-07");
        assert_eq!(jiff_date(8), "2026-03-04");
        assert_eq!(jiff_date(52), "2027-01-06");
    }
}
