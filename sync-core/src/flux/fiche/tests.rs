use super::*;
use crate::agenda::{ActionLiee, ContenuFiche, LicenceFiche, RetraitFiche, VersionFiche};

const T: &str = "2ePvp6VkbTZ9zGkfq4tiZBnVjf3Y";
const LE: i64 = 1_796_644_800_000; // 7 décembre 2026, 12 h UTC

fn version(id: &str, le: i64) -> VersionFiche {
    VersionFiche { id: id.into(), tetes: vec!["ab".repeat(32)], le, par: "Zoé".into() }
}

fn publiee() -> FichePubliee {
    FichePubliee {
        contenu: ContenuFiche {
            titre: "Un <repair> café".into(),
            resume: "Réparer & partager.".into(),
            contexte: "Avant\nil n'y avait rien.".into(),
            ce_qui_a_ete_fait: "# pas un titre\n---\n\\ déjà une barre\n  ## indenté\n===\nfin\n".into(),
            resultats: String::new(),
            difficultes: "Le local.".into(),
            conseils: "Commencer petit.".into(),
            portes_entree: vec![Theme::EconomieLocale],
            mesures_pacte: vec!["M05".into()],
            actions: vec![ActionLiee { territoire: T.into(), action: "repair".into() }],
            acteurs: vec!["Mairie".into()],
            licence: LicenceFiche::CcBySa,
        },
        contributeurs: vec!["Ana".into(), "Zoé".into()],
        version: version("v2", LE),
        versions: vec![version("v1", LE - 86_400_000 * 30), version("v2", LE)],
        statut: StatutFiche::PublieeTerritoire,
        retrait: None,
        territoires: vec![T.into()],
    }
}

fn affichee(p: &FichePubliee) -> FicheAffichee<'_> {
    FicheAffichee {
        id: "fiche1",
        territoire: T,
        nom_territoire: "Val d'Essaim",
        fuseau: "Europe/Paris",
        base_url: "https://essaim.example",
        publiee: p,
        nationale: false,
        agenda: None,
    }
}

/// The front matter's `key: value` lines and the sections' texts, read
/// back as a consumer would.
fn relire(md: &str) -> (serde_json::Map<String, Value>, Vec<(String, String)>) {
    let reste = md.strip_prefix("---\n").expect("front matter");
    let (entete, corps) = reste.split_once("\n---\n").expect("end of front matter");
    let mut champs = serde_json::Map::new();
    for ligne in entete.lines() {
        let (cle, valeur) = ligne.split_once(": ").expect("key: value");
        champs.insert(cle.into(), serde_json::from_str(valeur).expect("a JSON value"));
    }
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for ligne in corps.split('\n') {
        match ligne.strip_prefix("## ") {
            Some(titre) => sections.push((titre.into(), Vec::new())),
            None => {
                if let Some((_, lignes)) = sections.last_mut() {
                    lignes.push(ligne_lue(ligne));
                }
            }
        }
    }
    let sections = sections
        .into_iter()
        .map(|(titre, mut lignes)| {
            // A blank line after the heading, one before the next.
            lignes.remove(0);
            lignes.pop();
            (titre, lignes.join("\n"))
        })
        .collect();
    (champs, sections)
}

#[test]
fn the_page_shows_the_published_content_in_french_escaped_without_script() {
    let p = publiee();
    let page = fiche_html(&affichee(&p));
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"));
    assert!(page.contains("<h1>Un &lt;repair&gt; café</h1>") && !page.contains("<repair>"));
    assert!(page.contains("Val d&#39;Essaim"));
    assert!(page.contains("<p>Avant</p>\n<p>il n&#39;y avait rien.</p>"), "lines are paragraphs");
    let ordre: Vec<usize> =
        ["Contexte", "Ce qui a été fait", "Difficultés", "Conseils"].iter().map(|t| page.find(t).expect(t)).collect();
    assert!(ordre.windows(2).all(|w| w[0] < w[1]), "SECTIONS order");
    assert!(!page.contains("Résultats"), "an empty section is left out");
    assert!(page.contains("Économie locale") && page.contains("Mesure 5") && page.contains("Mairie"));
    assert!(page.contains(&format!("href=\"https://essaim.example/t/{T}/actions/repair/\"")));
    assert!(page.contains("href=\"https://creativecommons.org/licenses/by-sa/4.0/deed.fr\">CC BY-SA 4.0</a>"));
    assert!(page.contains("Écrite par Ana, Zoé."));
    assert!(page.contains("<time datetime=\"2026-12-07\">7 décembre 2026</time>"));
    assert!(page.contains("?version=v1\">7 novembre 2026 (par Zoé)</a>"), "{page}");
    assert!(!page.contains("?version=v2\""), "the version shown is not a link");
    assert!(!page.contains("Publiée nationalement"));
    let nationale = FicheAffichee { nationale: true, ..affichee(&p) };
    assert!(fiche_html(&nationale).contains("Publiée nationalement"));
}

