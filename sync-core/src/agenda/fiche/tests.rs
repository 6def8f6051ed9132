use automerge::{ActorId, Automerge};
use serde_json::json;

use super::*;
use crate::agenda::un_changement;

fn territoire(n: u8) -> DocumentId {
    DocumentId::from_bytes(&[n; 16]).expect("id")
}

fn nouvelle(titre: &str) -> Automerge {
    let mut am = Automerge::new().with_actor(ActorId::from(&[1u8; 16][..]));
    let contenu = ContenuFiche { titre: titre.into(), resume: "Un atelier mensuel.".into(), ..Default::default() };
    un_changement(&mut am, 1_000, "creer".into(), |tx| {
        initialiser_fiche(tx, 1_000, &territoire(1), "alice", Some("Alice"), &contenu)
    })
    .expect("created");
    am
}

fn editer(am: &mut Automerge, now: i64, auteur: &str, nom: Option<&str>, edit: EditFiche) -> Result<(), EditError> {
    un_changement(am, now, "edit".into(), |tx| appliquer_fiche(tx, now, auteur, nom, edit))
}

fn modifier(champs: serde_json::Value) -> EditFiche {
    let serde_json::Value::Object(champs) = champs else { panic!("an object") };
    EditFiche::Modifier { champs }
}

#[test]
fn two_people_writing_offline_in_one_section_and_in_others_merge_without_conflict() {
    let mut a = nouvelle("Repair café");
    editer(&mut a, 2_000, "alice", Some("Alice"), modifier(json!({ "contexte": "Premier paragraphe.\n" })))
        .expect("first text");
    let mut b = a.fork().with_actor(ActorId::from(&[2u8; 16][..]));
    // Offline on both sides: the same section, and one each.
    editer(&mut a, 3_000, "alice", Some("Alice"), modifier(json!({ "contexte": "Premier paragraphe.\nD'Alice.\n" })))
        .expect("a");
    editer(&mut b, 3_000, "bruno", Some("Bruno"), modifier(json!({ "contexte": "Premier paragraphe.\nDe Bruno.\n" })))
        .expect("b");
    editer(&mut a, 3_100, "alice", Some("Alice"), modifier(json!({ "resultats": "40 objets réparés." }))).expect("a");
    editer(&mut b, 3_100, "bruno", Some("Bruno"), modifier(json!({ "conseils": "Commencer petit." }))).expect("b");
    a.merge(&mut b).expect("merged");
    let fiche = lire_fiche(&a);
    assert!(fiche.contenu.contexte.starts_with("Premier paragraphe.\n"));
    assert!(fiche.contenu.contexte.contains("D'Alice.\n"), "{:?}", fiche.contenu.contexte);
    assert!(fiche.contenu.contexte.contains("De Bruno.\n"), "{:?}", fiche.contenu.contexte);
    assert_eq!(fiche.contenu.resultats, "40 objets réparés.");
    assert_eq!(fiche.contenu.conseils, "Commencer petit.");
    assert!(fiche.conflits.is_empty(), "{:?}", fiche.conflits);
    assert_eq!(fiche.contributeurs, ["Alice", "Bruno"]);
    // A short field written on both sides is a conflict, shown.
    let mut b = a.fork().with_actor(ActorId::from(&[2u8; 16][..]));
    editer(&mut a, 4_000, "alice", None, modifier(json!({ "titre": "Repair café du bourg" }))).expect("a");
    editer(&mut b, 4_000, "bruno", None, modifier(json!({ "titre": "Le Repair café" }))).expect("b");
    a.merge(&mut b).expect("merged");
    let conflits = lire_fiche(&a).conflits;
    assert_eq!(conflits.len(), 1);
    assert_eq!(conflits[0].chemin, "fiche/titre");
}

