//! Tests of the public feeds: escaping and folding, privacy, UIDs and
//! SEQUENCE, one-off and recurring series, moved and cancelled
//! occurrences, time zones, the page, the first visit's preview and the
//! national views. Territories are
//! built through `Repo::apply`, as the UI does.

use expect_test::expect;
use serde_json::{Value, json};

use super::ics::{Ecrivain, echapper};
use super::{
    APERCU_NOMBRE, CARTE_MAX_OCTETS, Carte, CarteError, Changement, Essaimage, Filtre, JOURS_A_VENIR, Reprise,
    Territoire, action_html, agenda_national_html, annuaire_html, apercu_json, html, html_avec_essaimage, ics,
    ics_action, ics_compat, ics_national, json_ld, json_ld_national, territoires_json,
};
use crate::agenda::{Agenda, Edit, Profil, VisibiliteTerritoire};
use crate::rythme::Timestamp;
use crate::{Config, DocumentId, Repo, UnixMillis};

const NOW: &str = "2026-01-15T10:00:00Z";
const SENTINELLE: &str = "sentinelle-privee@example.org";

struct Terrain {
    repo: Repo,
    doc: DocumentId,
}

impl Terrain {
    fn new(graine: u8, nom: &str) -> Terrain {
        let actor = crate::automerge::ActorId::from([graine; 16]);
        let config = Config::new("flux".parse().expect("peer id"), actor, "session".into());
        let (mut repo, _) = Repo::start(config, None, [graine; 16]).expect("start");
        let profil = Profil {
            nom: nom.into(),
            visibilite: VisibiliteTerritoire::Public,
            presentation: "Un territoire <en> transition & en réseau.".into(),
            ..Profil::default()
        };
        let (doc, _) = repo.create_territory(UnixMillis(1_000), &[graine; 16], "auteur", profil).expect("territory");
        Terrain { repo, doc }
    }

    fn edit(&mut self, at_ms: u64, edit: Value) {
        let edit: Edit = serde_json::from_value(edit).expect("edit JSON");
        self.repo.apply(UnixMillis(at_ms), &self.doc, "auteur", edit).expect("valid edit");
    }

    fn action(&mut self, at_ms: u64, id: &str, valeur: Value) {
        let mut valeur = valeur;
        if valeur.get("visibilite").is_none() {
            valeur["visibilite"] = "public".into();
        }
        if valeur.get("publication").is_none() {
            valeur["publication"] = "publie".into();
        }
        self.edit(at_ms, json!({ "type": "creer", "collection": "actions", "id": id, "valeur": valeur }));
    }

    fn agenda(&self) -> Agenda {
        self.repo.agenda(&self.doc).expect("loaded")
    }

    /// A private contact in the territory document, as before the notebook.
    fn contact_ancien(&mut self, acteur: &str, email: &str, tel: &str) {
        let contact =
            crate::agenda::ContactPrive { email: Some(email.into()), tel: Some(tel.into()), ..Default::default() };
        let doc = self.doc.clone();
        self.repo
            .change_document_with(&doc, |am| {
                crate::agenda::ecrire_contact_ancien(am, acteur, &contact);
                Ok::<(), crate::ChangeError>(())
            })
            .expect("written");
    }

    fn territoire(&self) -> Territoire {
        Territoire::new(self.doc.to_string(), &self.agenda(), "https://essaim.example/")
    }
}

fn now() -> Timestamp {
    NOW.parse().expect("instant")
}

/// A territory with a weekly series (one moved, one cancelled occurrence,
/// an exclusion and a pause), a one-off, and private things around them.
fn terrain() -> Terrain {
    let mut t = Terrain::new(1, "Val d'Essaim");
    t.action(
        2_000,
        "repair",
        json!({
            "titre": "Repair café", "resume": "On répare ensemble, outils fournis.",
            "portes_entree": ["dechets_reemploi"], "mots_cles": ["vélo, électroménager"],
            "lieu": { "libelle": "Salle des fêtes", "adresse": "1 place de la Mairie, 26000 Valence" },
            "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-06-24" },
                "exclusions": ["2026-02-11T18:30:00"] }
        }),
    );
    let occurrence = |origine: &str, exception: Value| {
        json!({ "type": "modifier_occurrence", "collection": "actions", "id": "repair", "origine": origine,
                "exception": exception })
    };
    t.edit(3_000, occurrence("2026-01-21T18:30:00", json!({ "debut": "2026-01-22T19:00:00", "motif": "salle prise" })));
    t.edit(4_000, occurrence("2026-01-28T18:30:00", json!({ "etat": "annule" })));
    t.edit(
        5_000,
        json!({ "type": "pauser", "collection": "actions", "id": "repair",
                "pause": { "du": "2026-04-13", "au": "2026-04-26", "motif": "vacances" } }),
    );
    t.action(
        6_000,
        "fete",
        json!({ "titre": "Fête des <semences>", "rythme": { "debut": "2026-03-21T14:00:00", "duree": "PT3H" } }),
    );
    // Private things that no feed may show.
    t.action(
        7_000,
        "secret",
        json!({ "titre": "ACTION-MEMBRES", "visibilite": "membres",
                "rythme": { "debut": "2026-02-02T10:00:00", "duree": "PT1H" } }),
    );
    t.action(
        7_100,
        "brouillon",
        json!({ "titre": "ACTION-BROUILLON", "publication": "brouillon",
                "rythme": { "debut": "2026-02-03T10:00:00", "duree": "PT1H" } }),
    );
    t.action(
        7_200,
        "efface",
        json!({ "titre": "ACTION-SUPPRIMEE", "rythme": { "debut": "2026-02-04T10:00:00", "duree": "PT1H" } }),
    );
    t.edit(7_300, json!({ "type": "supprimer", "collection": "actions", "id": "efface" }));
    t.edit(
        7_400,
        json!({ "type": "creer", "collection": "acteurs", "id": "p1",
                "valeur": { "nom": "ACTEUR-NOM", "categorie": "habitant" } }),
    );
    t.contact_ancien("p1", SENTINELLE, "0600000000");
    t
}

fn vevents(ics: &str) -> Vec<&str> {
    ics.split("BEGIN:VEVENT\r\n").skip(1).map(|e| e.split("END:VEVENT").next().unwrap_or_default()).collect()
}

fn deplie(ics: &str) -> String {
    ics.replace("\r\n ", "")
}

#[test]
fn text_is_escaped() {
    for (entree, attendu) in [
        ("simple", "simple"),
        ("a,b;c", "a\\,b\\;c"),
        ("C:\\chemin", "C:\\\\chemin"),
        ("ligne 1\nligne 2\r\nligne 3", "ligne 1\\nligne 2\\nligne 3"),
        ("tab\tbell\u{7}", "tab\tbell"),
        ("« Fête », été; 2€", "« Fête »\\, été\\; 2€"),
    ] {
        assert_eq!(echapper(entree), attendu, "{entree:?}");
    }
}

