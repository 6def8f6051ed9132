//! The read model brought up to date from what changed
//! ([`LectureAgenda::suivre`]) against the document read whole: after
//! every step of random histories (edits, raw writes an organiser could
//! make, concurrent devices merged), both must be the same `Agenda`,
//! errors, conflicts and omissions included.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use proptest::prelude::*;
use serde_json::json;

use crate::agenda::{self, Collection, Edit, LectureAgenda, MiseAJour};

/// One step of a history, on device `sur` (0 or 1) of two.
#[derive(Debug, Clone)]
enum Pas {
    Creer {
        sur: usize,
        collection: Collection,
        id: usize,
        titre: usize,
    },
    Titre {
        sur: usize,
        id: usize,
        titre: usize,
    },
    LienRefuse {
        sur: usize,
        id: usize,
    },
    Supprimer {
        sur: usize,
        id: usize,
    },
    Profil {
        sur: usize,
        nom: usize,
    },
    Horizon {
        sur: usize,
        annee: usize,
    },
    Nom {
        sur: usize,
        nom: usize,
    },
    /// A raw write: a title of the wrong type.
    TitreNombre {
        sur: usize,
        id: usize,
    },
    /// A raw write: a record that is not a map.
    Scalaire {
        sur: usize,
        id: usize,
    },
    /// A raw write: a record under an invalid id.
    IdInvalide {
        sur: usize,
    },
    /// A raw write: a record's key deleted.
    Effacer {
        sur: usize,
        id: usize,
    },
    /// A raw write: an unknown key below a record, or at the root.
    Inconnu {
        sur: usize,
        id: usize,
    },
    /// A raw write: the actions' container replaced.
    NouveauConteneur {
        sur: usize,
    },
    /// Device `sur` takes in the other's changes.
    Fusion {
        sur: usize,
    },
}

const IDS: usize = 6;

fn pas() -> impl Strategy<Value = Pas> {
    let sur = 0..2usize;
    let id = 0..IDS;
    let collection = prop_oneof![
        Just(Collection::Actions),
        Just(Collection::Acteurs),
        Just(Collection::Instances),
        Just(Collection::Decisions),
        Just(Collection::Phases),
    ];
    prop_oneof![
        4 => (sur.clone(), collection, id.clone(), 0..4usize)
            .prop_map(|(sur, collection, id, titre)| Pas::Creer { sur, collection, id, titre }),
        4 => (sur.clone(), id.clone(), 0..4usize).prop_map(|(sur, id, titre)| Pas::Titre { sur, id, titre }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::LienRefuse { sur, id }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::Supprimer { sur, id }),
        1 => (sur.clone(), 0..3usize).prop_map(|(sur, nom)| Pas::Profil { sur, nom }),
        1 => (sur.clone(), 0..3usize).prop_map(|(sur, annee)| Pas::Horizon { sur, annee }),
        1 => (sur.clone(), 0..3usize).prop_map(|(sur, nom)| Pas::Nom { sur, nom }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::TitreNombre { sur, id }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::Scalaire { sur, id }),
        1 => sur.clone().prop_map(|sur| Pas::IdInvalide { sur }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::Effacer { sur, id }),
        1 => (sur.clone(), id.clone()).prop_map(|(sur, id)| Pas::Inconnu { sur, id }),
        1 => sur.clone().prop_map(|sur| Pas::NouveauConteneur { sur }),
        4 => sur.prop_map(|sur| Pas::Fusion { sur }),
    ]
}

/// The territory both devices start from.
fn territoire() -> Automerge {
    let mut am = Automerge::new();
    am.transact(agenda::initialiser).expect("containers");
    let champs = json!({"nom": "Commune"}).as_object().expect("object").clone();
    agenda::appliquer(&mut am, 1_000, "auteur", Edit::ModifierProfil { champs }).expect("profil");
    am
}

fn valeur(collection: Collection, titre: usize) -> serde_json::Value {
    let titre = format!("Titre {titre}");
    match collection {
        Collection::Actions => json!({ "titre": titre, "rythme": { "debut": "2026-02-04T18:30:00", "duree": "PT2H",
            "exceptions": { "2026-02-11T18:30:00": { "lien_en_ligne": "https://exemple.org/visio" } } } }),
        Collection::Instances => json!({ "nom": titre }),
        Collection::Acteurs => json!({ "nom": titre, "categorie": "association" }),
        Collection::Decisions => json!({ "titre": titre }),
        Collection::Phases => json!({ "titre": titre, "ordre": 1 }),
    }
}

/// A raw write, as an organiser's own Automerge code could make.
fn brut(
    am: &mut Automerge,
    ecrire: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), automerge::AutomergeError>,
) {
    am.transact(|tx| ecrire(tx)).expect("raw change");
}

fn actions(tx: &automerge::transaction::Transaction<'_>) -> automerge::ObjId {
    match tx.get(&ROOT, "actions").expect("read") {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        _ => panic!("the actions' container is a map in these histories"),
    }
}

