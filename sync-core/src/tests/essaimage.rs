//! Essaimage through the repo, as the app and the CLI do it: a public
//! action of one territory taken up as a draft by another, in another time
//! zone. What belongs to the source (place, online link, carriers, needs,
//! volunteers, contacts, keywords) never reaches the copy, whatever the
//! action holds (property test).

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::agenda::{ActionPublique, Agenda, Edit, EssaimageError, Profil, VisibiliteTerritoire, essaimer};
use crate::rythme::Jour;
use crate::{Config, DocumentId, Repo, UnixMillis};

struct Territoire {
    repo: Repo,
    doc: DocumentId,
}

impl Territoire {
    fn new(graine: u8, nom: &str, fuseau: &str) -> Territoire {
        let actor = crate::automerge::ActorId::from([graine; 16]);
        let config = Config::new("essaimage".parse().expect("peer id"), actor, "session".into());
        let (mut repo, _) = Repo::start(config, None, [graine; 16]).expect("start");
        let profil = Profil {
            nom: nom.into(),
            fuseau: fuseau.into(),
            visibilite: VisibiliteTerritoire::Public,
            ..Profil::default()
        };
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[graine; 16], "auteur", profil).expect("territory");
        Territoire { repo, doc }
    }

    fn apply(&mut self, at_ms: u64, edit: Edit) -> Result<(), String> {
        self.repo.apply(UnixMillis(at_ms), &self.doc, "auteur", edit).map(|_| ()).map_err(|e| e.to_string())
    }

    fn edit(&mut self, at_ms: u64, edit: Value) {
        let edit: Edit = serde_json::from_value(edit).expect("edit JSON");
        self.apply(at_ms, edit).expect("valid edit");
    }

    fn agenda(&self) -> Agenda {
        self.repo.agenda(&self.doc).expect("loaded")
    }
}

const TETE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A repair café in Paris, with everything that is its territory's own.
fn repair_cafe(t: &mut Territoire, publication: &str) {
    t.edit(
        2_000,
        json!({ "type": "creer", "collection": "acteurs", "id": "p1",
                "valeur": { "nom": "ACTEUR-SOURCE", "categorie": "association" } }),
    );
    let contact =
        crate::agenda::ContactPrive { email: Some("contact-source@example.org".into()), ..Default::default() };
    let doc = t.doc.clone();
    t.repo
        .change_document_with(&doc, |am| {
            crate::agenda::ecrire_contact_ancien(am, "p1", &contact);
            Ok::<(), crate::ChangeError>(())
        })
        .expect("written");
    t.edit(
        2_200,
        json!({ "type": "creer", "collection": "actions", "id": "repair", "valeur": {
            "titre": "Repair café", "resume": "On répare ensemble.", "description": "Outils fournis, café offert.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["dechets_reemploi"], "publics": ["tout_public"],
            "mots_cles": ["MOT-CLE-SOURCE"], "visibilite": "public", "publication": publication,
            "lieu": { "libelle": "LIEU-SOURCE", "adresse": "1 place de la Mairie" },
            "mode_participation": "mixte", "lien_en_ligne": "https://visio.example/LIEN-SOURCE",
            "porteurs": [{ "acteur_id": "p1", "role": "pilote" }],
            "rythme": { "debut": "2026-01-03T14:00:00", "fuseau": "Europe/Paris", "duree": "PT3H",
                        "regle": { "freq": "MONTHLY", "par_jour": ["1SA"], "jusqu_au": "2026-12-31" },
                        "exclusions": ["2026-02-07T14:00:00"] } } }),
    );
    t.edit(
        2_300,
        json!({ "type": "definir_besoin", "action_id": "repair", "besoin_id": "b1",
                "besoin": { "type": "benevoles", "description": "BESOIN-SOURCE", "quantite": 2, "statut": "ouvert" } }),
    );
    t.edit(
        2_400,
        json!({ "type": "ajouter_volontaire", "action_id": "repair", "besoin_id": "b1", "volontaire_id": "v1",
                "volontaire": { "nom": "VOLONTAIRE-SOURCE", "date": "2026-01-02", "confirme": true } }),
    );
}

