//! The agenda through the simulator: edits as data, merges, conflicts and
//! their resolution, validation, persistence. Scripts use the scenario
//! commands plus `who: edit {json}` on the document `territoire`.

use expect_test::{Expect, expect};

use super::sim::{RELAY, Sim};
use crate::agenda::Agenda;

const DOC: &str = "territoire";

fn run(script: &str) -> (Sim, Vec<String>) {
    let mut names: Vec<&str> = Vec::new();
    for line in script.lines().map(str::trim) {
        if let Some((who, _)) = line.split_once(':')
            && who != "relay"
            && !names.contains(&who)
        {
            names.push(who);
        }
    }
    let mut sim = Sim::new(&names);
    let doc = sim.create_territory(1, DOC);
    for client in 2..=names.len() {
        sim.open(client, &doc);
    }
    sim.run_until_quiet();
    let mut refused = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "sync" {
            sim.run_until_quiet();
            continue;
        }
        let (who, command) = line.split_once(':').expect("who: command");
        let node = sim.node(who.trim());
        let command = command.trim();
        if let Some(json) = command.strip_prefix("edit ") {
            if let Err(e) = sim.edit(node, &doc, json) {
                refused.push(format!("{who} refused: {e}"));
            }
        } else {
            match command {
                "offline" => sim.disconnect(node),
                "online" => sim.connect(node),
                "restart" => sim.restart(node),
                other => panic!("unknown command {other}"),
            }
        }
    }
    sim.run_until_quiet();
    (sim, refused)
}

/// A compact rendering of what the UI would show.
fn render(agenda: &Agenda) -> String {
    let mut out = Vec::new();
    if let Some(p) = &agenda.profil {
        out.push(format!("profil: {} ({:?}, {})", p.nom, p.type_territoire, p.fuseau));
    }
    for (id, a) in &agenda.actions {
        let lieu = a.lieu.as_ref().map(|l| l.libelle.as_str()).unwrap_or("-");
        out.push(format!(
            "action {id}: {} [{:?}] lieu={lieu} par={}",
            a.titre,
            a.statut,
            a.suivi.modifie_par.as_deref().unwrap_or("?")
        ));
        if !a.description.is_empty() {
            out.push(format!("  description: {}", a.description));
        }
        for (bid, b) in &a.besoins {
            let volontaires: Vec<String> =
                b.volontaires.values().map(|v| v.nom.clone().or(v.acteur_id.clone()).unwrap_or_default()).collect();
            out.push(format!("  besoin {bid}: {:?} {} volontaires={volontaires:?}", b.type_besoin, b.description));
        }
    }
    for (id, a) in &agenda.acteurs {
        out.push(format!("acteur {id}: {} {:?} 4F={:?}", a.nom, a.categorie, a.famille()));
    }
    for (id, c) in &agenda.contacts_prives {
        out.push(format!("contact {id}: {:?}", c.email));
    }
    if let (Some(a), Some(b)) = (&agenda.feuille_de_route.horizon_debut, &agenda.feuille_de_route.horizon_fin) {
        out.push(format!("feuille de route {a}–{b}"));
    }
    for (id, p) in &agenda.feuille_de_route.phases {
        out.push(format!("phase {id}: {} {:?}..{:?}", p.titre, p.debut, p.fin));
    }
    for (id, d) in &agenda.decisions {
        out.push(format!("decision {id}: {} {:?} issue={:?}", d.titre, d.statut, d.issue.as_ref().map(|i| &i.enonce)));
    }
    for c in &agenda.conflits {
        let values: Vec<String> =
            c.valeurs.iter().map(|v| format!("{} par {}", v.valeur, v.auteur.as_deref().unwrap_or("?"))).collect();
        out.push(format!("conflit {}: {}", c.chemin, values.join(" | ")));
    }
    for e in &agenda.erreurs {
        out.push(format!("erreur: {e}"));
    }
    out.join("\n")
}

#[track_caller]
fn check(script: &str, expect: Expect) {
    let (sim, refused) = run(script);
    let doc = Sim::doc_id(DOC);
    let views: Vec<String> =
        sim.nodes.iter().map(|n| render(&n.repo.agenda(&doc).expect("loaded everywhere"))).collect();
    for (node, view) in sim.nodes.iter().zip(&views) {
        assert_eq!(view, &views[RELAY], "{} sees another agenda", node.name);
    }
    let mut shown = views[RELAY].clone();
    for r in refused {
        shown.push_str(&format!("\n{r}"));
    }
    expect.assert_eq(&shown);
}