fn faire(docs: &mut [Automerge; 2], pas: &Pas, t: i64) {
    // Edits refused by the core (an action that does not exist…) change
    // nothing; that is part of the history too.
    let edit = |docs: &mut [Automerge; 2], sur: usize, edit: Edit| {
        let _ = agenda::appliquer(&mut docs[sur], t, "auteur", edit);
    };
    match *pas {
        Pas::Creer { sur, collection, id, titre } => {
            edit(docs, sur, Edit::Creer { collection, id: format!("r{id}"), valeur: valeur(collection, titre) })
        }
        Pas::Titre { sur, id, titre } => {
            let champs = json!({ "titre": format!("Autre {titre}") }).as_object().expect("object").clone();
            edit(docs, sur, Edit::Modifier { collection: Collection::Actions, id: format!("r{id}"), champs })
        }
        Pas::LienRefuse { sur, id } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            let record = tx.put_object(&a, format!("r{id}"), ObjType::Map)?;
            tx.put(&record, "titre", "Lien")?;
            tx.put(&record, "lien_en_ligne", "javascript:alert(1)")
        }),
        Pas::Supprimer { sur, id } => {
            edit(docs, sur, Edit::Supprimer { collection: Collection::Actions, id: format!("r{id}") })
        }
        Pas::Profil { sur, nom } => {
            let champs = json!({ "nom": format!("Commune {nom}") }).as_object().expect("object").clone();
            edit(docs, sur, Edit::ModifierProfil { champs })
        }
        Pas::Horizon { sur, annee } => edit(
            docs,
            sur,
            Edit::ModifierHorizon { horizon_debut: Some(format!("{}", 2026 + annee)), horizon_fin: None },
        ),
        Pas::Nom { sur, nom } => edit(docs, sur, Edit::DefinirNom { nom: format!("Personne {nom}") }),
        Pas::TitreNombre { sur, id } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            let record = tx.put_object(&a, format!("r{id}"), ObjType::Map)?;
            tx.put(&record, "titre", 42)
        }),
        Pas::Scalaire { sur, id } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            tx.put(&a, format!("r{id}"), "pas un objet")
        }),
        Pas::IdInvalide { sur } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            let record = tx.put_object(&a, "pas un id !", ObjType::Map)?;
            tx.put(&record, "titre", "Invalide")
        }),
        Pas::Effacer { sur, id } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            if tx.get(&a, format!("r{id}"))?.is_some() {
                tx.delete(&a, format!("r{id}"))?;
            }
            Ok(())
        }),
        Pas::Inconnu { sur, id } => brut(&mut docs[sur], |tx| {
            let a = actions(tx);
            match tx.get(&a, format!("r{id}"))? {
                Some((automerge::Value::Object(ObjType::Map), record)) => {
                    let sous = tx.put_object(&record, "inconnu", ObjType::Map)?;
                    tx.put(&sous, "x", 1)
                }
                _ => tx.put(&ROOT, "inconnu", id as i64),
            }
        }),
        Pas::NouveauConteneur { sur } => brut(&mut docs[sur], |tx| {
            let a = tx.put_object(&ROOT, "actions", ObjType::Map)?;
            let record = tx.put_object(&a, "r0", ObjType::Map)?;
            tx.put(&record, "titre", "Dans un nouveau conteneur")
        }),
        Pas::Fusion { sur } => {
            let mut autre = docs[1 - sur].clone();
            docs[sur].merge(&mut autre).expect("merge");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_read_model_followed_is_the_document_read_whole(histoire in prop::collection::vec(pas(), 1..40)) {
        let debut = territoire();
        let mut docs = [debut.fork(), debut.fork()];
        let mut lectures = [LectureAgenda::nouvelle(&docs[0]), LectureAgenda::nouvelle(&docs[1])];
        for (t, pas) in histoire.iter().enumerate() {
            faire(&mut docs, pas, 2_000 + t as i64 * 1_000);
            for (lecture, doc) in lectures.iter_mut().zip(&docs) {
                lecture.suivre(doc);
                prop_assert_eq!(lecture.tetes(), &doc.get_heads()[..]);
                prop_assert_eq!(lecture.agenda(), &agenda::lire(doc), "after {:?}", pas);
            }
        }
    }
}

/// An edit of one action of a large territory reads that action again,
/// not the territory; replacing a container reads it whole.
#[test]
fn an_edit_reads_again_only_what_it_touched() {
    let mut am = territoire();
    for i in 0..200 {
        let creer = Edit::Creer {
            collection: Collection::Actions,
            id: format!("a{i}"),
            valeur: valeur(Collection::Actions, i),
        };
        agenda::appliquer(&mut am, 2_000, "auteur", creer).expect("action");
    }
    let mut lecture = LectureAgenda::nouvelle(&am);
    assert_eq!(lecture.suivre(&am), MiseAJour::AJour);

    let champs = json!({ "titre": "Changé" }).as_object().expect("object").clone();
    agenda::appliquer(
        &mut am,
        3_000,
        "auteur",
        Edit::Modifier { collection: Collection::Actions, id: "a7".into(), champs },
    )
    .expect("edit");
    assert_eq!(lecture.suivre(&am), MiseAJour::Parties(1));
    assert_eq!(lecture.agenda().actions["a7"].titre, "Changé");
    assert_eq!(lecture.agenda(), &agenda::lire(&am));

    let creer =
        Edit::Creer { collection: Collection::Actions, id: "b1".into(), valeur: valeur(Collection::Actions, 1) };
    agenda::appliquer(&mut am, 4_000, "auteur", creer).expect("action");
    assert_eq!(lecture.suivre(&am), MiseAJour::Parties(2), "the listing and the new record");
    assert_eq!(lecture.agenda(), &agenda::lire(&am));

    brut(&mut am, |tx| tx.put_object(&ROOT, "actions", ObjType::Map).map(drop));
    assert_eq!(lecture.suivre(&am), MiseAJour::Entiere);
    assert!(lecture.agenda().actions.is_empty());
    assert_eq!(lecture.agenda(), &agenda::lire(&am));
}