#[test]
fn the_markdown_reads_back_front_matter_and_sections_exactly() {
    let p = publiee();
    let md = fiche_markdown(&affichee(&p));
    let (champs, sections) = relire(&md);
    assert_eq!(champs["titre"], "Un <repair> café");
    assert_eq!(champs["resume"], "Réparer & partager.");
    assert_eq!(champs["licence"], "CC BY-SA 4.0");
    assert_eq!(champs["licence_url"], "https://creativecommons.org/licenses/by-sa/4.0/deed.fr");
    assert_eq!(champs["auteurs"], json!(["Ana", "Zoé"]));
    assert_eq!(champs["version"], "2026-12-07");
    assert_eq!(champs["version_id"], "v2");
    assert_eq!(champs["territoires"], json!([T]));
    assert_eq!(champs["portes_entree"], json!(["economie_locale"]));
    assert_eq!(champs["mesures_pacte"], json!(["M05"]));
    assert_eq!(champs["source"], format!("https://essaim.example/t/{T}/fiches/fiche1/?version=v2"));
    let attendues: Vec<(String, String)> = SECTIONS
        .iter()
        .filter(|(cle, _)| !p.contenu.section(cle).trim().is_empty())
        .map(|(cle, titre)| ((*titre).to_owned(), p.contenu.section(cle).to_owned()))
        .collect();
    assert_eq!(sections, attendues);
    assert!(md.contains("\n\\# pas un titre\n\\---\n\\\\ déjà une barre\n  \\## indenté\n\\===\n"), "{md}");
}

#[test]
fn a_line_escapes_and_reads_back_whatever_it_holds() {
    for ligne in ["", "#", "\\", "---", "--", "- item", "  # a", " \\x", "===", "a # b", "----- ", "\t# tab"] {
        assert_eq!(ligne_lue(&ligne_de_section(ligne)), ligne, "{ligne:?}");
        let ecrite = ligne_de_section(ligne);
        assert!(!ecrite.starts_with('#') && ecrite != "---", "{ecrite:?}");
    }
}

#[test]
fn a_withdrawn_sheet_says_when_and_why() {
    let mut p = publiee();
    p.statut = StatutFiche::Retiree;
    p.retrait = Some(RetraitFiche { le: LE, motif: "Données <erronées>".into(), par: "Ana".into() });
    assert!(fiche_retiree(&p));
    let f = affichee(&p);
    let page = fiche_retiree_html(&f);
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">") && !page.contains("<script"));
    assert!(page.contains("Cette fiche a été retirée le 7 décembre 2026."));
    assert!(page.contains("Motif\u{a0}: Données &lt;erronées&gt;"));
    assert!(!page.contains("Commencer petit"), "none of its content");
    let json: Value = serde_json::from_str(&fiche_retiree_json(&f)).expect("json");
    assert_eq!(json["erreur"], "Cette fiche a été retirée le 7 décembre 2026. Motif\u{a0}: Données <erronées>");
    let md = fiche_retiree_markdown(&f);
    assert!(md.contains("Cette fiche a été retirée le 7 décembre 2026.") && !md.contains("Commencer"));
}

#[test]
fn the_json_is_the_published_version_with_its_place() {
    let p = publiee();
    let json: Value = serde_json::from_str(&fiche_json(&affichee(&p))).expect("json");
    assert_eq!(json["id"], "fiche1");
    assert_eq!(json["territoire"], T);
    assert_eq!(json["nationale"], false);
    assert_eq!(json["contenu"]["titre"], "Un <repair> café");
    assert_eq!(json["version"]["id"], "v2");
    let liste: Value = serde_json::from_str(&fiches_json(T, "Val", &[affichee(&p)])).expect("json");
    assert_eq!(liste["nom"], "Val");
    assert_eq!(liste["fiches"][0]["adresse"], format!("/t/{T}/fiches/fiche1/"));
    assert_eq!(liste["fiches"][0]["licence"], "CC BY-SA 4.0");
    assert_eq!(liste["fiches"][0]["version"]["id"], "v2");
}

