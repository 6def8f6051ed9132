//! Issue 12, items 2, 12 and 13: the agenda reader and the feeds facing a
//! document an organiser wrote raw (Automerge transactions that bypass
//! `Edit`): deep nesting, `javascript:` links, record ids with CRLF.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use serde_json::json;

use crate::agenda::{self, Collection, Edit, EditError, ValidationError};
use crate::flux::{self, Territoire};
use crate::rythme::Timestamp;

const NOW: &str = "2026-01-15T10:00:00Z";

/// How many maps an attacker nests (a 283 KB change in the issue).
const NIVEAUX: usize = 100_000;

fn action(titre: &str, lien: Option<&str>) -> serde_json::Value {
    let mut valeur = json!({
        "titre": titre,
        "visibilite": "public",
        "publication": "publie",
        "rythme": { "debut": "2026-02-04T18:30:00", "duree": "PT2H",
                    "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-12-30" } },
    });
    if let Some(lien) = lien {
        valeur["mode_participation"] = json!("mixte");
        valeur["lien_en_ligne"] = json!(lien);
    }
    valeur
}

/// A public territory with one public weekly action `a1`, built by edits.
fn territoire() -> Automerge {
    let mut am = Automerge::new();
    am.transact(agenda::initialiser).expect("containers");
    let champs = json!({"nom": "Commune", "visibilite": "public"}).as_object().expect("object").clone();
    agenda::appliquer(&mut am, 1_000, "auteur", Edit::ModifierProfil { champs }).expect("profil");
    let creer = Edit::Creer { collection: Collection::Actions, id: "a1".into(), valeur: action("Repair café", None) };
    agenda::appliquer(&mut am, 2_000, "auteur", creer).expect("action");
    am
}

/// Nests `NIVEAUX` maps under `cle` of `obj`, in one raw change.
fn imbriquer(am: &mut Automerge, chemin: &[&str], cle: &str) {
    am.transact(|tx| {
        let mut obj = ROOT;
        for k in chemin {
            obj = match tx.get(&obj, *k)? {
                Some((automerge::Value::Object(_), id)) => id,
                _ => tx.put_object(&obj, *k, ObjType::Map)?,
            };
        }
        let mut courant = tx.put_object(&obj, cle, ObjType::Map)?;
        for _ in 0..NIVEAUX {
            courant = tx.put_object(&courant, "x", ObjType::Map)?;
        }
        Ok::<_, automerge::AutomergeError>(())
    })
    .expect("raw change");
}

fn now() -> Timestamp {
    NOW.parse().expect("instant")
}

#[test]
fn r12_02_deeply_nested_maps_are_not_read_and_the_agenda_still_reads() {
    // See: issue #12, item 2.
    let mut am = territoire();
    let creer = Edit::Creer { collection: Collection::Actions, id: "a2".into(), valeur: action("Visée", None) };
    agenda::appliquer(&mut am, 2_000, "auteur", creer).expect("action");
    imbriquer(&mut am, &[], "inconnu");
    imbriquer(&mut am, &["actions", "a1"], "champ_inconnu");
    imbriquer(&mut am, &["actions", "a2", "lieu"], "libelle");
    imbriquer(&mut am, &["actions", "a2", "rythme"], "exceptions");
    // Reloaded from bytes, as the relay's feeds read it.
    let am = Automerge::load(&am.save()).expect("load");

    // Unbounded recursion would overflow the stack here (a crash, not a
    // failed assertion); time is left to the fuzz harness and the relay's
    // tests, a core test keeps no clock.
    let lu = agenda::lire(&am);
    // The action whose unknown field is nested still reads (that field was
    // never walked); the one whose known fields are nested is left out and
    // named, not hidden.
    let a1 = lu.actions.get("a1").expect("a1 still reads");
    assert_eq!(a1.titre, "Repair café");
    assert!(!lu.actions.contains_key("a2"));
    assert!(lu.erreurs.iter().any(|e| e.starts_with("actions/a2 : ")), "{:?}", lu.erreurs);
    assert!(lu.erreurs.iter().any(|e| e.contains("valeurs trop profondes")), "{:?}", lu.erreurs);
    let ics = flux::ics(&Territoire::new("doc", &lu, "https://essaim.example"), &lu, now());
    assert!(ics.contains("SUMMARY:Repair café"), "{ics}");
    // An edit of the record reads it with the same bounds.
    let mut am = am;
    let edit = Edit::Modifier {
        collection: Collection::Actions,
        id: "a1".into(),
        champs: json!({"statut": "en_cours"}).as_object().expect("object").clone(),
    };
    agenda::appliquer(&mut am, 3_000, "auteur", edit).expect("the record reads, so it can be edited");
    assert_eq!(agenda::lire(&am).actions["a1"].statut, crate::agenda::Statut::EnCours);
}