#[test]
fn long_lines_fold_at_75_octets_without_splitting_a_character() {
    let cas = [
        "a".repeat(200),
        "é".repeat(100),
        format!("x{}", "é".repeat(100)),
        "🌱".repeat(60),
        format!("ab{}", "€".repeat(70)),
        "Réunion publique à la salle des fêtes – « transition énergétique » 🌍 ".repeat(4),
    ];
    for valeur in cas {
        let mut w = Ecrivain { texte: String::new() };
        w.ligne("DESCRIPTION", &valeur);
        assert!(w.texte.ends_with("\r\n"));
        for (i, ligne) in w.texte.trim_end_matches("\r\n").split("\r\n").enumerate() {
            assert!(ligne.len() <= 75, "line {i} of {valeur:?} is {} octets", ligne.len());
            assert_eq!(i > 0, ligne.starts_with(' '), "continuation lines start with a space");
        }
        assert_eq!(deplie(&w.texte), format!("DESCRIPTION:{valeur}\r\n"), "unfolding gives the line back");
    }
    let mut court = Ecrivain { texte: String::new() };
    court.ligne("X", &"a".repeat(73));
    assert_eq!(court.texte.len(), 77, "exactly 75 octets is not folded");
}

#[test]
fn feeds_are_crlf_and_carry_the_calendar_headers() {
    let t = terrain();
    let texte = ics(&t.territoire(), &t.agenda(), now());
    assert!(!texte.replace("\r\n", "").contains('\n'), "no bare LF");
    assert!(!texte.replace("\r\n", "").contains('\r'), "no bare CR");
    for entete in [
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:",
        "CALSCALE:GREGORIAN\r\n",
        "METHOD:PUBLISH\r\n",
        "X-WR-CALNAME:Agenda – Val d'Essaim\r\n",
        "NAME:Agenda – Val d'Essaim\r\n",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n",
        "X-PUBLISHED-TTL:PT1H\r\n",
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n",
    ] {
        assert!(texte.contains(entete), "missing {entete:?}");
    }
    assert!(texte.ends_with("END:VCALENDAR\r\n"));
}

#[test]
fn private_records_and_contacts_never_reach_a_feed() {
    let t = terrain();
    let (territoire, agenda) = (t.territoire(), t.agenda());
    let paire = [(territoire.clone(), agenda.clone())];
    let sorties = [
        ("ics", ics(&territoire, &agenda, now())),
        ("compat", ics_compat(&territoire, &agenda, now())),
        ("json-ld", json_ld(&territoire, &agenda, now()).to_string()),
        ("html", html(&territoire, &agenda, now())),
        ("ics national", ics_national(&paire, now())),
        ("json national", json_ld_national(&paire, now()).to_string()),
        ("territoires", territoires_json(&paire, now()).to_string()),
        ("annuaire", annuaire_html(&paire, &Filtre::default(), now(), None)),
        (
            "page d'action",
            action_html(&territoire, &agenda, "repair", now(), &Essaimage::default()).unwrap_or_default(),
        ),
    ];
    assert_eq!(agenda.contacts_prives["p1"].email.as_deref(), Some(SENTINELLE), "the sentinel is in the document");
    for (nom, sortie) in &sorties {
        for interdit in
            [SENTINELLE, "0600000000", "ACTION-MEMBRES", "ACTION-BROUILLON", "ACTION-SUPPRIMEE", "ACTEUR-NOM"]
        {
            assert!(!sortie.contains(interdit), "{nom} shows {interdit}");
        }
    }
    for (nom, sortie) in &sorties[..6] {
        assert!(sortie.contains("Repair café"), "{nom} shows the public action");
    }
}

#[test]
fn uids_are_stable_across_edits_and_unique_across_territories() {
    let mut t = terrain();
    let uids = |t: &Terrain| -> Vec<String> {
        let texte = deplie(&ics(&t.territoire(), &t.agenda(), now()));
        let mut v: Vec<String> = texte.lines().filter_map(|l| l.strip_prefix("UID:")).map(str::to_owned).collect();
        v.dedup();
        v
    };
    let avant = uids(&t);
    let doc = t.doc.to_string();
    assert_eq!(avant, [format!("action-fete@{doc}"), format!("action-repair@{doc}")]);
    t.edit(
        90_000,
        json!({ "type": "modifier", "collection": "actions", "id": "repair", "champs": { "titre": "Repair café !" } }),
    );
    assert_eq!(uids(&t), avant, "an edit keeps the UIDs");
    let autre = terrain_bis();
    assert!(uids(&autre).iter().all(|u| !avant.contains(u)), "same record ids, other territory, other UIDs");
}

fn terrain_bis() -> Terrain {
    let mut t = Terrain::new(2, "Autre territoire");
    t.action(
        2_000,
        "repair",
        json!({ "titre": "Repair café", "rythme": { "debut": "2026-03-21T14:00:00", "duree": "PT3H" } }),
    );
    t
}

#[test]
fn sequence_grows_with_each_edit() {
    let mut t = terrain_bis();
    let sequence = |t: &Terrain| -> Vec<i64> {
        deplie(&ics(&t.territoire(), &t.agenda(), now()))
            .lines()
            .filter_map(|l| l.strip_prefix("SEQUENCE:"))
            .map(|s| s.parse().expect("integer"))
            .collect()
    };
    assert_eq!(sequence(&t), [0], "a new record");
    t.edit(
        62_000,
        json!({ "type": "modifier", "collection": "actions", "id": "repair", "champs": { "titre": "Repair café 2" } }),
    );
    assert_eq!(sequence(&t), [60]);
    t.edit(
        3_602_000,
        json!({ "type": "modifier_occurrence", "collection": "actions", "id": "repair",
                "origine": "2026-03-21T14:00:00", "exception": { "debut": "2026-03-22T14:00:00" } }),
    );
    assert_eq!(sequence(&t), [3600], "moving the rendez-vous counts as an edit");
}

#[test]
fn one_off_and_recurring_events() {
    let t = terrain();
    let texte = deplie(&ics(&t.territoire(), &t.agenda(), now()));
    let evenements = vevents(&texte);
    let fete: Vec<&&str> = evenements.iter().filter(|e| e.contains("UID:action-fete@")).collect();
    assert_eq!(fete.len(), 1);
    assert!(fete[0].contains("DTSTART;TZID=Europe/Paris:20260321T140000\r\nDURATION:PT3H\r\n"));
    assert!(!fete[0].contains("RRULE") && !fete[0].contains("RECURRENCE-ID"));
    assert!(fete[0].contains("SUMMARY:Fête des <semences>\r\n"));

    let maitre: Vec<&&str> =
        evenements.iter().filter(|e| e.contains("UID:action-repair@") && !e.contains("RECURRENCE-ID")).collect();
    assert_eq!(maitre.len(), 1);
    let m = maitre[0];
    for attendu in [
        "DTSTART;TZID=Europe/Paris:20260107T183000\r\n",
        "DURATION:PT2H\r\n",
        // The local day's end, 23:59:59 in Paris, in UTC.
        "RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20260624T215959Z\r\n",
        // The exclusion, then the two Wednesdays of the pause.
        "EXDATE;TZID=Europe/Paris:20260211T183000,20260415T183000,20260422T183000\r\n",
        "LOCATION:Salle des fêtes\\, 1 place de la Mairie\\, 26000 Valence\r\n",
        "CATEGORIES:Déchets et réemploi,vélo\\, électroménager\r\n",
        "STATUS:CONFIRMED\r\n",
        "DESCRIPTION:On répare ensemble\\, outils fournis.\\n\\nChaque semaine le mercredi",
    ] {
        assert!(m.contains(attendu), "master lacks {attendu:?}:\n{m}");
    }
    assert!(m.contains(&format!("URL;VALUE=URI:https://essaim.example/t/{}/actions/repair/\r\n", t.doc)));
}

