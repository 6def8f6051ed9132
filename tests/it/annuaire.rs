//! The national directory from the real relay (issue 16): `/territoires/`,
//! a French page without script listing the public territories as cards,
//! narrowed by its query string, and `/territoires.json` with the same
//! facts. Private territories never appear; demonstrations say so.

use sync_core::agenda::{Codes, Engagement, LienReseau, Profil, Reseau, Theme, TypeTerritoire, VisibiliteTerritoire};
use tempfile::TempDir;

use crate::support::{http_get, http_get_bytes, http_get_with, start_relay_with};

struct Fiche<'a> {
    nom: &'a str,
    type_territoire: TypeTerritoire,
    insee: &'a [&'a str],
    themes: &'a [Theme],
    reseaux: &'a [Reseau],
    mesures: &'a [&'a str],
    public: bool,
}

fn creer(data: &TempDir, f: &Fiche<'_>) {
    let profil = Profil {
        nom: f.nom.into(),
        type_territoire: f.type_territoire,
        codes: Codes { insee: f.insee.iter().map(|c| (*c).to_owned()).collect(), ..Codes::default() },
        portes_entree: f.themes.to_vec(),
        reseaux: f.reseaux.iter().map(|r| LienReseau { reseau: *r, ..LienReseau::default() }).collect(),
        engagements_pacte: f.mesures.iter().map(|m| Engagement { mesure: (*m).into(), niveau: 1 }).collect(),
        visibilite: if f.public { VisibiliteTerritoire::Public } else { VisibiliteTerritoire::Prive },
        ..Profil::default()
    };
    server::create_territory(data.path(), profil).expect("territory");
}

/// Two demonstration territories of today (`essaim demo`), public and
/// marked as demonstrations by the relay.
fn demonstrations(data: &TempDir) -> Vec<server::demo::Created> {
    let today =
        sync_core::rythme::Timestamp::now().to_zoned_datetime(sync_core::rythme::jiff::tz::TimeZone::UTC).date();
    let server::demo::Outcome::Created(demos) =
        server::demo::seed(&server::Storage::Sqlite(data.path().to_owned()), today, 2, 0).expect("demo")
    else {
        panic!("demonstrations created")
    };
    demos
}