#[test]
fn the_national_list_filters_by_door_and_measure() {
    let a = publiee();
    let mut b = publiee();
    b.contenu.titre = "Autre".into();
    b.contenu.portes_entree = vec![Theme::AlimentationAgriculture];
    b.contenu.mesures_pacte = vec!["M12".into()];
    let fiches = [affichee(&a), FicheAffichee { id: "fiche2", ..affichee(&b) }];
    let filtre = |q: &[(&str, &str)]| {
        Filtre::depuis(&q.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>())
    };
    let ids = |f: &Filtre| -> Vec<String> {
        let v: Value = serde_json::from_str(&fiches_nationales_json(&fiches, f)).expect("json");
        v["fiches"].as_array().expect("list").iter().map(|f| f["id"].as_str().unwrap_or("").to_owned()).collect()
    };
    assert_eq!(ids(&Filtre::default()), ["fiche1", "fiche2"]);
    assert_eq!(ids(&filtre(&[("theme", "alimentation_agriculture")]).expect("ok")), ["fiche2"]);
    assert_eq!(ids(&filtre(&[("mesure", "M05")]).expect("ok")), ["fiche1"]);
    assert_eq!(
        ids(&filtre(&[("mesure", "M05"), ("theme", "alimentation_agriculture")]).expect("ok")),
        Vec::<String>::new()
    );
    // The territory's criteria need its profile: without one, nothing
    // passes them.
    assert_eq!(ids(&filtre(&[("type", "commune")]).expect("ok")), Vec::<String>::new());
    for (q, message) in [
        (vec![("theme", "lune")], "valeur inconnue pour theme\u{a0}: «\u{a0}lune\u{a0}»"),
        (vec![("mesure", "M33")], "valeur inconnue pour mesure\u{a0}: «\u{a0}M33\u{a0}»"),
        (vec![("mesure", "M05"), ("mesure", "M06")], "filtre donné deux fois\u{a0}: mesure"),
        (
            vec![("porte", "x")],
            "filtre inconnu\u{a0}: «\u{a0}porte\u{a0}» (theme, type, departement, reseau ou mesure)",
        ),
    ] {
        assert_eq!(filtre(&q).map_err(|e| e.to_string()), Err(message.to_owned()));
    }
    let page = fiches_nationales_html("https://essaim.example", &fiches, &filtre(&[("mesure", "M12")]).expect("ok"));
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">") && !page.contains("<script"));
    assert!(page.contains(">Autre</a> – Val d&#39;Essaim") && !page.contains(">Un &lt;repair&gt; café</a>"));
    assert!(page.contains("href=\"https://essaim.example/fiches/?theme=economie_locale&amp;mesure=M12\""), "{page}");
    assert!(page.contains("href=\"https://essaim.example/fiches/?mesure=M05\">Mesure 5</a>"));
    let liste = fiches_html(T, "Val", "https://essaim.example", &fiches);
    assert!(liste.contains(&format!("href=\"https://essaim.example/t/{T}/fiches/fiche1/\"")));
}

/// A territory's agenda with the public action `repair` and the draft
/// `brouillon`, built through `Repo::apply` as the app does.
fn agenda_avec_actions() -> crate::agenda::Agenda {
    use crate::agenda::{Edit, Profil};
    use crate::{Config, Repo, UnixMillis};
    let config = Config::new("fiche".parse().expect("peer id"), crate::automerge::ActorId::from([5; 16]), "s".into());
    let (mut repo, _) = Repo::start(config, None, [5; 16]).expect("start");
    let profil = Profil { nom: "Val d'Essaim".into(), ..Profil::default() };
    let (doc, _) = repo.create_territory(UnixMillis(1_000), &[5; 16], "auteur", profil).expect("territory");
    for (id, titre, publication) in [("repair", "Repair <café>", "publie"), ("brouillon", "PROJET-SECRET", "brouillon")]
    {
        let edit: Edit = serde_json::from_value(serde_json::json!({
            "type": "creer", "collection": "actions", "id": id, "valeur": {
                "titre": titre, "visibilite": "public", "publication": publication,
                "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H" } } }))
        .expect("edit");
        repo.apply(UnixMillis(2_000), &doc, "auteur", edit).expect("valid");
    }
    repo.agenda(&doc).expect("loaded")
}

#[test]
fn linked_actions_show_by_title_and_a_draft_not_at_all() {
    let mut p = publiee();
    p.contenu.actions = vec![
        ActionLiee { territoire: T.into(), action: "repair".into() },
        ActionLiee { territoire: T.into(), action: "brouillon".into() },
        ActionLiee { territoire: "3UAhLkpbKNv7Xo7npQrFezecnYnY".into(), action: "ailleurs".into() },
    ];
    let agenda = agenda_avec_actions();
    let page = fiche_html(&FicheAffichee { agenda: Some(&agenda), ..affichee(&p) });
    assert!(page.contains(&format!("href=\"https://essaim.example/t/{T}/actions/repair/\">Repair &lt;café&gt;</a>")));
    assert!(!page.contains("PROJET-SECRET") && !page.contains("actions/brouillon/"), "a draft stays private");
    assert!(page.contains("actions/ailleurs/\">Une action d&#39;un autre territoire</a>"), "{page}");
    assert!(page.contains(&format!("href=\"https://essaim.example/#/t/{T}/fiches/fiche1\">S'inspirer de cette fiche")));
    // Only drafts: no section at all, and nothing to take up.
    p.contenu.actions.retain(|a| a.action == "brouillon");
    let page = fiche_html(&FicheAffichee { agenda: Some(&agenda), ..affichee(&p) });
    assert!(!page.contains("Actions liées") && !page.contains("S'inspirer"), "{page}");
}