#[test]
fn moved_and_cancelled_occurrences() {
    let t = terrain();
    let (territoire, agenda) = (t.territoire(), t.agenda());
    let texte = deplie(&ics(&territoire, &agenda, now()));
    let overrides: Vec<&str> = vevents(&texte).into_iter().filter(|e| e.contains("RECURRENCE-ID")).collect();
    assert_eq!(overrides.len(), 2, "{overrides:?}");
    let deplace = overrides[0];
    assert!(deplace.contains("RECURRENCE-ID;TZID=Europe/Paris:20260121T183000\r\n"));
    assert!(deplace.contains("DTSTART;TZID=Europe/Paris:20260122T190000\r\n"));
    assert!(deplace.contains("STATUS:CONFIRMED\r\n"));
    assert!(deplace.contains("Pour cette date : salle prise"));
    let annule = overrides[1];
    assert!(annule.contains("RECURRENCE-ID;TZID=Europe/Paris:20260128T183000\r\n"));
    assert!(annule.contains("DTSTART;TZID=Europe/Paris:20260128T183000\r\n"));
    assert!(annule.contains("STATUS:CANCELLED\r\n"));

    let compat = deplie(&ics_compat(&territoire, &agenda, now()));
    let doc = &t.doc;
    let deplace = vevents(&compat)
        .into_iter()
        .find(|e| e.contains(&format!("UID:action-repair-20260121T183000@{doc}")))
        .expect("moved occurrence in compat");
    assert!(deplace.contains("DTSTART:20260122T180000Z\r\nDTEND:20260122T200000Z\r\n"));
    let annule = vevents(&compat)
        .into_iter()
        .find(|e| e.contains("UID:action-repair-20260128T183000@"))
        .expect("cancelled occurrence in compat");
    assert!(annule.contains("SUMMARY:Annulé : Repair café\r\n") && annule.contains("STATUS:CANCELLED\r\n"));
    assert!(!compat.contains("20260211T"), "excluded");
    assert!(!compat.contains("20260415T") && !compat.contains("20260422T"), "paused");
    assert!(!compat.contains("RRULE") && !compat.contains("EXDATE") && !compat.contains("RECURRENCE-ID"));

    let ld = json_ld(&territoire, &agenda, now());
    let repair = ld["itemListElement"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == "Repair café"))
        .expect("event")
        .clone();
    let sous = repair["subEvent"].as_array().expect("subEvent");
    let statut = |debut: &str| -> Value {
        sous.iter().find(|e| e["startDate"] == debut).map(|e| e["eventStatus"].clone()).unwrap_or_default()
    };
    assert_eq!(statut("2026-01-22T19:00:00+01:00"), "https://schema.org/EventRescheduled");
    assert_eq!(statut("2026-01-28T18:30:00+01:00"), "https://schema.org/EventCancelled");
    assert_eq!(statut("2026-01-21T18:30:00+01:00"), Value::Null, "moved away");
    assert!(sous.iter().any(|e| e["previousStartDate"] == "2026-01-21T18:30:00+01:00"));
    let horaire = &repair["eventSchedule"];
    assert_eq!(horaire["repeatFrequency"], "P1W");
    assert_eq!(horaire["byDay"], json!(["https://schema.org/Wednesday"]));
    assert_eq!(horaire["scheduleTimezone"], "Europe/Paris");
    assert_eq!(horaire["endDate"], "2026-06-24");
    assert_eq!(horaire["exceptDate"].as_array().map(Vec::len), Some(5), "{horaire}");
    // The weekly series in the window: 23 Wednesdays from 21 January (the
    // window starts on the 15th) to 24 June, minus one exclusion and two
    // paused; the moved and the cancelled ones stay.
    assert_eq!(sous.len(), 20);
}

