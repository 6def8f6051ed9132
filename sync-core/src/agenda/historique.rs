//! The territory's history in words, for the « Historique » screen: who
//! changed what and when, newest first, with the names people gave
//! (`auteurs`) instead of actor ids, and the records' current titles.
//!
//! Reads the change messages the core writes with each edit (`{"auteur",
//! "quoi"}`, `agenda::message`); a change without one (a raw change, an
//! older client) is « une modification » by an unknown author.
//!
//! Does not: decide who may read the history (every device that holds the
//! territory holds its changes).

use automerge::Automerge;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::Agenda;

/// One change, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Evenement {
    /// Actor id of the author, if known.
    pub auteur: Option<String>,
    /// The name the author gave, if any (`auteurs`).
    pub nom: Option<String>,
    /// Milliseconds since the epoch.
    pub date: i64,
    /// What they did, in French, after their name: « a modifié l'action
    /// « Repair café » (titre, lieu) ».
    pub texte: String,
}

/// The last `max` changes of territory `am`, newest first, in words;
/// `agenda` is its read model (titles and names).
pub fn historique_en_mots(am: &Automerge, agenda: &Agenda, max: usize) -> Vec<Evenement> {
    let changes = am.get_changes(&[]);
    changes
        .iter()
        .rev()
        .take(max)
        .map(|c| {
            let parsed: Option<Value> = c.message().and_then(|m| serde_json::from_str(m).ok());
            let auteur = parsed.as_ref().and_then(|p| p.get("auteur")).and_then(Value::as_str).map(str::to_owned);
            let quoi = parsed.as_ref().and_then(|p| p.get("quoi")).and_then(Value::as_str).unwrap_or_default();
            let nom = auteur.as_ref().and_then(|a| agenda.auteurs.get(a)).map(|a| a.nom.clone());
            Evenement { auteur, nom, date: c.timestamp().saturating_mul(1000), texte: en_mots(quoi, agenda) }
        })
        .collect()
}

/// « l'action « Repair café » » for a collection and an id.
fn nommer(agenda: &Agenda, collection: &str, id: &str) -> String {
    let titre = |t: Option<&String>| t.map(|t| format!("\u{a0}«\u{a0}{t}\u{a0}»")).unwrap_or_default();
    match collection {
        "actions" => format!("l'action{}", titre(agenda.actions.get(id).map(|a| &a.titre))),
        "acteurs" => format!("l'acteur{}", titre(agenda.acteurs.get(id).map(|a| &a.nom))),
        "instances" => format!("l'instance{}", titre(agenda.instances.get(id).map(|i| &i.nom))),
        "decisions" => format!("la décision{}", titre(agenda.decisions.get(id).map(|d| &d.titre))),
        "phases" => format!("la phase{}", titre(agenda.feuille_de_route.phases.get(id).map(|p| &p.titre))),
        _ => "un enregistrement".to_owned(),
    }
}

/// The words of one change message's `quoi` (see `agenda::message`).
fn en_mots(quoi: &str, agenda: &Agenda) -> String {
    let mots: Vec<&str> = quoi.split(' ').collect();
    let action = |id: &str| nommer(agenda, "actions", id);
    match mots.as_slice() {
        ["modifier", "profil"] => "a modifié la présentation du territoire".to_owned(),
        ["modifier", "horizon"] => "a fixé l'horizon de la feuille de route".to_owned(),
        ["creer", collection, id] => format!("a créé {}", nommer(agenda, collection, id)),
        ["modifier", collection, id, champs] => {
            format!("a modifié {} ({})", nommer(agenda, collection, id), champs.replace(',', ", ").replace('_', " "))
        }
        ["modifier", collection, id] => format!("a modifié {}", nommer(agenda, collection, id)),
        ["supprimer", collection, id] => format!("a supprimé {}", nommer(agenda, collection, id)),
        ["besoin", id, _] => format!("a précisé un besoin de {}", action(id)),
        ["volontaire", id, _] => format!("a inscrit un volontaire pour {}", action(id)),
        ["se", "propose", id, ..] => format!("s'est proposé pour {}", action(id)),
        ["se", "retire", id, ..] => format!("s'est retiré de {}", action(id)),
        ["occurrence", id, _] => format!("a changé un rendez-vous de {}", action(id)),
        ["pause", id] => format!("a mis en pause {}", nommer(agenda, "actions", id)),
        ["scinder", id, _] => format!("a changé la suite de {}", action(id)),
        ["nom"] => "a indiqué son nom".to_owned(),
        ["document", _] => "a rattaché ou retiré un document du territoire".to_owned(),
        ["contacts", "vers", "le", "carnet"] => "a rangé les coordonnées dans le carnet des organisateurs".to_owned(),
        _ => "une modification".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agenda::{Edit, Profil};
    use crate::{Config, Repo, UnixMillis};

    #[test]
    fn the_history_says_who_did_what_in_words_newest_first() {
        let actor = automerge::ActorId::from([5; 16]);
        let config = Config::new("histoire".parse().expect("peer id"), actor, "s".into());
        let (mut repo, _) = Repo::start(config, None, [5; 16]).expect("start");
        let profil = Profil { nom: "Val".into(), ..Profil::default() };
        let alice = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[5; 16], alice, profil).expect("territory");
        let edit = |json: serde_json::Value| serde_json::from_value::<Edit>(json).expect("edit");
        repo.apply(UnixMillis(2_000), &doc, alice, edit(serde_json::json!({ "type": "definir_nom", "nom": "Alice" })))
            .expect("named");
        let creer = serde_json::json!({ "type": "creer", "collection": "actions", "id": "a1",
            "valeur": { "titre": "Repair café" } });
        repo.apply(UnixMillis(3_000), &doc, alice, edit(creer)).expect("created");
        let modifier = serde_json::json!({ "type": "modifier", "collection": "actions", "id": "a1",
            "champs": { "statut": "en_cours", "resume": "Ensemble" } });
        repo.apply(UnixMillis(4_000), &doc, "inconnu", edit(modifier)).expect("changed");
        let agenda = repo.agenda(&doc).expect("read");
        let lu = historique_en_mots(repo.document(&doc).expect("loaded"), &agenda, 3);
        let textes: Vec<(Option<&str>, &str)> = lu.iter().map(|e| (e.nom.as_deref(), e.texte.as_str())).collect();
        assert_eq!(
            textes,
            [
                (None, "a modifié l'action\u{a0}«\u{a0}Repair café\u{a0}» (resume, statut)"),
                (Some("Alice"), "a créé l'action\u{a0}«\u{a0}Repair café\u{a0}»"),
                (Some("Alice"), "a indiqué son nom"),
            ]
        );
        assert!(lu[0].date >= lu[1].date);
        assert_eq!(historique_en_mots(repo.document(&doc).expect("loaded"), &agenda, 100).len(), 4);
    }
}