const SENTINELLES: [&str; 8] = [
    "ACTEUR-SOURCE",
    "contact-source@example.org",
    "MOT-CLE-SOURCE",
    "LIEU-SOURCE",
    "LIEN-SOURCE",
    "BESOIN-SOURCE",
    "VOLONTAIRE-SOURCE",
    "1 place de la Mairie",
];

#[test]
fn an_action_taken_up_is_a_draft_with_its_rhythm_adapted_and_nothing_of_its_territory() {
    let mut paris = Territoire::new(1, "Val d'Essaim", "Europe/Paris");
    repair_cafe(&mut paris, "publie");
    let mut reunion = Territoire::new(2, "Saint-Paul en transition", "Indian/Reunion");
    let source = paris.agenda();
    let tetes = vec![TETE.to_owned()];
    let doc = paris.doc.to_string();
    let publique = ActionPublique::de(&source, &doc, &tetes, "repair").expect("public");
    // What the relay serves and the app keeps holds nothing of the source's own.
    let servi = serde_json::to_string(&publique).expect("json");
    for s in SENTINELLES {
        assert!(!servi.contains(s), "{s} in the public action");
    }
    let depuis = Jour::new(2026, 3, 10).expect("day");
    let edit = essaimer(&publique, "repris-1", depuis, "Indian/Reunion").expect("taken up");
    reunion.apply(3_000, edit).expect("the copy is a valid edit");

    let copie = reunion.agenda().actions.get("repris-1").cloned().expect("the copy");
    assert_eq!(copie.titre, "Repair café");
    assert_eq!(copie.resume, "On répare ensemble.");
    assert_eq!(copie.description, "Outils fournis, café offert.");
    assert_eq!(serde_json::to_value(copie.publication).expect("json"), "brouillon");
    assert!(copie.lieu.is_none() && copie.lien_en_ligne.is_none() && copie.porteurs.is_empty());
    assert!(copie.besoins.is_empty() && copie.mots_cles.is_empty());
    let rythme = copie.rythme.as_ref().expect("rhythm");
    assert_eq!(rythme.fuseau, "Indian/Reunion");
    assert_eq!(rythme.debut.to_string(), "2026-04-04T14:00:00", "the first Saturday on or after 10 March");
    assert!(rythme.exclusions.is_empty() && rythme.regle.as_ref().is_some_and(|r| r.jusqu_au.is_none()));
    assert_eq!(rythme.confirmer_avant.map(|j| j.to_string()).as_deref(), Some("2026-06-10"));
    assert_eq!(
        rythme.phrase().split(',').next(),
        source.actions["repair"].rythme.as_ref().expect("source rhythm").phrase().split(',').next(),
        "the same French rule"
    );
    let provenance = copie.inspire_de.as_ref().expect("provenance");
    assert_eq!(
        (provenance.territoire.as_str(), provenance.territoire_nom.as_str(), provenance.action.as_str()),
        (doc.as_str(), "Val d'Essaim", "repair")
    );
    assert_eq!((provenance.tetes.clone(), provenance.licence.as_str()), (tetes, "CC BY-SA 4.0"));
    let texte = serde_json::to_string(&reunion.agenda()).expect("json");
    for s in SENTINELLES {
        assert!(!texte.contains(s), "{s} reached the copy's territory");
    }
}