#[test]
fn r12_02_a_huge_legal_collection_reads_within_the_bounds() {
    // See: issue #12, item 2.
    let mut am = territoire();
    am.transact(|tx| {
        let actions = tx.get(&ROOT, "actions")?.expect("actions").1;
        for i in 0..(tree_entrees_max() + 500) {
            let a = tx.put_object(&actions, format!("b{i:05}").as_str(), ObjType::Map)?;
            tx.put(&a, "titre", "Atelier")?;
        }
        Ok::<_, automerge::AutomergeError>(())
    })
    .expect("raw change");
    let lu = agenda::lire(&am);
    assert_eq!(lu.actions.len(), tree_entrees_max(), "records beyond the bound are left out");
    assert!(lu.erreurs.iter().any(|e| e.contains("au-delà de la limite")), "{:?}", lu.erreurs);
}

fn tree_entrees_max() -> usize {
    crate::agenda::ENTREES_MAX_POUR_TESTS
}

#[test]
fn r12_12_only_http_links_are_accepted_read_and_rendered() {
    // See: issue #12, item 12.
    let mut am = territoire();
    let heads = am.get_heads();
    for lien in ["javascript:alert(document.domain)", "data:text/html,<script>1</script>", "https://", "//evil.example"]
    {
        let creer =
            Edit::Creer { collection: Collection::Actions, id: "a2".into(), valeur: action("Visio", Some(lien)) };
        let refus = agenda::appliquer(&mut am, 3_000, "auteur", creer);
        assert_eq!(refus, Err(EditError::Validation(ValidationError::LienInvalide("lien_en_ligne"))), "{lien}");
        let exception = Edit::ModifierOccurrence {
            collection: Collection::Actions,
            id: "a1".into(),
            origine: "2026-02-11T18:30:00".into(),
            exception: serde_json::from_value(json!({"etat": "deplace_en_ligne", "lien_en_ligne": lien}))
                .expect("exception"),
        };
        assert!(agenda::appliquer(&mut am, 3_000, "auteur", exception).is_err(), "{lien}");
    }
    assert_eq!(am.get_heads(), heads, "a refused edit wrote something");
    let ok = Edit::Creer {
        collection: Collection::Actions,
        id: "a2".into(),
        valeur: action("Visio", Some("https://visio.example/salle")),
    };
    agenda::appliquer(&mut am, 3_000, "auteur", ok).expect("an https link is fine");

    // Written raw, bypassing the edit: dropped when read.
    am.transact(|tx| {
        let actions = tx.get(&ROOT, "actions")?.expect("actions").1;
        let a2 = tx.get(&actions, "a2")?.expect("a2").1;
        tx.put(&a2, "lien_en_ligne", "javascript:alert(document.domain)")?;
        let a1 = tx.get(&actions, "a1")?.expect("a1").1;
        let rythme = tx.get(&a1, "rythme")?.expect("rythme").1;
        let exceptions = tx.get(&rythme, "exceptions")?.expect("exceptions").1;
        let e = tx.put_object(&exceptions, "2026-02-11T18:30:00", ObjType::Map)?;
        tx.put(&e, "etat", "deplace_en_ligne")?;
        tx.put(&e, "lien_en_ligne", "JavaScript:alert(1)")?;
        Ok::<_, automerge::AutomergeError>(())
    })
    .expect("raw change");
    let lu = agenda::lire(&am);
    assert_eq!(lu.actions["a2"].lien_en_ligne, None);
    let exception = &lu.actions["a1"].rythme.as_ref().expect("rythme").exceptions["2026-02-11T18:30:00"];
    assert_eq!(exception.lien_en_ligne, None);
    let territoire = Territoire::new("doc", &lu, "https://essaim.example");
    for texte in [
        flux::html(&territoire, &lu, now()),
        flux::ics(&territoire, &lu, now()),
        flux::json_ld(&territoire, &lu, now()).to_string(),
    ] {
        assert!(!texte.to_lowercase().contains("javascript"), "{texte}");
    }

    // An agenda built by other code still never renders such a link.
    let mut brut = lu.clone();
    brut.actions.get_mut("a2").expect("a2").lien_en_ligne = Some("javascript:alert(1)".into());
    let html = flux::html(&territoire, &brut, now());
    assert!(!html.contains("javascript"), "{html}");
    let mut sain = lu;
    sain.actions.get_mut("a2").expect("a2").lien_en_ligne = Some("https://visio.example/salle".into());
    let html = flux::html(&territoire, &sain, now());
    assert!(html.contains("<a href=\"https://visio.example/salle\">"), "{html}");
}