#[test]
fn invalid_content_is_refused_and_writes_nothing() {
    let mut am = nouvelle("Repair café");
    let heads = am.get_heads();
    for champs in [
        json!({ "titre": " " }),
        json!({ "resume": "x".repeat(RESUME_MAX + 1) }),
        json!({ "conseils": "x".repeat(SECTION_MAX + 1) }),
        json!({ "mesures_pacte": ["M33"] }),
        json!({ "mesures_pacte": ["M+1"] }),
        json!({ "actions": [{ "territoire": "pas-un-id", "action": "a1" }] }),
        json!({ "licence": "domaine public" }),
        json!({ "inconnu": 1 }),
        json!({ "contributeurs": {} }),
    ] {
        assert!(editer(&mut am, 2_000, "alice", None, modifier(champs.clone())).is_err(), "{champs}");
    }
    assert_eq!(am.get_heads(), heads);
    let ok = json!({ "licence": "CC BY 4.0", "mesures_pacte": ["M05"], "portes_entree": ["dechets_reemploi"],
        "actions": [{ "territoire": territoire(1).to_string(), "action": "repair" }] });
    editer(&mut am, 2_000, "alice", None, modifier(ok)).expect("valid");
    let contenu = lire_fiche(&am).contenu;
    assert_eq!(contenu.licence, LicenceFiche::CcBy);
    assert_eq!(contenu.mesures_pacte, ["M05"]);
}

#[test]
fn review_publication_and_withdrawal_follow_the_workflow() {
    let mut am = nouvelle("Repair café");
    assert_eq!(lire_fiche(&am).statut, StatutFiche::Brouillon);
    // Not reviewed: not published.
    let publier = editer(&mut am, 2_000, "bruno", Some("Bruno"), EditFiche::Publier);
    assert_eq!(publier, Err(EditError::Fiche(FicheError::PasRelue)));
    // The last author does not review their own text, by actor or name.
    let relire = editer(&mut am, 2_000, "alice", Some("Alice"), EditFiche::Relire);
    assert_eq!(relire, Err(EditError::Fiche(FicheError::RelectureParLAuteur)));
    let relire = editer(&mut am, 2_000, "autre-appareil", Some("Alice"), EditFiche::Relire);
    assert_eq!(relire, Err(EditError::Fiche(FicheError::RelectureParLAuteur)));
    editer(&mut am, 2_000, "bruno", Some("Bruno"), EditFiche::Relire).expect("reviewed");
    assert_eq!(lire_fiche(&am).statut, StatutFiche::Relue);
    // An edit withdraws the review.
    editer(&mut am, 2_500, "alice", Some("Alice"), modifier(json!({ "contexte": "Avant." }))).expect("edited");
    assert_eq!(lire_fiche(&am).statut, StatutFiche::Brouillon);
    editer(&mut am, 2_600, "bruno", Some("Bruno"), EditFiche::Relire).expect("reviewed");
    editer(&mut am, 3_000, "bruno", Some("Bruno"), EditFiche::Publier).expect("published");
    let fiche = lire_fiche(&am);
    assert_eq!(fiche.statut, StatutFiche::PublieeTerritoire);
    assert_eq!(fiche.versions.len(), 1);
    assert!(fiche.relecture.is_none());

    // Writing goes on: the publication does not move.
    editer(&mut am, 4_000, "alice", Some("Alice"), modifier(json!({ "contexte": "Avant. Et après." })))
        .expect("edited");
    let publiee = fiche_publiee(&am, None).expect("readable").expect("published");
    assert_eq!(publiee.contenu.contexte, "Avant.");
    assert_eq!(publiee.contributeurs, ["Alice"]);
    let diff = differences(&am);
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].section, "contexte");
    assert_eq!(
        diff[0].morceaux,
        [
            Morceau { genre: GenreMorceau::Egal, texte: "Avant.".into() },
            Morceau { genre: GenreMorceau::Ajoute, texte: " Et après.".into() },
        ]
    );
    // Published again: the new text, both versions listed, each readable.
    editer(&mut am, 5_000, "bruno", Some("Bruno"), EditFiche::Relire).expect("reviewed");
    editer(&mut am, 5_100, "bruno", Some("Bruno"), EditFiche::Publier).expect("published");
    let publiee = fiche_publiee(&am, None).expect("readable").expect("published");
    assert_eq!(publiee.contenu.contexte, "Avant. Et après.");
    assert_eq!(publiee.versions.len(), 2);
    let premiere = fiche_publiee(&am, Some(&publiee.versions[0].id)).expect("readable").expect("published");
    assert_eq!(premiere.contenu.contexte, "Avant.");
    assert_eq!(fiche_publiee(&am, Some("inconnue")), Err(FicheError::VersionInconnue));
    assert!(differences(&am).is_empty());

    // Withdrawn, with a reason; the record stays.
    let sans_motif = editer(&mut am, 6_000, "bruno", None, EditFiche::Retirer { motif: " ".into() });
    assert_eq!(sans_motif, Err(EditError::Fiche(FicheError::Motif)));
    editer(&mut am, 6_000, "bruno", Some("Bruno"), EditFiche::Retirer { motif: "Données à corriger".into() })
        .expect("withdrawn");
    let publiee = fiche_publiee(&am, None).expect("readable").expect("published");
    assert_eq!(publiee.statut, StatutFiche::Retiree);
    assert_eq!(publiee.retrait.map(|r| r.motif).as_deref(), Some("Données à corriger"));
    let encore = editer(&mut am, 6_100, "bruno", None, EditFiche::Retirer { motif: "encore".into() });
    assert_eq!(encore, Err(EditError::Fiche(FicheError::PasPubliee)));
}