#[test]
fn only_public_published_living_actions_are_taken_up() {
    let mut paris = Territoire::new(1, "Val d'Essaim", "Europe/Paris");
    repair_cafe(&mut paris, "brouillon");
    let source = paris.agenda();
    let doc = paris.doc.to_string();
    assert_eq!(ActionPublique::de(&source, &doc, &[], "repair").err(), Some(EssaimageError::NonPublique));
    assert_eq!(
        ActionPublique::de(&source, &doc, &[], "absente").err().map(|e| e.to_string()),
        Some("action inconnue\u{a0}: «\u{a0}absente\u{a0}»".to_owned())
    );
    paris.edit(
        5_000,
        json!({ "type": "modifier", "collection": "actions", "id": "repair", "champs": { "publication": "publie" } }),
    );
    let publique = ActionPublique::de(&paris.agenda(), &doc, &[], "repair").expect("public now");
    let depuis = Jour::new(2026, 3, 10).expect("day");
    assert!(matches!(essaimer(&publique, "x", depuis, "Mars/Olympus"), Err(EssaimageError::Rythme(_))));
    paris.edit(5_100, json!({ "type": "supprimer", "collection": "actions", "id": "repair" }));
    assert!(matches!(ActionPublique::de(&paris.agenda(), &doc, &[], "repair"), Err(EssaimageError::ActionInconnue(_))));
}

/// Text that may end up anywhere in a record.
fn texte() -> impl Strategy<Value = String> {
    "[A-Za-zé ]{1,20}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the source action's place, link, carriers, needs and
    /// volunteers, the edit carries none of them, and applies.
    #[test]
    fn the_copy_never_carries_the_source_territorys_own(
        lieu in texte(), adresse in texte(), besoin in texte(), volontaire in texte(), mot in texte(),
        porteurs in 0usize..3, besoins in 0usize..3, jour in 1i8..28, mois in 1i8..12,
    ) {
        let mut paris = Territoire::new(1, "Val d'Essaim", "Europe/Paris");
        paris.edit(2_000, json!({ "type": "creer", "collection": "acteurs", "id": "p1",
                                  "valeur": { "nom": "Porteur", "categorie": "association" } }));
        let marques: Vec<String> = [lieu, adresse, besoin, volontaire, mot].iter().map(|t| format!("§{t}§")).collect();
        paris.edit(2_100, json!({ "type": "creer", "collection": "actions", "id": "a", "valeur": {
            "titre": "Atelier", "visibilite": "public", "publication": "publie", "mots_cles": [marques[4]],
            "lieu": { "libelle": marques[0], "adresse": marques[1] },
            "porteurs": (0..porteurs).map(|_| json!({ "acteur_id": "p1", "role": "pilote" })).collect::<Vec<_>>(),
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                        "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "nombre": 10 } } } }));
        for b in 0..besoins {
            paris.edit(2_200 + b as u64 * 10, json!({ "type": "definir_besoin", "action_id": "a", "besoin_id": format!("b{b}"),
                "besoin": { "type": "benevoles", "description": marques[2], "quantite": 1, "statut": "ouvert" } }));
            paris.edit(2_205 + b as u64 * 10, json!({ "type": "ajouter_volontaire", "action_id": "a",
                "besoin_id": format!("b{b}"), "volontaire_id": "v1",
                "volontaire": { "nom": marques[3], "date": "2026-01-02", "confirme": false } }));
        }
        let source = paris.agenda();
        let doc = paris.doc.to_string();
        let depuis = Jour::new(2026, mois, jour).expect("day");
        let publique = ActionPublique::de(&source, &doc, &[], "a").expect("public");
        let edit = essaimer(&publique, "copie", depuis, "America/Cayenne").expect("taken up");
        let texte = serde_json::to_string(&edit).expect("json");
        for m in &marques {
            prop_assert!(!texte.contains(m.as_str()), "{m} in {texte}");
        }
        let Edit::Creer { valeur, .. } = &edit else { panic!("a creation") };
        for cle in ["lieu", "lien_en_ligne", "porteurs", "besoins", "mots_cles", "statut", "avancement"] {
            prop_assert!(valeur.get(cle).is_none(), "{cle} copied");
        }
        let mut cayenne = Territoire::new(2, "Cayenne", "America/Cayenne");
        prop_assert!(cayenne.apply(3_000, edit).is_ok());
        let copie = &cayenne.agenda().actions["copie"];
        let debut = copie.rythme.as_ref().expect("rhythm").debut;
        prop_assert!(debut.jour() >= depuis && debut.jour().jour_semaine() == crate::rythme::JourSemaine::Mercredi);
    }
}