#[test]
fn organisers_create_records_offline_and_everyone_gets_them() {
    check(
        r#"
        alice: offline
        alice: edit {"type":"modifier_profil","champs":{"nom":"Saint-Jean-du-Gard","type":"commune","codes":{"insee":["30259"]}}}
        alice: edit {"type":"creer","collection":"actions","id":"repair","valeur":{"titre":"Repair café","nature":"rendez_vous_recurrent","lieu":{"libelle":"Salle des fêtes"}}}
        bob: edit {"type":"creer","collection":"acteurs","id":"maire","valeur":{"nom":"Mme la maire","categorie":"elu"}}
        bob: edit {"type":"modifier_horizon","horizon_debut":"2026","horizon_fin":"2030"}
        bob: edit {"type":"creer","collection":"phases","id":"p1","valeur":{"titre":"Diagnostic","debut":"2026-01-01","fin":"2026-06-30"}}
        bob: edit {"type":"creer","collection":"decisions","id":"d1","valeur":{"titre":"Jardin partagé","processus":"consentement","statut":"actee","issue":{"enonce":"On ouvre en mars"}}}
        sync
        alice: online
        "#,
        expect![[r#"
            profil: Saint-Jean-du-Gard (Commune, Europe/Paris)
            action repair: Repair café [AVenir] lieu=Salle des fêtes par=alice
            acteur maire: Mme la maire Elu 4F=Some(Elu)
            feuille de route 2026–2030
            phase p1: Diagnostic Some("2026-01-01")..Some("2026-06-30")
            decision d1: Jardin partagé Actee issue=Some("On ouvre en mars")"#]],
    );
}

#[test]
fn concurrent_edits_of_different_fields_merge() {
    check(
        r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Marché","description":"Marché de producteurs."}}
        sync
        alice: offline
        bob: offline
        alice: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"statut":"en_cours"}}
        bob: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"lieu":{"libelle":"Halle"}}}
        alice: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"description":"Grand marché de producteurs."}}
        bob: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"description":"Marché de producteurs locaux."}}
        alice: online
        bob: online
        "#,
        expect![[r#"
            profil: Territoire d'essai (Commune, Europe/Paris)
            action a1: Marché [EnCours] lieu=Halle par=bob
              description: Grand marché de producteurs locaux."#]],
    );
}