#[test]
fn one_action_or_one_occurrence_as_its_own_calendar() {
    let t = terrain();
    let (territoire, agenda) = (t.territoire(), t.agenda());
    let serie = deplie(&ics_action(&territoire, &agenda, "repair", None, now()).expect("the series"));
    assert!(serie.contains("X-WR-CALNAME:Repair café\r\n") && serie.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris"));
    assert_eq!(vevents(&serie).len(), 3, "the master and its two overrides: {serie}");
    assert!(serie.contains("RRULE:FREQ=WEEKLY") && !serie.contains("Fête") && !serie.contains("VALARM"));

    let une = |origine: &str| ics_action(&territoire, &agenda, "repair", Some(origine), now()).map(|c| deplie(&c));
    let deplacee = une("2026-01-21T18:30:00").expect("the moved occurrence");
    let evenements = vevents(&deplacee);
    assert_eq!(evenements.len(), 1, "{deplacee}");
    let e = evenements[0];
    assert!(e.contains(&format!("UID:action-repair-20260121T183000@{}\r\n", t.doc)), "{e}");
    assert!(e.contains("DTSTART;TZID=Europe/Paris:20260122T190000\r\nDURATION:PT2H\r\n"), "{e}");
    assert!(e.contains("Pour cette date : salle prise") && !e.contains("RRULE") && !e.contains("RECURRENCE-ID"));
    let annulee = une("2026-01-28T18:30:00").expect("the cancelled occurrence");
    assert!(annulee.contains("SUMMARY:Annulé : Repair café\r\n") && annulee.contains("STATUS:CANCELLED\r\n"));
    let simple = une("2026-02-04T18:30:00").expect("a plain occurrence");
    assert!(simple.contains("DTSTART;TZID=Europe/Paris:20260204T183000\r\n") && simple.contains("STATUS:CONFIRMED"));

    // Excluded, paused, not a start of the rule, not canonical, or junk.
    for origine in ["2026-02-11T18:30:00", "2026-04-15T18:30:00", "2026-02-05T18:30:00", "2026-02-04T18:30", "../x", ""]
    {
        assert_eq!(une(origine), None, "{origine}");
    }
    // Not public, deleted, unknown: nothing.
    for id in ["secret", "brouillon", "efface", "inconnue", "../repair"] {
        assert_eq!(ics_action(&territoire, &agenda, id, None, now()), None, "{id}");
    }
    let fete = deplie(&ics_action(&territoire, &agenda, "fete", Some("2026-03-21T14:00:00"), now()).expect("one-off"));
    assert!(fete.contains("DTSTART;TZID=Europe/Paris:20260321T140000\r\nDURATION:PT3H\r\n"), "{fete}");
}

#[test]
fn time_zones_come_from_the_tz_database() {
    let mut t = Terrain::new(3, "La Réunion");
    t.action(
        2_000,
        "marche",
        json!({ "titre": "Marché", "rythme": { "debut": "2026-01-03T08:00:00", "fuseau": "Indian/Reunion",
                "duree": "PT4H", "regle": { "freq": "WEEKLY", "par_jour": ["SA"], "nombre": 10 } } }),
    );
    t.action(
        2_100,
        "atelier",
        json!({ "titre": "Atelier", "rythme": { "debut": "2026-01-05T18:00:00", "duree": "PT1H",
                "regle": { "freq": "MONTHLY", "par_jour": ["1MO"], "jusqu_au": "2026-12-31" } } }),
    );
    let texte = ics(&t.territoire(), &t.agenda(), now());
    let zones: Vec<&str> = texte.split("BEGIN:VTIMEZONE\r\n").skip(1).collect();
    assert_eq!(zones.len(), 2);
    expect![[r#"
        TZID:Europe/Paris
        BEGIN:STANDARD
        DTSTART:20250101T010000
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0100
        TZNAME:CET
        END:STANDARD
        BEGIN:DAYLIGHT
        DTSTART:20250330T020000
        RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        TZNAME:CEST
        END:DAYLIGHT
        BEGIN:STANDARD
        DTSTART:20251026T030000
        RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        END:STANDARD
        END:VTIMEZONE
    "#]]
    .assert_eq(
        &zones[0]
            .split("END:VTIMEZONE")
            .next()
            .map(|z| format!("{z}END:VTIMEZONE\n"))
            .unwrap_or_default()
            .replace("\r\n", "\n"),
    );
    assert!(zones[1].starts_with("TZID:Indian/Reunion\r\nBEGIN:STANDARD\r\n"));
    assert!(zones[1].contains("TZOFFSETTO:+0400\r\n") && !zones[1].contains("DAYLIGHT"));
    assert!(texte.contains("DTSTART;TZID=Indian/Reunion:20260103T080000\r\n"));
}

#[test]
fn the_page_is_french_accessible_and_escaped() {
    let t = terrain();
    let page = html(&t.territoire(), &t.agenda(), now());
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"), "no JavaScript");
    assert!(page.contains("Fête des &lt;semences&gt;") && !page.contains("<semences>"));
    assert!(page.contains("Un territoire &lt;en&gt; transition &amp; en réseau."));
    assert!(page.contains("<h1>Agenda – Val d&#39;Essaim</h1>"));
    assert!(page.contains("<h3>Janvier 2026</h3>"));
    // In the year of `now` where the territory is: no year.
    assert!(page.contains(">Mercredi 28 janvier, de 18\u{a0}h\u{a0}30 à 20\u{a0}h\u{a0}30</time>"));
    assert!(page.contains("<span class=\"etat\">(annulé)</span>"));
    assert!(page.contains("<span class=\"etat\">(reprogrammé)</span> – salle prise"));
    assert!(page.contains("id=\"action-repair\""));
    assert!(page.len() < 8_000, "a small page: {} bytes", page.len());
}

#[test]
fn a_page_of_fifty_rendez_vous_is_a_few_kilobytes() {
    let mut t = Terrain::new(4, "Cinquante");
    for i in 0..50 {
        t.action(
            2_000 + i,
            &format!("a{i}"),
            json!({ "titre": format!("Rendez-vous numéro {i}"), "lieu": { "libelle": "Salle des fêtes" },
                    "rythme": { "debut": format!("2026-02-{:02}T18:30:00", i % 28 + 1), "duree": "PT2H" } }),
        );
    }
    let page = html(&t.territoire(), &t.agenda(), now());
    assert_eq!(page.matches("<time ").count(), 50);
    // Each line links to its rendez-vous's own page (`actions/<id>/`): 11.2 KB.
    assert!(page.len() < 12_000, "{} bytes", page.len());
}

#[test]
fn national_views_keep_public_territories_and_public_fields() {
    let publique = terrain();
    let mut privee = Terrain::new(5, "TERRITOIRE-PRIVE");
    privee.edit(2_000, json!({ "type": "modifier_profil", "champs": { "visibilite": "prive" } }));
    privee.action(
        3_000,
        "x",
        json!({ "titre": "Action du territoire privé", "rythme": { "debut": "2026-03-01T10:00:00", "duree": "PT1H" } }),
    );
    let paires = [(publique.territoire(), publique.agenda()), (privee.territoire(), privee.agenda())];
    let texte = ics_national(&paires, now());
    assert!(texte.contains("SUMMARY:Repair café (Val d'Essaim)\r\n"));
    assert!(!texte.contains("Action du territoire privé") && !texte.contains("TERRITOIRE-PRIVE"));
    assert_eq!(texte.matches("BEGIN:VTIMEZONE").count(), 1);
    let json = json_ld_national(&paires, now());
    assert_eq!(json["numberOfItems"], 1);
    // Every event, each recurring one expanded over the next 30 days only;
    // the territory's own feed expands twelve months.
    let propre = json_ld(&publique.territoire(), &publique.agenda(), now());
    let national = &json["itemListElement"][0]["itemListElement"];
    assert_eq!(national.as_array().map(Vec::len), propre["itemListElement"].as_array().map(Vec::len));
    let sous = |liste: &serde_json::Value| -> Vec<String> {
        let evenements = liste.as_array().into_iter().flatten();
        let sous = evenements.flat_map(|e| e["subEvent"].as_array().into_iter().flatten());
        sous.filter_map(|s| s["startDate"].as_str().map(str::to_owned)).collect()
    };
    let (dans_30, dans_12) = (sous(national), sous(&propre["itemListElement"]));
    assert!(!dans_30.is_empty() && dans_30.len() < dans_12.len(), "{} and {}", dans_30.len(), dans_12.len());
    let limite = now().checked_add(jiff::SignedDuration::from_hours(24 * JOURS_A_VENIR)).expect("in range");
    for debut in &dans_30 {
        let debut: jiff::Timestamp = debut.parse().expect("an ISO date with its offset");
        assert!(debut >= now() && debut < limite, "{debut} is beyond 30 days");
    }
    let territoires = territoires_json(&paires, now());
    expect![[r#"["agenda_compat_ics","agenda_ics","agenda_json","codes","demonstration","departements","engagements_pacte","id","nom","page","portes_entree","presentation","rendez_vous_30_jours","reseaux","type"]"#]]
    .assert_eq(&serde_json::to_string(&territoires["territoires"][0].as_object().map(|o| o.keys().collect::<Vec<_>>())).unwrap_or_default());
    assert_eq!(territoires["territoires"].as_array().map(Vec::len), Some(1));
}

#[test]
fn the_preview_lists_the_next_rendez_vous_of_every_kind_soonest_first() {
    let mut t = terrain();
    t.action(
        8_000,
        "passe",
        json!({ "titre": "Déjà passé", "rythme": { "debut": "2026-01-10T10:00:00", "duree": "PT1H" } }),
    );
    t.action(
        8_100,
        "marche",
        json!({ "titre": "Marché paysan", "rythme": { "debut": "2026-01-20T08:00:00", "duree": "PT4H" } }),
    );
    let apercu = apercu_json(&t.territoire(), &t.agenda(), now());
    assert_eq!(apercu["name"], "Agenda – Val d'Essaim");
    let items = apercu["itemListElement"].as_array().expect("items");
    assert_eq!(items.len(), APERCU_NOMBRE);
    assert_eq!(apercu["numberOfItems"], APERCU_NOMBRE);
    let lignes: Vec<String> = items
        .iter()
        .map(|e| {
            let statut = e["eventStatus"].as_str().unwrap_or_default().trim_start_matches("https://schema.org/");
            format!(
                "{} {} {statut}",
                e["startDate"].as_str().unwrap_or_default(),
                e["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    expect![[r#"
        2026-01-20T08:00:00+01:00 Marché paysan EventScheduled
        2026-01-22T19:00:00+01:00 Repair café EventRescheduled
        2026-01-28T18:30:00+01:00 Repair café EventCancelled
        2026-02-04T18:30:00+01:00 Repair café EventScheduled
        2026-02-18T18:30:00+01:00 Repair café EventScheduled
        2026-02-25T18:30:00+01:00 Repair café EventScheduled
        2026-03-04T18:30:00+01:00 Repair café EventScheduled
        2026-03-11T18:30:00+01:00 Repair café EventScheduled"#]]
    .assert_eq(&lignes.join("\n"));
    let texte = apercu.to_string();
    for prive in ["ACTION-", "ACTEUR-NOM", SENTINELLE] {
        assert!(!texte.contains(prive), "{prive} in the preview");
    }
    // A kilobyte an event at most, whatever the agenda's size.
    assert!(texte.len() < APERCU_NOMBRE * 1_000, "{} bytes", texte.len());
}

/// Three public territories and a private one, with what the directory filters on.
fn annuaire() -> Vec<(Territoire, Agenda)> {
    let mut nantes = terrain();
    nantes.edit(
        9_000,
        json!({ "type": "modifier_profil", "champs": {
            "codes": { "insee": ["44109", "44020"] }, "portes_entree": ["energie", "mobilite"],
            "reseaux": [{ "reseau": "colibris", "role": "accompagnement" }],
            "engagements_pacte": [{ "mesure": "M05", "niveau": 2 }, { "mesure": "M12", "niveau": 1 }],
            "comment_cest_decide": "Le COPIL décide <par consentement>." } }),
    );
    let mut reunion = Terrain::new(6, "Saint-Paul en transition");
    reunion.edit(
        9_000,
        json!({ "type": "modifier_profil", "champs": {
            "type": "intercommunalite_epci", "codes": { "insee": ["97415", "44001"] },
            "portes_entree": ["energie"], "fuseau": "Indian/Reunion" } }),
    );
    let corse = Terrain::new(7, "Ajaccio");
    let mut secret = Terrain::new(8, "TERRITOIRE-PRIVE");
    secret.edit(
        9_000,
        json!({ "type": "modifier_profil", "champs": { "visibilite": "prive", "codes": { "insee": ["44109"] },
                "portes_entree": ["energie"] } }),
    );
    [nantes, reunion, corse, secret].iter().map(|t| (t.territoire(), t.agenda())).collect()
}

fn filtre(requete: &[(&str, &str)]) -> Result<Filtre, super::FiltreError> {
    let paires: Vec<(String, String)> = requete.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    Filtre::depuis(&paires)
}

fn noms(territoires: &[(Territoire, Agenda)], requete: &[(&str, &str)]) -> Vec<String> {
    let f = filtre(requete).expect("valid filter");
    super::fiches(territoires, &f, now()).iter().map(|f| f.territoire.nom().to_owned()).collect()
}

#[test]
fn the_directory_lists_public_territories_and_each_filter_narrows() {
    let tous = annuaire();
    assert_eq!(noms(&tous, &[]), ["Ajaccio", "Saint-Paul en transition", "Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("theme", "energie")]), ["Saint-Paul en transition", "Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("theme", "mobilite")]), ["Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("type", "intercommunalite_epci")]), ["Saint-Paul en transition"]);
    assert_eq!(noms(&tous, &[("departement", "44")]), ["Saint-Paul en transition", "Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("departement", "974")]), ["Saint-Paul en transition"]);
    assert_eq!(noms(&tous, &[("departement", "2A")]), Vec::<String>::new());
    assert_eq!(noms(&tous, &[("reseau", "colibris")]), ["Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("mesure", "M12")]), ["Val d'Essaim"]);
    assert_eq!(noms(&tous, &[("mesure", "M13")]), Vec::<String>::new());
    assert_eq!(noms(&tous, &[("theme", "energie"), ("departement", "974")]), ["Saint-Paul en transition"]);
    // A form's blank choice means any.
    assert_eq!(noms(&tous, &[("theme", ""), ("type", "")]).len(), 3);

    let page = annuaire_html(&tous, &filtre(&[("departement", "44")]).expect("filter"), now(), None);
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"), "no JavaScript");
    assert!(!page.contains("TERRITOIRE-PRIVE"));
    assert!(page.contains("<h2 id=\"liste\">2\u{a0}territoires</h2>"), "{page}");
    assert!(page.contains("<option value=\"44\" selected>Loire-Atlantique (44)</option>"));
    assert!(page.contains("<h3><a href=\"https://essaim.example/t/"));
    assert!(page.contains("Val d&#39;Essaim</a></h3>\n<p>Commune · Loire-Atlantique (44)</p>"), "{page}");
    assert!(page.contains("<p>Portes d'entrée\u{a0}: Énergie, Mobilité</p>"));
    assert!(page.contains("<p>Réseaux\u{a0}: Colibris</p>"));
    assert!(page.contains("<p>2\u{a0}engagements du Pacte pour la transition</p>"));
    // The départements list counts every public territory, whatever the filter.
    assert!(
        page.contains("<a href=\"/territoires/?departement=44\">Loire-Atlantique (44)</a>\u{a0}: 2\u{a0}territoires")
    );
    assert!(page.contains("<a href=\"/territoires/?departement=974\">La Réunion (974)</a>\u{a0}: 1\u{a0}territoire"));
}

/// A map of three départements (two metropolitan, one overseas in its box).
fn petite_carte() -> Value {
    json!({
        "vue": "0 0 100 80",
        "credit": "Contours : essai <libre>",
        "departements": [
            { "code": "44", "d": "M10 10l20 0 0 20-20 0z", "x": 20, "y": 20 },
            { "code": "2A", "d": "M50 10l10 0 0 10-10 0z", "x": 55, "y": 15 },
            { "code": "974", "d": "M10 60l5 0 0 5-5 0z", "x": 12.5, "y": 62.5 }
        ],
        "encarts": [{ "code": "974", "x": 5, "y": 55, "l": 20, "h": 20 }]
    })
}

#[test]
fn the_directory_draws_each_departement_as_a_link_named_with_its_count() {
    let tous = annuaire();
    let carte = Carte::lire(&petite_carte().to_string()).expect("valid map");
    let page = annuaire_html(&tous, &filtre(&[("departement", "44")]).expect("filter"), now(), Some(&carte));
    assert_eq!(
        page.matches("<a href=\"/territoires/?departement=").count(),
        3 + 2,
        "three on the map, two in the list"
    );
    assert!(page.contains("role=\"group\" aria-label=\"Carte des départements\""), "{page}");
    assert!(page.contains(
        "<a href=\"/territoires/?departement=44\" class=\"n2 choisi\" aria-label=\"Loire-Atlantique (44)\u{a0}: \
         2\u{a0}territoires\"><path d=\"M10 10l20 0 0 20-20 0z\"/><text x=\"20\" y=\"20\" aria-hidden=\"true\">2</text></a>"
    ));
    // No territory: a link all the same, its count said, nothing written on it.
    assert!(page.contains(
        "<a href=\"/territoires/?departement=2A\" class=\"n0\" aria-label=\"Corse-du-Sud (2A)\u{a0}: 0\u{a0}territoire\">\
         <path d=\"M50 10l10 0 0 10-10 0z\"/></a>"
    ));
    assert!(page.contains("aria-label=\"La Réunion (974)\u{a0}: 1\u{a0}territoire\""));
    assert!(page.contains("<rect class=\"encart\" x=\"5\" y=\"55\" width=\"20\" height=\"20\"/>"));
    assert!(page.contains("<figcaption>Contours : essai &lt;libre&gt;</figcaption>"), "the credit, escaped");
    assert!(!page.to_lowercase().contains("<script"));
    // The app's JSON: the same map, each département with its name.
    let json: Value = serde_json::from_str(&carte.json()).expect("JSON");
    assert_eq!(
        json["departements"][1],
        json!({ "code": "2A", "nom": "Corse-du-Sud", "d": "M50 10l10 0 0 10-10 0z", "x": 55.0, "y": 15.0 })
    );
    assert_eq!(json["encarts"], json!([{ "code": "974", "x": 5.0, "y": 55.0, "l": 20.0, "h": 20.0 }]));
    assert_eq!(Carte::lire(&carte.json()).as_ref(), Ok(&carte), "read back as it was");
    // Without a map, the same counts as text only.
    assert!(!annuaire_html(&tous, &Filtre::default(), now(), None).contains("<svg"));
}

#[test]
fn a_map_that_is_not_plain_outlines_of_known_departements_is_refused() {
    let avec = |chemin: &str, valeur: Value| {
        let mut carte = petite_carte();
        carte.pointer_mut(chemin).map(|v| *v = valeur).expect("path");
        Carte::lire(&carte.to_string())
    };
    assert_eq!(avec("/departements/0/code", json!("99")), Err(CarteError::Departement("99".into())));
    assert_eq!(avec("/departements/1/code", json!("44")), Err(CarteError::Departement("44".into())));
    assert_eq!(avec("/encarts/0/code", json!("100")), Err(CarteError::Departement("100".into())));
    assert_eq!(
        avec("/departements/0/d", json!("M0 0\"/><script>alert(1)</script>")),
        Err(CarteError::Trace("44".into()))
    );
    assert_eq!(avec("/departements/0/d", json!("L0 0")), Err(CarteError::Trace("44".into())));
    assert_eq!(avec("/departements/0/x", json!(1e30)), Err(CarteError::Trace("44".into())));
    assert_eq!(avec("/encarts/0/l", json!(0)), Err(CarteError::Trace("974".into())));
    assert_eq!(avec("/vue", json!("0 0 100")), Err(CarteError::Trace("vue".into())));
    assert_eq!(avec("/vue", json!("0 0 -1 80")), Err(CarteError::Trace("vue".into())));
    assert!(matches!(Carte::lire("[]"), Err(CarteError::Illisible(_))));
    let grande = format!("{{\"vue\":\"{}\"}}", " ".repeat(CARTE_MAX_OCTETS));
    assert_eq!(Carte::lire(&grande), Err(CarteError::TropGrande(grande.len())));
}

#[test]
fn directory_cards_count_the_next_thirty_days_without_cancelled_ones() {
    let tous = annuaire();
    let fiches = super::fiches(&tous, &Filtre::default(), now());
    let val = fiches.iter().find(|f| f.territoire.nom() == "Val d'Essaim").expect("listed");
    // From 2026-01-15 to 2026-02-14: the Wednesday repair café on 21 Jan
    // (moved to the 22nd), 4 Feb and 11 Feb excluded, 28 Jan cancelled: 2.
    assert_eq!(val.a_venir, 2);
    let json = territoires_json(&tous, now());
    let entree =
        json["territoires"].as_array().and_then(|l| l.iter().find(|t| t["nom"] == "Val d'Essaim")).expect("in JSON");
    assert_eq!(entree["rendez_vous_30_jours"], 2);
    assert_eq!(entree["departements"], json!([{ "code": "44", "nom": "Loire-Atlantique" }]));
    assert_eq!(entree["reseaux"], json!(["colibris"]));
    assert_eq!(entree["engagements_pacte"][1]["mesure"], "M12");
    assert_eq!(json["territoires"].as_array().map(Vec::len), Some(3));
}

#[test]
fn bad_directory_filters_are_refused_in_french() {
    let cas = [
        (vec![("pays", "fr")], "filtre inconnu\u{a0}: «\u{a0}pays\u{a0}» (theme, type, departement, reseau ou mesure)"),
        (vec![("theme", "magie")], "valeur inconnue pour theme\u{a0}: «\u{a0}magie\u{a0}»"),
        (vec![("departement", "20")], "valeur inconnue pour departement\u{a0}: «\u{a0}20\u{a0}»"),
        (vec![("mesure", "M33")], "valeur inconnue pour mesure\u{a0}: «\u{a0}M33\u{a0}»"),
        (vec![("mesure", "M+1")], "valeur inconnue pour mesure\u{a0}: «\u{a0}M+1\u{a0}»"),
        (vec![("type", "commune"), ("type", "quartier")], "filtre donné deux fois\u{a0}: type"),
    ];
    for (requete, message) in cas {
        assert_eq!(filtre(&requete).map_err(|e| e.to_string()), Err(message.to_owned()), "{requete:?}");
    }
    assert_eq!(
        filtre(&[("theme", "energie"), ("departement", "2A")]).expect("valid").requete(),
        "?theme=energie&departement=2A"
    );
    assert_eq!(Filtre::default().requete(), "");
}

#[test]
fn the_national_agenda_lists_thirty_days_highlights_first_and_filters() {
    let mut tous = annuaire();
    let mut val = terrain();
    val.action(
        9_500,
        "festival",
        json!({ "titre": "Festival des transitions", "temps_fort": true, "portes_entree": ["culture_education_lien_social"],
                "lieu": { "libelle": "Parc de la mairie" },
                "rythme": { "debut": "2026-02-07T14:00:00", "duree": "PT6H" } }),
    );
    val.edit(9_600, json!({ "type": "modifier_profil", "champs": { "codes": { "insee": ["44109"] } } }));
    tous[0] = (val.territoire(), val.agenda());
    let page = agenda_national_html(&tous, &Filtre::default(), now());
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"), "no JavaScript");
    assert!(!page.contains("TERRITOIRE-PRIVE") && !page.contains("ACTION-"));
    let forts = page.find("<h2 id=\"temps-forts\">Temps forts</h2>").expect("highlights");
    let jours = page.find("<h2 id=\"jour-par-jour\">Jour par jour</h2>").expect("day by day");
    assert!(forts < jours, "highlights first");
    assert!(page[forts..jours].contains("Samedi 7 février à 14\u{a0}h</time> – <a href=\"https://essaim.example/t/"));
    assert!(page[forts..jours].contains("Festival des transitions</a> (Val d&#39;Essaim), Parc de la mairie</li>"));
    let jour_par_jour = &page[jours..];
    assert!(!jour_par_jour.contains("Festival"), "a highlight is listed once");
    // 15 January to 14 February: the repair café moved, cancelled, then on
    // 4 February (11 February excluded); the fête of 21 March is too far.
    assert!(
        jour_par_jour
            .contains("<h3>Jeudi 22 janvier</h3>\n<ul>\n<li><time datetime=\"2026-01-22T19:00:00\">19\u{a0}h</time>")
    );
    assert!(
        jour_par_jour.contains("Repair café</a> (Val d&#39;Essaim), Salle des fêtes <strong>(reprogrammé)</strong>")
    );
    assert!(jour_par_jour.contains("<strong>(annulé)</strong>"));
    assert!(jour_par_jour.contains("<h3>Mercredi 4 février</h3>") && !jour_par_jour.contains("11 février"));
    assert!(!page.contains("Fête des"));
    assert!(page.contains("<p>4\u{a0}rendez-vous</p>"), "{page}");

    let filtre = |requete: &[(&str, &str)]| {
        super::Filtre::depuis(&requete.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>())
            .expect("filter")
    };
    let theme = agenda_national_html(&tous, &filtre(&[("theme", "dechets_reemploi")]), now());
    assert!(theme.contains("Repair café") && !theme.contains("Festival"), "the theme is the rendez-vous'");
    let ailleurs = agenda_national_html(&tous, &filtre(&[("departement", "974")]), now());
    assert!(ailleurs.contains("<p>0\u{a0}rendez-vous</p>") && ailleurs.contains("Aucun rendez-vous public ne répond"));
    assert!(ailleurs.contains("<option value=\"974\" selected>"));
}

#[test]
fn a_copy_says_where_it_was_taken_up_from_linking_only_well_formed_sources() {
    let source = terrain();
    let mut copie = Terrain::new(9, "Saint-Paul");
    let provenance = |territoire: &str| {
        json!({ "territoire": territoire, "territoire_nom": "Val d'Essaim", "action": "repair",
                "titre": "Repair <café>", "licence": "CC BY-SA 4.0" })
    };
    for (id, territoire) in [("bon", source.doc.to_string()), ("douteux", "javascript:alert(1)".to_owned())] {
        copie.action(
            8_000,
            id,
            json!({ "titre": format!("Copie {id}"), "inspire_de": provenance(&territoire),
                    "rythme": { "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                                "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "nombre": 4 } } }),
        );
    }
    let page = html(&copie.territoire(), &copie.agenda(), now());
    assert!(
        page.contains(&format!(
            "<br>Inspiré de\u{a0}: <a href=\"https://essaim.example/t/{}/actions/repair/\">Val d&#39;Essaim – Repair &lt;café&gt;</a>",
            source.doc
        )),
        "{page}"
    );
    assert!(page.contains("<br>Inspiré de\u{a0}: Val d&#39;Essaim – Repair &lt;café&gt;</li>"), "no link to a bad id");
    assert!(!page.contains("javascript:"));
}

#[test]
fn each_public_action_has_a_page_with_its_dates_calendars_and_essaimage() {
    let t = terrain();
    let doc = t.doc.to_string();
    let essaimage = Essaimage {
        reprises: vec![
            Reprise { action: "repair".into(), territoire: Some("Bourg <Neuf>".into()) },
            Reprise { action: "repair".into(), territoire: None },
            Reprise { action: "fete".into(), territoire: Some("Ailleurs".into()) },
        ],
        sources_changees: Vec::new(),
    };
    let page = action_html(&t.territoire(), &t.agenda(), "repair", now(), &essaimage).expect("a public action");
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(!page.to_lowercase().contains("<script"));
    assert!(page.contains("<h1>Repair café</h1>"), "{page}");
    assert!(page.contains(&format!("<p><a href=\"https://essaim.example/t/{doc}/\">Val d&#39;Essaim</a></p>")));
    assert!(page.contains("<p>Chaque semaine le mercredi"), "the rhythm in words: {page}");
    assert!(page.contains("<p>Lieu\u{a0}: Salle des fêtes, 1 place de la Mairie, 26000 Valence</p>"));
    assert!(page.contains("<p>Portes d'entrée\u{a0}: Déchets et réemploi</p>"));
    let calendrier = format!("https://essaim.example/t/{doc}/actions/repair.ics");
    assert!(page.contains(&format!("<li><a href=\"{calendrier}\">Toute la série (iCalendar)</a></li>")));
    // The next dates, each its own calendar: the 21st moved to the 22nd
    // (its origin names it), the 28th cancelled and said so.
    assert!(
        page.contains(&format!("<a href=\"{calendrier}?occurrence=2026-01-21T18:30:00\">ce jour-là seulement</a>"))
    );
    assert!(page.contains("(annulé)"), "{page}");
    assert_eq!(page.matches("ce jour-là seulement").count(), 8);
    assert!(
        page.contains(&format!("<a href=\"https://essaim.example/#/decouvrir/action/{doc}/repair\">Reprendre dans"))
    );
    assert!(page.contains("<p>Repris par 2\u{a0}territoires (Bourg &lt;Neuf&gt;).</p>"), "{page}");
    assert!(page.contains("Contenu sous licence CC BY-SA 4.0"));
    for cache in ["ACTEUR-NOM", SENTINELLE, "0600000000", "ACTION-MEMBRES"] {
        assert!(!page.contains(cache), "{cache} on a public page");
    }
    let fete = action_html(&t.territoire(), &t.agenda(), "fete", now(), &Essaimage::default()).expect("public");
    assert!(fete.contains("<p>Samedi 21 mars, de 14\u{a0}h à 17\u{a0}h</p>"), "{fete}");
    assert!(fete.contains("Ce rendez-vous (iCalendar)"));
    assert!(!fete.contains("ce jour-là seulement"), "a one-off is its own calendar");
    assert!(!fete.contains("Présentation"), "no empty section");
    assert!(!fete.contains("Repris par"));
    // Not public, a draft, deleted, unknown: no page.
    for id in ["secret", "brouillon", "efface", "inconnue"] {
        assert_eq!(action_html(&t.territoire(), &t.agenda(), id, now(), &Essaimage::default()), None, "{id}");
    }
    // The territory's page links each rendez-vous to its page.
    let territoire = html(&t.territoire(), &t.agenda(), now());
    assert!(territoire.contains("<strong><a href=\"actions/repair/\">Repair café</a></strong>"), "{territoire}");
    assert!(territoire.contains("\u{a0}: <a href=\"actions/fete/\">Fête des &lt;semences&gt;</a>"));
}

#[test]
fn a_copy_says_when_its_source_changed_since() {
    let source = terrain();
    let mut copie = Terrain::new(9, "Bourg-Neuf");
    copie.action(
        8_000,
        "repris",
        json!({ "titre": "Repair café", "inspire_de": { "territoire": source.doc.to_string(),
                "territoire_nom": "Val d'Essaim", "action": "repair", "titre": "Repair café", "licence": "CC BY-SA 4.0" },
                "rythme": { "debut": "2026-01-08T18:30:00", "duree": "PT2H", "regle": { "freq": "WEEKLY", "nombre": 4 } } }),
    );
    let (territoire, agenda) = (copie.territoire(), copie.agenda());
    let rien = action_html(&territoire, &agenda, "repris", now(), &Essaimage::default()).expect("public");
    assert!(rien.contains("Inspiré de") && !rien.contains("l'action d'origine"), "{rien}");
    for (changement, dit) in [
        (Changement::Modifiee, " (l'action d'origine a changé depuis)"),
        (Changement::Retiree, " (l'action d'origine n'est plus publiée)"),
    ] {
        let essaimage = Essaimage { reprises: Vec::new(), sources_changees: vec![("repris".into(), changement)] };
        let page = action_html(&territoire, &agenda, "repris", now(), &essaimage).expect("public");
        assert!(page.contains(&format!("Repair café</a>{dit}</p>")), "{page}");
        assert!(html_avec_essaimage(&territoire, &agenda, now(), &essaimage).contains(dit));
    }
}

#[test]
fn the_territorys_page_shows_the_territory_then_its_agenda() {
    let mut t = terrain();
    t.edit(
        9_000,
        json!({ "type": "modifier_profil", "champs": {
            "type": "intercommunalite_epci", "codes": { "insee": ["26362", "07186", "26198"] },
            "portes_entree": ["energie", "mobilite"],
            "reseaux": [{ "reseau": "fabrique_des_transitions", "role": "accompagnement" }],
            "engagements_pacte": [{ "mesure": "M05", "niveau": 2 }, { "mesure": "M12", "niveau": 1 }],
            "comment_cest_decide": "Le COPIL décide <par consentement>." } }),
    );
    t.edit(9_100, json!({ "type": "modifier_horizon", "horizon_debut": "2026", "horizon_fin": "2030" }));
    t.edit(
        9_200,
        json!({ "type": "creer", "collection": "phases", "id": "p1", "valeur": {
            "titre": "Diagnostic <partagé>", "debut": "2026-01-15", "fin": "2026-06-30", "statut": "en_cours" } }),
    );
    t.edit(
        9_300,
        json!({ "type": "creer", "collection": "instances", "id": "copil", "valeur": {
            "nom": "Comité de pilotage", "type": "comite_pilotage",
            "membres": [{ "acteur_id": "p1", "role": "membre" }],
            "rythme": { "debut": "2026-02-02T18:00:00", "duree": "PT2H",
                        "regle": { "freq": "MONTHLY", "par_jour": ["1MO"], "jusqu_au": "2026-12-31" } } } }),
    );
    let page = html(&t.territoire(), &t.agenda(), now());
    let territoire = page.find("<h2 id=\"territoire\">Le territoire</h2>").expect("the territory");
    let agenda = page.find("<h2 id=\"prochains\">").expect("the agenda");
    assert!(territoire < agenda, "the territory first");
    let haut = &page[territoire..agenda];
    assert!(haut.contains("<li>Intercommunalité (EPCI) · Ardèche (07) · Drôme (26)</li>"), "{haut}");
    assert!(haut.contains("<li>Portes d'entrée\u{a0}: Énergie, Mobilité</li>"));
    assert!(haut.contains("<li>Réseaux\u{a0}: Fabrique des transitions (accompagnement)</li>"));
    assert!(haut.contains("<li>Pacte pour la transition\u{a0}: mesure 5 (niveau 2), mesure 12 (niveau 1)</li>"));
    assert!(haut.contains("<p>Horizon\u{a0}: 2026 – 2030</p>"));
    assert!(
        haut.contains(
            "<li><strong>Diagnostic &lt;partagé&gt;</strong> (en cours)\u{a0}: du 15 janvier 2026 au 30 juin 2026</li>"
        ),
        "{haut}"
    );
    assert!(haut.contains("<li><strong>Comité de pilotage</strong> (comité de pilotage)\u{a0}: "), "{haut}");
    assert!(haut.contains("<h3>Qui décide quoi, et comment</h3>\n<p>Le COPIL décide &lt;par consentement&gt;.</p>"));
    // Its next meeting (now is 15 January 2026: the first Monday of February).
    assert!(haut.contains("<br>Prochaine réunion\u{a0}: Lundi 2 février, de 18\u{a0}h à 20\u{a0}h</li>"), "{haut}");
    assert!(!page.contains("ACTEUR-NOM") && !page.contains(SENTINELLE), "no member, no contact");
}

#[test]
fn the_territorys_page_shows_its_published_decisions_only() {
    let mut t = terrain();
    let decision = |id: &str, titre: &str, publication: &str, date: &str| {
        json!({ "type": "creer", "collection": "decisions", "id": id, "valeur": {
            "titre": titre, "processus": "consentement", "statut": "actee", "publication": publication,
            "objections": "OBJECTION-INTERNE",
            "issue": { "enonce": format!("{titre} : c'est <décidé>"), "date": date } } })
    };
    t.edit(9_000, decision("d1", "Jardin partagé", "publie", "2026-01-10"));
    t.edit(9_100, decision("d2", "Budget interne", "brouillon", "2026-01-11"));
    t.edit(9_200, decision("d3", "Marché bio", "publie", "2026-01-12"));
    t.edit(9_300, decision("d4", "Retirée", "publie", "2026-01-13"));
    t.edit(9_400, json!({ "type": "supprimer", "collection": "decisions", "id": "d4" }));
    let page = html(&t.territoire(), &t.agenda(), now());
    let section = &page[page.find("<h2 id=\"decisions\">Décisions</h2>").expect("decisions")..];
    let marche = section.find("Marché bio").expect("published");
    let jardin = section.find("Jardin partagé").expect("published");
    assert!(marche < jardin, "newest first");
    assert!(section.contains("<li><strong>Jardin partagé</strong> (consentement)<br>Jardin partagé : c&#39;est &lt;décidé&gt; (10 janvier 2026)</li>"), "{section}");
    assert!(!page.contains("Budget interne") && !page.contains("Retirée"), "drafts and deleted ones stay out");
}