#[test]
fn concurrent_publications_both_stay() {
    let mut a = nouvelle("Repair café");
    editer(&mut a, 2_000, "bruno", Some("Bruno"), EditFiche::Relire).expect("reviewed");
    let mut b = a.fork().with_actor(ActorId::from(&[2u8; 16][..]));
    editer(&mut a, 3_000, "bruno", Some("Bruno"), EditFiche::Publier).expect("a");
    editer(&mut b, 3_000, "claire", Some("Claire"), modifier(json!({ "resume": "Autre." }))).expect("b");
    editer(&mut b, 3_100, "bruno", Some("Bruno"), EditFiche::Relire).expect("b reviewed");
    editer(&mut b, 3_200, "bruno", Some("Bruno"), EditFiche::Publier).expect("b");
    a.merge(&mut b).expect("merged");
    assert_eq!(lire_fiche(&a).versions.len(), 2);
}

#[test]
fn only_a_member_proposes_another_territory() {
    let mut am = nouvelle("Repair café");
    assert_eq!(territoires_de_fiche(&am), [territoire(1)]);
    let mut attendus = [territoire(1), territoire(2)];
    attendus.sort();
    let etranger = EditFiche::Proposer { depuis: territoire(3).to_string(), territoire: territoire(2).to_string() };
    assert_eq!(editer(&mut am, 2_000, "carole", None, etranger), Err(EditError::Fiche(FicheError::PasMembre)));
    let propose = EditFiche::Proposer { depuis: territoire(1).to_string(), territoire: territoire(2).to_string() };
    editer(&mut am, 2_000, "alice", None, propose.clone()).expect("proposed");
    assert_eq!(editer(&mut am, 2_100, "alice", None, propose), Err(EditError::Fiche(FicheError::DejaProposee)));
    let mut membres = territoires_de_fiche(&am);
    membres.sort();
    assert_eq!(membres, attendus);
    let fiche = lire_fiche(&am);
    assert_eq!(fiche.territoires[&territoire(2).to_string()].propose_par, Some(territoire(1).to_string()));
    let invalide = EditFiche::Proposer { depuis: territoire(1).to_string(), territoire: "x".into() };
    assert_eq!(editer(&mut am, 2_200, "alice", None, invalide), Err(EditError::Fiche(FicheError::TerritoireInvalide)));
}

#[test]
fn the_word_difference_is_exact_and_bounded() {
    let d = difference_de_mots("Le repair café ouvre le samedi.", "Le repair café ouvre le dimanche matin.");
    let texte = |g: GenreMorceau| d.iter().filter(|m| m.genre == g).map(|m| m.texte.clone()).collect::<String>();
    assert_eq!(texte(GenreMorceau::Retire), "samedi.");
    assert_eq!(texte(GenreMorceau::Ajoute), "dimanche matin.");
    // The pieces rebuild both texts.
    let avant: String = d.iter().filter(|m| m.genre != GenreMorceau::Ajoute).map(|m| m.texte.as_str()).collect();
    let apres: String = d.iter().filter(|m| m.genre != GenreMorceau::Retire).map(|m| m.texte.as_str()).collect();
    assert_eq!(avant, "Le repair café ouvre le samedi.");
    assert_eq!(apres, "Le repair café ouvre le dimanche matin.");
    assert!(difference_de_mots("même", "même").iter().all(|m| m.genre == GenreMorceau::Egal));
    // Two unrelated long texts: beyond the table's bound, removed then added.
    let a = (0..2_000).map(|i| format!("a{i} ")).collect::<String>();
    let b = (0..2_000).map(|i| format!("b{i} ")).collect::<String>();
    let d = difference_de_mots(&a, &b);
    let genres: Vec<GenreMorceau> = d.iter().map(|m| m.genre).collect();
    assert_eq!(genres, [GenreMorceau::Retire, GenreMorceau::Ajoute, GenreMorceau::Egal]);
}