#[test]
fn concurrent_edits_of_one_field_are_a_visible_conflict_until_resolved() {
    let script = r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Marché","lieu":{"libelle":"Place"}}}
        sync
        alice: offline
        bob: offline
        alice: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"titre":"Marché d'hiver"}}
        bob: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"titre":"Marché de Noël"}}
        alice: online
        bob: online
    "#;
    check(
        script,
        expect![[r#"
        profil: Territoire d'essai (Commune, Europe/Paris)
        action a1: Marché de Noël [AVenir] lieu=Place par=bob
        conflit actions/a1/titre: "Marché d'hiver" par alice | "Marché de Noël" par bob"#]],
    );
    let resolved = format!(
        "{script}\nsync\nbob: edit {}",
        r#"{"type":"modifier","collection":"actions","id":"a1","champs":{"titre":"Marché de Noël"}}"#
    );
    check(
        &resolved,
        expect![[r#"
        profil: Territoire d'essai (Commune, Europe/Paris)
        action a1: Marché de Noël [AVenir] lieu=Place par=bob"#]],
    );
}

#[test]
fn invalid_edits_change_nothing() {
    let (mut sim, _) = run(r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Marché"}}
    "#);
    let doc = Sim::doc_id(DOC);
    let heads = sim.heads(1, &doc);
    let refused: Vec<String> = [
        r#"{"type":"creer","collection":"actions","id":"a2","valeur":{"titre":"  "}}"#,
        r#"{"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Doublon"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a b","valeur":{"titre":"Espace"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","inconnu":1}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","statut":"fini"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","debut":"2026-03-01","fin_prevue":"2026-02-01"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","debut":"2026-02-30"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","mode_participation":"en_ligne"}}"#,
        r#"{"type":"creer","collection":"actions","id":"a3","valeur":{"titre":"X","avancement":120}}"#,
        r#"{"type":"modifier","collection":"actions","id":"nope","champs":{"titre":"X"}}"#,
        r#"{"type":"modifier","collection":"actions","id":"a1","champs":{"modifie_par":"mallory"}}"#,
        r#"{"type":"modifier","collection":"actions","id":"a1","champs":{"titre":""}}"#,
        r#"{"type":"supprimer","collection":"acteurs","id":"a1"}"#,
        r#"{"type":"modifier_profil","champs":{"nom":"X","fuseau":"Mars/Olympus"}}"#,
        r#"{"type":"modifier_profil","champs":{"nom":"X","engagements_pacte":[{"mesure":"M33","niveau":1}]}}"#,
        r#"{"type":"modifier_profil","champs":{"nom":"X","codes":{"insee":["44109","20004"]}}}"#,
        r#"{"type":"creer","collection":"actions","id":"a4","valeur":{"titre":"X","rythme":{"debut":"2026-01-07T18:00:00","fuseau":"Europe/Paris","duree":"PT2H","regle":{"freq":"WEEKLY","par_jour":["MO"],"nombre":3,"jusqu_au":"2026-03-01"}}}}"#,
    ]
    .iter()
    .map(|json| sim.edit(1, &doc, json).map_or_else(|e| e.to_string(), |()| "ACCEPTED".into()))
    .collect();
    assert_eq!(sim.heads(1, &doc), heads, "a refused edit changed the document");
    expect![[r#"
        `titre` ne peut pas être vide
        identifiant déjà utilisé : a1
        identifiant invalide : "a b"
        champ inconnu ou réservé : inconnu
        valeur invalide : unknown variant `fini`, expected one of `a_venir`, `en_cours`, `en_retard`, `en_pause`, `bloquee`, `realisee`, `abandonnee`
        `fin_prevue` est avant `debut`
        `debut` n'est pas une date AAAA-MM-JJ : 2026-02-30
        `lien_en_ligne` est obligatoire ici
        `avancement` doit être entre 0 et 100
        identifiant inconnu : nope
        champ inconnu ou réservé : modifie_par
        `titre` ne peut pas être vide
        identifiant inconnu : a1
        fuseau horaire inconnu : « Mars/Olympus »
        mesure du Pacte inconnue : M33
        code INSEE invalide : « 20004 » (5 caractères, comme 44109, 2A004 ou 97411)
        valeur invalide : COUNT et UNTIL ne vont pas ensemble"#]].assert_eq(&refused.join("\n"));
}

#[test]
fn insee_codes_have_their_shape() {
    use crate::agenda::{code_insee_valide, verifier_codes_insee};
    for good in ["44109", "01001", "2A004", "2B033", "97411", "98735", "75056"] {
        assert!(code_insee_valide(good), "{good}");
    }
    for bad in ["", "4410", "441090", "2C004", "2a004", "00123", "20123", "96123", "99123", "4410x", "٤٤١٠٩"] {
        assert!(!code_insee_valide(bad), "{bad}");
    }
    assert!(verifier_codes_insee(&vec!["44109".to_owned(); 50]).is_ok());
    let trop = verifier_codes_insee(&vec!["44109".to_owned(); 51]).map_err(|e| e.to_string());
    assert_eq!(trop, Err("50 codes INSEE au plus".to_owned()));
}

#[test]
fn a_deleted_record_stays_deleted_despite_a_concurrent_edit() {
    check(
        r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Marché"}}
        sync
        alice: offline
        alice: edit {"type":"supprimer","collection":"actions","id":"a1"}
        bob: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"statut":"en_cours"}}
        alice: online
        "#,
        expect!["profil: Territoire d'essai (Commune, Europe/Paris)"],
    );
}

#[test]
fn volunteers_signing_up_at_once_are_all_kept() {
    check(
        r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Chantier participatif"}}
        alice: edit {"type":"definir_besoin","action_id":"a1","besoin_id":"b1","besoin":{"type":"benevoles","description":"Bras pour le chantier","quantite":6}}
        sync
        bob: offline
        carol: offline
        bob: edit {"type":"ajouter_volontaire","action_id":"a1","besoin_id":"b1","volontaire_id":"v-bob","volontaire":{"nom":"Bob"}}
        carol: edit {"type":"ajouter_volontaire","action_id":"a1","besoin_id":"b1","volontaire_id":"v-carol","volontaire":{"nom":"Carol"}}
        bob: online
        carol: online
        "#,
        expect![[r#"
            profil: Territoire d'essai (Commune, Europe/Paris)
            action a1: Chantier participatif [AVenir] lieu=- par=alice
              besoin b1: Benevoles Bras pour le chantier volontaires=["Bob", "Carol"]"#]],
    );
}

#[test]
fn the_agenda_survives_restarts_and_history_tells_who_did_what() {
    let (mut sim, _) = run(r#"
        alice: edit {"type":"creer","collection":"actions","id":"a1","valeur":{"titre":"Marché","description":"Le samedi."}}
        sync
        bob: edit {"type":"modifier","collection":"actions","id":"a1","champs":{"statut":"en_cours"}}
    "#);
    let doc = Sim::doc_id(DOC);
    let before: Vec<Agenda> = sim.nodes.iter().map(|n| n.repo.agenda(&doc).expect("loaded")).collect();
    for node in 0..sim.nodes.len() {
        sim.restart(node);
    }
    sim.run_until_quiet();
    let after: Vec<Agenda> = sim.nodes.iter().map(|n| n.repo.agenda(&doc).expect("loaded")).collect();
    assert_eq!(after, before);
    let history = crate::agenda::historique(sim.nodes[RELAY].repo.document(&doc).expect("loaded"));
    let lines: Vec<String> =
        history.iter().map(|m| format!("{} {}", m.auteur.as_deref().unwrap_or("?"), m.quoi)).collect();
    expect![[r#"
        alice modifier profil
        alice creer actions a1
        bob modifier actions a1 statut"#]]
    .assert_eq(&lines.join("\n"));
}

/// The agenda's rendez-vous between September 2025 and July 2026, as the
/// UI lists them, plus each rhythm's sentence.
fn render_rendez_vous(agenda: &Agenda) -> String {
    let du: crate::rythme::Timestamp = "2025-09-01T00:00:00Z".parse().expect("instant");
    let au: crate::rythme::Timestamp = "2026-07-01T00:00:00Z".parse().expect("instant");
    let mut out: Vec<String> = agenda
        .rendez_vous(du, au)
        .iter()
        .map(|r| {
            let o = &r.occurrence;
            let extra = [o.lieu.as_deref(), o.lien_en_ligne.as_deref(), o.motif.as_deref()].into_iter().flatten();
            format!("{} {:?} {} {}", o.debut, o.etat, r.id, extra.collect::<Vec<_>>().join(" ")).trim_end().to_owned()
        })
        .collect();
    for (id, a) in &agenda.actions {
        if let Some(r) = &a.rythme {
            out.push(format!("{id}: {}", r.phrase().replace(crate::rythme::mots::ESPACE, "⍽")));
        }
    }
    for c in &agenda.conflits {
        out.push(format!("conflit {}", c.chemin));
    }
    out.join("\n")
}

const REPAIR: &str = r#"alice: edit {"type":"creer","collection":"actions","id":"repair","valeur":{"titre":"Repair café","nature":"rendez_vous_recurrent","rythme":{"debut":"2025-09-06T18:30:00","fuseau":"Europe/Paris","duree":"PT2H","regle":{"freq":"MONTHLY","par_jour":["1SA"],"jusqu_au":"2026-06-27"}}}}"#;

#[track_caller]
fn check_rendez_vous(script: &str, expect: Expect) {
    let (sim, refused) = run(script);
    let doc = Sim::doc_id(DOC);
    let views: Vec<String> =
        sim.nodes.iter().map(|n| render_rendez_vous(&n.repo.agenda(&doc).expect("loaded"))).collect();
    for (node, view) in sim.nodes.iter().zip(&views) {
        assert_eq!(view, &views[RELAY], "{} sees other rendez-vous", node.name);
    }
    let mut shown = views[RELAY].clone();
    for r in refused {
        shown.push_str(&format!("\n{r}"));
    }
    expect.assert_eq(&shown);
}

#[test]
fn occurrences_are_moved_cancelled_and_paused_offline_and_merge() {
    let script = format!(
        "{REPAIR}\n{}",
        r#"
        sync
        alice: offline
        bob: offline
        alice: edit {"type":"modifier_occurrence","collection":"actions","id":"repair","origine":"2025-11-01T18:30:00","exception":{"etat":"annule","motif":"Toussaint"}}
        bob: edit {"type":"modifier_occurrence","collection":"actions","id":"repair","origine":"2025-12-06T18:30:00","exception":{"etat":"deplace_en_ligne","lien_en_ligne":"https://visio.example.org/repair"}}
        bob: edit {"type":"modifier_occurrence","collection":"actions","id":"repair","origine":"2026-03-07T18:30:00","exception":{"etat":"reprogramme","debut":"2026-03-14T10:00:00","lieu":"Halle"}}
        alice: edit {"type":"pauser","collection":"actions","id":"repair","pause":{"du":"2026-01-01","au":"2026-01-31","motif":"vœux"}}
        bob: edit {"type":"pauser","collection":"actions","id":"repair","pause":{"du":"2026-05-01","au":"2026-05-31"}}
        bob: edit {"type":"modifier_occurrence","collection":"actions","id":"repair","origine":"2025-11-08T18:30:00","exception":{"etat":"annule"}}
        alice: online
        bob: online
        "#
    );
    check_rendez_vous(
        &script,
        expect![[r#"
            2025-09-06T18:30:00 Programme repair
            2025-10-04T18:30:00 Programme repair
            2025-11-01T18:30:00 Annule repair Toussaint
            2025-12-06T18:30:00 DeplaceEnLigne repair https://visio.example.org/repair
            2026-02-07T18:30:00 Programme repair
            2026-03-14T10:00:00 Reprogramme repair Halle
            2026-04-04T18:30:00 Programme repair
            2026-06-06T18:30:00 Programme repair
            repair: Le 1er samedi du mois, de 18⍽h⍽30 à 20⍽h⍽30, jusqu'au 27 juin 2026 (pauses du 1er janvier au 31 janvier et du 1er mai au 31 mai)
            bob refused: rythme invalide : 2025-11-08T18:30:00 n'est pas une occurrence de ce rythme"#]],
    );
}

#[test]
fn a_series_is_split_for_this_and_following() {
    let script = format!(
        "{REPAIR}\n{}",
        r#"
        sync
        alice: edit {"type":"scinder_serie","action_id":"repair","a_partir_de":"2026-03-07T18:30:00","nouvel_id":"repair-2","champs":{"lieu":{"libelle":"Tiers-lieu"}}}
        "#
    );
    check_rendez_vous(
        &script,
        expect![[r#"
            2025-09-06T18:30:00 Programme repair
            2025-10-04T18:30:00 Programme repair
            2025-11-01T18:30:00 Programme repair
            2025-12-06T18:30:00 Programme repair
            2026-01-03T18:30:00 Programme repair
            2026-02-07T18:30:00 Programme repair
            2026-03-07T18:30:00 Programme repair-2
            2026-04-04T18:30:00 Programme repair-2
            2026-05-02T18:30:00 Programme repair-2
            2026-06-06T18:30:00 Programme repair-2
            repair: Le 1er samedi du mois, de 18⍽h⍽30 à 20⍽h⍽30, jusqu'au 7 février 2026
            repair-2: Le 1er samedi du mois, de 18⍽h⍽30 à 20⍽h⍽30, jusqu'au 27 juin 2026"#]],
    );
}

#[test]
fn an_action_without_a_nature_takes_the_one_its_rhythm_implies() {
    let (sim, refused) = run(r#"
        alice: edit {"type":"creer","collection":"actions","id":"chantier","valeur":{"titre":"Jardin partagé"}}
        alice: edit {"type":"creer","collection":"actions","id":"fete","valeur":{"titre":"Fête","rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H"}}}
        alice: edit {"type":"creer","collection":"actions","id":"permanence","valeur":{"titre":"Permanence","nature":"permanence","rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H"}}}
        alice: edit {"type":"creer","collection":"actions","id":"repair","valeur":{"titre":"Repair café","rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H","regle":{"freq":"MONTHLY","par_jour":["1SA"],"jusqu_au":"2026-06-27"}}}}
        alice: edit {"type":"modifier","collection":"actions","id":"fete","champs":{"rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H","regle":{"freq":"WEEKLY","nombre":3}}}}
        alice: edit {"type":"modifier","collection":"actions","id":"permanence","champs":{"rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H","regle":{"freq":"WEEKLY","nombre":3}}}}
        alice: edit {"type":"modifier","collection":"actions","id":"repair","champs":{"rythme":{"debut":"2025-09-06T18:30:00","duree":"PT2H"}}}
    "#);
    assert!(refused.is_empty(), "{refused:?}");
    let agenda = sim.nodes[RELAY].repo.agenda(&Sim::doc_id(DOC)).expect("loaded");
    let natures: Vec<String> = agenda.actions.iter().map(|(id, a)| format!("{id}: {:?}", a.nature)).collect();
    expect![[r#"
        chantier: ChantierProjet
        fete: RendezVousRecurrent
        permanence: Permanence
        repair: RendezVousPonctuel"#]]
    .assert_eq(&natures.join("\n"));
}