/// The names of the cards on a directory page.
fn cartes(page: &str) -> Vec<String> {
    page.split("<h3><a href=\"")
        .skip(1)
        .filter_map(|s| {
            s.split_once("\">").and_then(|(_, rest)| rest.split_once("</a>")).map(|(nom, _)| nom.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_directory_lists_public_territories_only_and_each_filter_narrows() {
    let data = TempDir::new().expect("temp dir");
    let demos = demonstrations(&data);
    let nantes = Fiche {
        nom: "Nantes en transition",
        type_territoire: TypeTerritoire::Commune,
        insee: &["44109"],
        themes: &[Theme::Energie, Theme::Mobilite],
        reseaux: &[Reseau::Colibris],
        mesures: &["M05", "M12"],
        public: true,
    };
    creer(&data, &nantes);
    creer(
        &data,
        &Fiche {
            nom: "Le Port",
            type_territoire: TypeTerritoire::IntercommunaliteEpci,
            insee: &["97407", "97415"],
            themes: &[Theme::Energie],
            reseaux: &[],
            mesures: &["M05"],
            public: true,
        },
    );
    creer(&data, &Fiche { nom: "QUARTIER-PRIVE", public: false, ..nantes });
    let relay = start_relay_with(data, |config| config.open = false).await;

    let (status, head, page) = http_get_with(relay.addr, "/territoires/", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"), "no script");
    let mut attendus: Vec<String> = demos.iter().map(|d| d.name.clone()).collect();
    attendus.extend(["Le Port".to_owned(), "Nantes en transition".to_owned()]);
    let mut listes = cartes(&page);
    listes.sort();
    attendus.sort();
    assert_eq!(listes, attendus, "exactly the public territories");
    assert!(!page.contains("QUARTIER-PRIVE"));
    assert_eq!(page.matches("Territoire de démonstration (contenu inventé)").count(), demos.len());
    assert!(page.contains("<p>Intercommunalité (EPCI) · La Réunion (974)</p>"), "{page}");

    let filtres: [(&str, &[&str]); 6] = [
        ("?departement=44", &["Nantes en transition"]),
        ("?departement=974", &["Le Port"]),
        ("?reseau=colibris", &["Nantes en transition"]),
        ("?mesure=M05", &["Le Port", "Nantes en transition"]),
        ("?mesure=M12&theme=mobilite", &["Nantes en transition"]),
        ("?type=intercommunalite_epci&mesure=M05", &["Le Port"]),
    ];
    for (requete, noms) in filtres {
        let (status, page) = http_get(relay.addr, &format!("/territoires/{requete}")).await;
        assert_eq!(status, 200, "{requete}: {page}");
        let mut listes = cartes(&page);
        listes.sort();
        assert_eq!(listes, noms, "{requete}");
        assert!(page.contains(&format!("<h2 id=\"liste\">{}\u{a0}territoire", noms.len())), "{requete}");
    }
    // A theme the demonstrations share with the others: each of them too.
    let (_, page) = http_get(relay.addr, "/territoires/?theme=energie").await;
    assert_eq!(cartes(&page).len(), demos.len() + 2);

    // Bad filters: 400 in French, whatever else the query holds.
    for (requete, message) in [
        ("?theme=magie", "valeur inconnue pour theme\u{a0}: «\u{a0}magie\u{a0}»\n"),
        ("?departement=20", "valeur inconnue pour departement\u{a0}: «\u{a0}20\u{a0}»\n"),
        ("?admin=1", "filtre inconnu\u{a0}: «\u{a0}admin\u{a0}» (theme, type, departement, reseau ou mesure)\n"),
        ("?mesure=M05&mesure=M12", "filtre donné deux fois\u{a0}: mesure\n"),
    ] {
        assert_eq!(http_get(relay.addr, &format!("/territoires/{requete}")).await, (400, message.to_owned()));
    }

    // One ETag per filter; the same filter again is a 304.
    let etag = |head: &str| head.lines().find_map(|l| l.strip_prefix("etag: ")).map(str::to_owned).expect("ETag");
    let (_, tous, _) = http_get_with(relay.addr, "/territoires/", &[]).await;
    let (_, filtre, _) = http_get_with(relay.addr, "/territoires/?departement=44", &[]).await;
    assert_ne!(etag(&tous), etag(&filtre));
    let (status, _, body) =
        http_get_with(relay.addr, "/territoires/?departement=44", &[("If-None-Match", &etag(&filtre))]).await;
    assert_eq!((status, body.as_str()), (304, ""));

    // The JSON directory: the same territories, with the directory's facts.
    let (status, json) = http_get(relay.addr, "/territoires.json").await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let liste = json["territoires"].as_array().expect("list");
    assert_eq!(liste.len(), demos.len() + 2);
    let port = liste.iter().find(|t| t["nom"] == "Le Port").expect("Le Port");
    assert_eq!(port["departements"], serde_json::json!([{ "code": "974", "nom": "La Réunion" }]));
    assert_eq!(port["engagements_pacte"], serde_json::json!([{ "mesure": "M05", "niveau": 1 }]));
    assert_eq!(port["rendez_vous_30_jours"], 0);
    assert_eq!(port["demonstration"], false);
    assert!(liste.iter().filter(|t| t["demonstration"] == true).all(|t| t["rendez_vous_30_jours"].as_u64() > Some(0)));
    relay.stop().await;
}

/// A directory like `--web`'s holding only the map of départements, made
/// by the web app's own build script from its real geometry (Node.js and
/// the web app's packages, which `scripts/setup-tests.sh` installs).
fn carte_reelle() -> TempDir {
    let web = TempDir::new().expect("temp dir");
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/carte/departements.mjs");
    let output = std::process::Command::new("node")
        .args(["--input-type=module", "-e"])
        .arg(format!(
            "import {{ carteDepartements }} from {:?}; process.stdout.write(carteDepartements());",
            script.display().to_string()
        ))
        .output()
        .expect("run Node.js (scripts/setup-tests.sh installs what the map needs)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::write(web.path().join("carte-departements.json"), &output.stdout).expect("write the map");
    web
}

#[tokio::test]
async fn a_directory_of_a_hundred_territories_stays_light() {
    let data = TempDir::new().expect("temp dir");
    let noms: Vec<String> = (0..100).map(|i| format!("Communauté de communes numéro {i} en transition")).collect();
    for (i, nom) in noms.iter().enumerate() {
        let insee = [format!("{:02}{:03}", 1 + i % 95, i), format!("{:02}{:03}", 1 + (i + 7) % 95, i)];
        let insee: Vec<&str> = insee.iter().map(String::as_str).collect();
        let insee: Vec<&str> = insee.into_iter().filter(|c| !c.starts_with("20")).collect();
        creer(
            &data,
            &Fiche {
                nom,
                type_territoire: TypeTerritoire::IntercommunaliteEpci,
                insee: &insee,
                themes: &Theme::TOUS[..4],
                reseaux: &[Reseau::Colibris, Reseau::FabriqueDesTransitions],
                mesures: &["M01", "M05", "M12", "M20", "M31"],
                public: true,
            },
        );
    }
    let web = carte_reelle();
    let web_dir = web.path().to_owned();
    let relay = start_relay_with(data, |config| {
        config.open = false;
        config.web_dir = Some(web_dir);
    })
    .await;
    let (status, page) = http_get(relay.addr, "/territoires/").await;
    assert_eq!(status, 200);
    assert_eq!(cartes(&page).len(), 100);
    // With the map of départements the app's build draws (real geometry).
    let carte = page.split("<svg").nth(1).and_then(|s| s.split("</svg>").next()).expect("the map");
    assert_eq!(carte.matches("<a href=\"/territoires/?departement=").count(), 108, "each département, once");
    for encoding in ["br", "gzip"] {
        let (status, head, body) = http_get_bytes(relay.addr, "/territoires/", &[("Accept-Encoding", encoding)]).await;
        assert_eq!(status, 200);
        assert!(head.to_ascii_lowercase().contains(&format!("content-encoding: {encoding}")), "{head}");
        println!("/territoires/ with 100 territories: {} B raw, {} B {encoding}", page.len(), body.len());
        assert!(body.len() < 60_000, "{} B in {encoding}", body.len());
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_national_agenda_page_lists_public_rendez_vous_and_filters_like_the_directory() {
    let data = TempDir::new().expect("temp dir");
    let demos = demonstrations(&data);
    creer(
        &data,
        &Fiche {
            nom: "QUARTIER-PRIVE",
            type_territoire: TypeTerritoire::Quartier,
            insee: &["44109"],
            themes: &[],
            reseaux: &[],
            mesures: &[],
            public: false,
        },
    );
    let relay = start_relay_with(data, |config| config.open = false).await;
    let (status, head, page) = http_get_with(relay.addr, "/agenda/", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(!page.to_lowercase().contains("<script"), "no script");
    assert!(page.contains("<h2 id=\"jour-par-jour\">Jour par jour</h2>"));
    for demo in &demos {
        assert!(page.contains(&format!("({})", demo.name.replace('\'', "&#39;"))), "{} in the agenda", demo.name);
    }
    assert!(!page.contains("QUARTIER-PRIVE"));

    // A département keeps its territory's rendez-vous only.
    let (_, json) = http_get(relay.addr, "/territoires.json").await;
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let premier = &json["territoires"][0];
    let (nom, code) =
        (premier["nom"].as_str().expect("name"), premier["departements"][0]["code"].as_str().expect("code"));
    let (status, filtree) = http_get(relay.addr, &format!("/agenda/?departement={code}")).await;
    assert_eq!(status, 200);
    assert!(filtree.contains(&format!("({})", nom.replace('\'', "&#39;"))));
    for autre in demos.iter().filter(|d| d.name != nom) {
        assert!(!filtree.contains(&format!("({})", autre.name.replace('\'', "&#39;"))), "{} filtered out", autre.name);
    }
    assert_eq!(
        http_get(relay.addr, "/agenda/?reseau=inconnu").await,
        (400, "valeur inconnue pour reseau\u{a0}: «\u{a0}inconnu\u{a0}»\n".to_owned())
    );
    relay.stop().await;
}

/// Essaimage over the relay: B's organiser takes up A's public action
/// from its JSON (what the app keeps to do it offline), publishes the
/// copy, and B's calendar carries it under B's own UID.
#[tokio::test]
async fn a_public_action_is_served_for_essaimage_and_taken_up_by_another_territory() {
    use server::invitations::Role;
    use sync_core::agenda::{ActionPublique, Collection, Edit, essaimer};

    let data = TempDir::new().expect("temp dir");
    let a = crate::feeds::territory(&data, "Val d'Essaim", true);
    let b = crate::feeds::territory(&data, "Saint-Paul en transition", true);
    let prive = crate::feeds::territory(&data, "Quartier discret", false);
    let (org_a, org_b) =
        (crate::feeds::token(&data, &a, Role::Organisateur, 1), crate::feeds::token(&data, &b, Role::Organisateur, 2));
    let org_prive = crate::feeds::token(&data, &prive, Role::Organisateur, 3);
    let habitant_prive = crate::feeds::token(&data, &prive, Role::Habitant, 4);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let mut repair = crate::feeds::action("a1", "Repair café", "public");
    if let Edit::Creer { valeur, .. } = &mut repair {
        valeur["lieu"] = serde_json::json!({ "libelle": "LIEU-DE-A", "adresse": "1 place de la Mairie" });
    }
    crate::feeds::organise(&relay, &org_a, &a, vec![repair, crate::feeds::action("a2", "Réunion interne", "membres")])
        .await;
    crate::feeds::organise(
        &relay,
        &org_prive,
        &prive,
        vec![crate::feeds::action("p1", "Atelier du quartier", "public")],
    )
    .await;

    let (status, head, json) = http_get_with(relay.addr, &format!("/t/{a}/actions/a1.json"), &[]).await;
    assert_eq!(status, 200, "{json}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    assert!(!json.contains("LIEU-DE-A") && !json.contains("1 place de la Mairie"), "{json}");
    let publique: ActionPublique = serde_json::from_str(&json).expect("an ActionPublique");
    assert_eq!((publique.titre.as_str(), publique.provenance.territoire_nom.as_str()), ("Repair café", "Val d'Essaim"));
    assert!(!publique.provenance.tetes.is_empty() && publique.provenance.tetes.iter().all(|t| t.len() == 64));
    // Not public, not there, not an id, a private territory: the feeds' 404.
    let (absent, absent_body) = http_get(relay.addr, &format!("/t/{a}/actions/zz.json")).await;
    assert_eq!(absent, 404);
    for path in [
        format!("/t/{a}/actions/a2.json"),
        format!("/t/{a}/actions/a%20b.json"),
        format!("/t/{a}/actions/a1.json?occurrence=2026-01-07T18:30:00"),
        format!("/t/{prive}/actions/p1.json"),
    ] {
        assert_eq!(http_get(relay.addr, &path).await, (404, absent_body.clone()), "{path}");
    }
    let (status, _) = http_get(relay.addr, &format!("/t/{prive}/actions/p1.json?token={habitant_prive}")).await;
    assert_eq!(status, 200);

    // B takes it up from 10 March 2026, then publishes it.
    let depuis = sync_core::rythme::Jour::new(2026, 3, 10).expect("day");
    let copie = essaimer(&publique, "repris", depuis, "Indian/Reunion").expect("taken up");
    let publier = Edit::Modifier {
        collection: Collection::Actions,
        id: "repris".into(),
        champs: serde_json::json!({ "publication": "publie", "visibilite": "public" })
            .as_object()
            .cloned()
            .expect("fields"),
    };
    crate::feeds::organise(&relay, &org_b, &b, vec![copie, publier]).await;
    let (status, ics) = http_get(relay.addr, &format!("/t/{b}/agenda.ics")).await;
    assert_eq!(status, 200);
    assert!(ics.contains(&format!("UID:action-repris@{b}")), "{ics}");
    assert!(ics.contains("DTSTART;TZID=Indian/Reunion:20260311T183000"), "{ics}");
    assert!(!ics.contains("LIEU-DE-A"));

    // A's page says who took it up: B by name, the private territory only counted.
    let copie_privee = essaimer(&publique, "repris", depuis, "Europe/Paris").expect("taken up");
    crate::feeds::organise(&relay, &org_prive, &prive, vec![copie_privee]).await;
    let (status, page) = http_get(relay.addr, &format!("/t/{a}/")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<a href=\"#action-a1\">Repair café</a>\u{a0}: repris par 2\u{a0}territoires (Saint-Paul en transition)</li>"),
        "{page}"
    );
    assert!(!page.contains("Quartier discret"));
    // B's page says where its copy comes from.
    let base = relay.url().replace("ws://", "http://").trim_end_matches("/sync").to_owned();
    let inspire = format!("Inspiré de\u{a0}: <a href=\"{base}/t/{a}/actions/a1/\">Val d&#39;Essaim – Repair café</a>");
    let (_, page_b) = http_get(relay.addr, &format!("/t/{b}/")).await;
    assert!(page_b.contains(&inspire), "{page_b}");
    assert!(!page_b.contains("l'action d'origine"), "{page_b}");

    // Each public action has its page: the source says who took it up,
    // the copy where it comes from; none for a members' action, a private
    // territory's without its token, or a malformed id.
    let (status, page_a1) = http_get(relay.addr, &format!("/t/{a}/actions/a1/")).await;
    assert_eq!(status, 200, "{page_a1}");
    assert!(page_a1.contains("<h1>Repair café</h1>"), "{page_a1}");
    assert!(page_a1.contains("<p>Repris par 2\u{a0}territoires (Saint-Paul en transition).</p>"), "{page_a1}");
    assert!(page_a1.contains(&format!("<a href=\"{base}/#/decouvrir/action/{a}/a1\">Reprendre dans")));
    assert!(!page_a1.to_lowercase().contains("<script"));
    for path in [format!("/t/{a}/actions/a2/"), format!("/t/{a}/actions/a%20b/"), format!("/t/{prive}/actions/p1/")] {
        assert_eq!(http_get(relay.addr, &path).await, (404, absent_body.clone()), "{path}");
    }
    let (status, _) = http_get(relay.addr, &format!("/t/{prive}/actions/p1/?token={habitant_prive}")).await;
    assert_eq!(status, 200);

    // A edits its action after the copy: B's pages say so.
    let modifier = Edit::Modifier {
        collection: Collection::Actions,
        id: "a1".into(),
        champs: serde_json::json!({ "resume": "Nouvelle formule" }).as_object().cloned().expect("fields"),
    };
    crate::feeds::organise(&relay, &org_a, &a, vec![modifier]).await;
    let change = format!("{inspire} (l'action d'origine a changé depuis)");
    let (_, page_b) = http_get(relay.addr, &format!("/t/{b}/")).await;
    assert!(page_b.contains(&change), "{page_b}");
    let (status, copie_b) = http_get(relay.addr, &format!("/t/{b}/actions/repris/")).await;
    assert_eq!(status, 200);
    assert!(copie_b.contains(&change), "{copie_b}");
    relay.stop().await;
}