const INJECTION: &str =
    "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:attaquant@evil\r\nURL:https://evil.example\r\nSUMMARY:Faux";

#[test]
fn r12_13_a_record_id_with_crlf_injects_nothing_into_the_ics() {
    // See: issue #12, item 13.
    let mut am = territoire();
    am.transact(|tx| {
        let actions = tx.get(&ROOT, "actions")?.expect("actions").1;
        let a = tx.put_object(&actions, INJECTION, ObjType::Map)?;
        for (k, v) in [("titre", "Injecté"), ("visibilite", "public"), ("publication", "publie")] {
            tx.put(&a, k, v)?;
        }
        let r = tx.put_object(&a, "rythme", ObjType::Map)?;
        tx.put(&r, "debut", "2026-02-04T18:30:00")?;
        tx.put(&r, "duree", "PT2H")?;
        Ok::<_, automerge::AutomergeError>(())
    })
    .expect("raw change");
    let lu = agenda::lire(&am);
    assert_eq!(lu.actions.keys().collect::<Vec<_>>(), ["a1"], "the invalid id is dropped");
    let territoire = Territoire::new("doc", &lu, "https://essaim.example");
    for ics in [flux::ics(&territoire, &lu, now()), flux::ics_compat(&territoire, &lu, now())] {
        assert!(!ics.contains("attaquant") && !ics.contains("Injecté"), "{ics}");
    }

    // The feed itself, given such an id by other code: no line of its own.
    let mut brut = lu.clone();
    let a1 = brut.actions["a1"].clone();
    brut.actions.insert(INJECTION.into(), a1);
    let territoire = Territoire::new("doc\r\nX-EVIL:1", &brut, "https://essaim.example\r\nX-EVIL:2");
    for ics in [flux::ics(&territoire, &brut, now()), flux::ics_compat(&territoire, &brut, now())] {
        let lignes: Vec<&str> = ics.split("\r\n").collect();
        assert!(!lignes.iter().any(|l| l.starts_with("UID:attaquant") || l.starts_with("X-EVIL")), "{ics}");
        assert!(!ics.replace("\r\n", "").contains(['\r', '\n']), "a bare CR or LF: {ics}");
        let debuts = lignes.iter().filter(|l| **l == "BEGIN:VEVENT").count();
        let fins = lignes.iter().filter(|l| **l == "END:VEVENT").count();
        assert_eq!(debuts, fins);
        let uids = lignes.iter().filter(|l| l.starts_with("UID:")).count();
        assert_eq!(debuts, uids, "one UID per VEVENT, none injected: {ics}");
    }
}
