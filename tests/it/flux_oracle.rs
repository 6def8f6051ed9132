//! The public calendar feeds against an independent reader: Python's
//! `icalendar` and `recurring-ical-events` parse and expand what
//! `sync_core::flux` writes. See `flux_oracle.py` for the reader's side.
//!
//! One territory, built through `Repo::apply` as the UI does, holds every
//! supported rhythm form (weekly, fortnightly, monthly by rank and by last
//! rank, by day of month and last day, yearly, daily, several days a week,
//! COUNT and UNTIL, added dates), exclusions, a pause, moved, cancelled,
//! online and postponed occurrences, a one-off moved by an exception,
//! series across both DST changes of Europe/Paris (with starts in the spring
//! gap and the autumn fold, and an occurrence spanning the fold), and
//! series in America/Cayenne and Indian/Reunion.
//!
//! Over [`flux::fenetre`] (the 12 months after `now`), the set of
//! (UID base, start instant, end instant, cancelled) must be the same for:
//! the JSON-LD's expanded occurrences (`subEvent`s, and one-off events),
//! the full ICS expanded by the reader with zoneinfo, the full ICS expanded
//! with only its own VTIMEZONEs (TZIDs renamed), and the compat ICS.
//! Cancelled occurrences are in every set, flagged cancelled.
//!
//! Needs the packages `scripts/setup.sh` installs in
//! `target/rythme-oracle-venv`; without them the test fails with a message.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sync_core::agenda::{Edit, Profil, VisibiliteTerritoire};
use sync_core::automerge::ActorId;
use sync_core::flux::{self, Territoire};
use sync_core::rythme::Timestamp;
use sync_core::{Config, Repo, UnixMillis};

use crate::support::python_oracle;

const NOW: &str = "2026-01-15T10:00:00Z";

/// (UID base, start instant, end instant, cancelled).
pub(crate) type Occurrence = (String, String, String, bool);

fn territoire() -> (Territoire, sync_core::agenda::Agenda) {
    let config = Config::new("oracle".parse().expect("peer id"), ActorId::from([9u8; 16]), "session".into());
    let (mut repo, _) = Repo::start(config, None, [9; 16]).expect("start");
    let profil = Profil { nom: "Pays d'Essaim".into(), visibilite: VisibiliteTerritoire::Public, ..Profil::default() };
    let (doc, _) = repo.create_territory(UnixMillis(1_000), &[9; 16], "auteur", profil).expect("territory");
    let mut horloge = 2_000u64;
    let mut edit = |e: Value| {
        horloge += 1_000;
        let e: Edit = serde_json::from_value(e).expect("edit JSON");
        repo.apply(UnixMillis(horloge), &doc, "auteur", e).expect("valid edit");
    };
    let actions = [
        ("ponctuel", json!({ "debut": "2026-02-14T10:00:00", "duree": "PT2H" })),
        ("ponctuel-deplace", json!({ "debut": "2026-05-09T15:00:00", "duree": "PT1H30M" })),
        (
            "hebdo",
            json!({ "debut": "2026-01-07T18:30:00", "duree": "PT2H",
            "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-12-16" },
            "exclusions": ["2026-02-11T18:30:00", "2026-11-11T18:30:00"] }),
        ),
        (
            "quinzaine",
            json!({ "debut": "2026-01-06T19:00:00", "duree": "PT1H30M",
            "regle": { "freq": "WEEKLY", "interval": 2, "par_jour": ["TU"], "nombre": 20 } }),
        ),
        (
            "premier-samedi",
            json!({ "debut": "2026-02-07T10:00:00", "duree": "PT3H",
            "regle": { "freq": "MONTHLY", "par_jour": ["1SA"], "jusqu_au": "2027-06-30" } }),
        ),
        (
            "dernier-vendredi",
            json!({ "debut": "2026-01-30T19:00:00", "duree": "PT2H",
            "regle": { "freq": "MONTHLY", "par_jour": ["-1FR"] }, "confirmer_avant": "2026-12-31" }),
        ),
        (
            "premier-troisieme-mardi",
            json!({ "debut": "2026-02-03T14:00:00", "duree": "PT1H",
            "regle": { "freq": "MONTHLY", "par_jour": ["1TU", "3TU"], "nombre": 12 } }),
        ),
        (
            "le-15-et-dernier-jour",
            json!({ "debut": "2026-01-15T12:00:00", "duree": "PT45M",
            "regle": { "freq": "MONTHLY", "par_jour_du_mois": [15, -1], "jusqu_au": "2026-10-31T12:00:00" } }),
        ),
        (
            "annuel-mai",
            json!({ "debut": "2026-05-30T09:00:00", "duree": "PT8H",
            "regle": { "freq": "YEARLY", "par_mois": [5], "par_jour": ["-1SA"], "nombre": 3 } }),
        ),
        (
            "solstice",
            json!({ "debut": "2026-06-21T21:00:00", "duree": "PT3H",
            "regle": { "freq": "YEARLY", "par_mois": [6], "par_jour_du_mois": [21], "nombre": 5 } }),
        ),
        (
            "quotidien-printemps",
            json!({ "debut": "2026-03-27T02:30:00", "duree": "PT1H",
            "regle": { "freq": "DAILY", "nombre": 5 } }),
        ),
        (
            "quotidien-automne",
            json!({ "debut": "2026-10-23T02:30:00", "duree": "PT1H",
            "regle": { "freq": "DAILY", "nombre": 5 } }),
        ),
        (
            "nuit-du-changement",
            json!({ "debut": "2026-10-24T23:00:00", "duree": "PT5H",
            "regle": { "freq": "WEEKLY", "nombre": 3 } }),
        ),
        (
            "lundi-mercredi-vendredi",
            json!({ "debut": "2026-03-02T07:00:00", "duree": "PT30M",
            "regle": { "freq": "WEEKLY", "par_jour": ["MO", "WE", "FR"], "jusqu_au": "2026-04-30" },
            "ajouts": ["2026-05-02T07:00:00"] }),
        ),
        (
            "tous-les-trois-jours",
            json!({ "debut": "2026-09-01T08:00:00", "duree": "PT1H",
            "regle": { "freq": "DAILY", "interval": 3, "jusqu_au": "2026-09-30" } }),
        ),
        (
            "cayenne",
            json!({ "debut": "2026-01-10T09:00:00", "fuseau": "America/Cayenne", "duree": "PT2H",
            "regle": { "freq": "WEEKLY", "par_jour": ["SA"], "nombre": 30 } }),
        ),
        (
            "reunion",
            json!({ "debut": "2026-01-31T08:00:00", "fuseau": "Indian/Reunion", "duree": "PT4H",
            "regle": { "freq": "MONTHLY", "par_jour": ["-1SA"], "jusqu_au": "2026-12-31" } }),
        ),
    ];
    for (id, rythme) in actions {
        edit(json!({ "type": "creer", "collection": "actions", "id": id, "valeur": {
            "titre": format!("Action {id}"), "visibilite": "public", "publication": "publie",
            "lieu": { "libelle": "Salle", "adresse": "1 rue de la Paix" }, "rythme": rythme } }));
    }
    edit(json!({ "type": "creer", "collection": "instances", "id": "conseil", "valeur": {
        "nom": "Conseil municipal", "type": "conseil_municipal",
        "rythme": { "debut": "2026-01-08T20:00:00", "duree": "PT2H",
            "regle": { "freq": "MONTHLY", "par_jour": ["2TH"], "jusqu_au": "2026-12-31" } } } }));
    // A private action, which must appear nowhere.
    edit(json!({ "type": "creer", "collection": "actions", "id": "prive", "valeur": {
        "titre": "Privée", "visibilite": "prive", "publication": "publie",
        "rythme": { "debut": "2026-03-03T10:00:00", "duree": "PT1H" } } }));

    let mut occurrence = |collection: &str, id: &str, origine: &str, exception: Value| {
        edit(json!({ "type": "modifier_occurrence", "collection": collection, "id": id, "origine": origine,
            "exception": exception }));
    };
    // Moved across the spring DST change, cancelled, moved online, another
    // place, postponed; a one-off moved; a moved occurrence of a body.
    occurrence("actions", "hebdo", "2026-03-25T18:30:00", json!({ "debut": "2026-03-29T10:00:00", "duree": "PT3H" }));
    occurrence("actions", "hebdo", "2026-04-08T18:30:00", json!({ "etat": "annule" }));
    occurrence(
        "actions",
        "hebdo",
        "2026-05-06T18:30:00",
        json!({ "etat": "deplace_en_ligne", "lien_en_ligne": "https://visio.example/hebdo" }),
    );
    occurrence("actions", "hebdo", "2026-06-03T18:30:00", json!({ "lieu": "Médiathèque" }));
    occurrence("actions", "premier-samedi", "2026-03-07T10:00:00", json!({ "etat": "reporte" }));
    occurrence("actions", "premier-samedi", "2026-10-03T10:00:00", json!({ "etat": "annule" }));
    occurrence("actions", "ponctuel-deplace", "2026-05-09T15:00:00", json!({ "debut": "2026-05-16T16:00:00" }));
    occurrence("actions", "cayenne", "2026-02-14T09:00:00", json!({ "debut": "2026-02-15T09:30:00" }));
    occurrence("instances", "conseil", "2026-07-09T20:00:00", json!({ "debut": "2026-07-16T20:00:00" }));
    // An occurrence that is also excluded: the exclusion wins.
    occurrence("actions", "hebdo", "2026-11-11T18:30:00", json!({ "etat": "annule" }));
    edit(json!({ "type": "pauser", "collection": "actions", "id": "hebdo",
        "pause": { "du": "2026-07-01", "au": "2026-08-31", "motif": "pause estivale" } }));
    edit(json!({ "type": "pauser", "collection": "actions", "id": "premier-samedi",
        "pause": { "du": "2026-08-01", "au": "2026-08-31" } }));

    let agenda = repo.agenda(&doc).expect("loaded");
    (Territoire::new(doc.to_string(), &agenda, "https://essaim.example"), agenda)
}

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("instant {s}: {e}"))
}

/// The expanded occurrences the JSON-LD publishes: each recurring event's
/// `subEvent`s, and one-off events starting in the window.
pub(crate) fn occurrences_json_ld(ld: &Value, du: Timestamp, au: Timestamp) -> BTreeSet<Occurrence> {
    let mut toutes = BTreeSet::new();
    let evenements = ld["itemListElement"].as_array().expect("itemListElement");
    for e in evenements {
        let uid = e["identifier"].as_str().expect("identifier").to_owned();
        let liste: Vec<&Value> = match e.get("eventSchedule") {
            Some(_) => e["subEvent"].as_array().expect("a recurring event has subEvent").iter().collect(),
            None => vec![e],
        };
        for o in liste {
            let debut = instant(o["startDate"].as_str().expect("startDate"));
            let fin = instant(o["endDate"].as_str().expect("endDate"));
            if (du..au).contains(&debut) {
                let annule = o["eventStatus"] == "https://schema.org/EventCancelled";
                toutes.insert((uid.clone(), debut.to_string(), fin.to_string(), annule));
            }
        }
    }
    toutes
}

/// The occurrences whose nominal local start (the rule's, or a move's)
/// falls in a DST gap, with that local start.
fn occurrences_dans_un_trou(
    territoire: &Territoire,
    agenda: &sync_core::agenda::Agenda,
    du: Timestamp,
    au: Timestamp,
) -> (BTreeSet<Occurrence>, BTreeSet<(String, String)>) {
    let (mut trous, mut locaux) = (BTreeSet::new(), BTreeSet::new());
    for r in flux::public(agenda) {
        for o in r.rythme.occurrences(du, au).expect("valid rhythm") {
            let exception = r.rythme.exceptions.get(&o.origine.to_string());
            let nominal = exception.and_then(|e| e.debut).unwrap_or(o.origine);
            if nominal != o.debut {
                let annule = o.etat == sync_core::rythme::EtatOccurrence::Annule;
                trous.insert((r.uid(territoire), o.debut_utc.to_string(), o.fin_utc.to_string(), annule));
                locaux.insert((r.uid(territoire), nominal.to_string()));
            }
        }
    }
    (trous, locaux)
}

pub(crate) fn differences(nom: &str, attendu: &BTreeSet<Occurrence>, obtenu: &BTreeSet<Occurrence>) -> Option<String> {
    if attendu == obtenu {
        return None;
    }
    let manque: Vec<&Occurrence> = attendu.difference(obtenu).take(8).collect();
    let en_trop: Vec<&Occurrence> = obtenu.difference(attendu).take(8).collect();
    Some(format!(
        "{nom}: {} vs {} occurrences\n  missing: {manque:#?}\n  extra: {en_trop:#?}",
        attendu.len(),
        obtenu.len()
    ))
}

#[test]
fn calendar_feeds_agree_with_icalendar_and_recurring_ical_events() {
    let (territoire, agenda) = territoire();
    let now = instant(NOW);
    let (du, au) = flux::fenetre(now);
    let ics = flux::ics(&territoire, &agenda, now);
    let compat = flux::ics_compat(&territoire, &agenda, now);
    let ld = flux::json_ld(&territoire, &agenda, now);
    assert!(!ics.contains("Privée") && !compat.contains("Privée") && !ld.to_string().contains("Privée"));

    let entree = json!({ "ics": ics, "compat": compat, "du": du.to_string(), "au": au.to_string() });
    let eux = python_oracle("flux_oracle.py", &entree);

    let nous = occurrences_json_ld(&ld, du, au);
    let lire = |cle: &str| -> BTreeSet<Occurrence> {
        serde_json::from_value::<Vec<Occurrence>>(eux[cle].clone()).expect("oracle list").into_iter().collect()
    };
    // Occurrences whose local start does not exist (spring-forward gap):
    // the one place icalendar's VTIMEZONE reading departs from RFC 5545
    // (see flux_oracle.py); left out of that comparison, and checked to be
    // exactly these.
    let (trous, trous_locaux) = occurrences_dans_un_trou(&territoire, &agenda, du, au);
    assert!(!trous.is_empty(), "the territory has occurrences in a DST gap");
    let sans_trous: BTreeSet<Occurrence> = nous.difference(&trous).cloned().collect();
    let vus: BTreeSet<(String, String)> =
        serde_json::from_value(eux["vtimezone_gap"].clone()).expect("oracle gap list");
    let mut ecarts: Vec<String> = [("ics", &nous), ("ics_vtimezone", &sans_trous), ("compat", &nous)]
        .into_iter()
        .filter_map(|(cle, attendu)| differences(cle, attendu, &lire(cle)))
        .collect();
    if vus != trous_locaux {
        ecarts.push(format!("gap occurrences: engine {trous_locaux:?}, oracle {vus:?}"));
    }
    let annulees = nous.iter().filter(|o| o.3).count();
    let series: BTreeSet<&String> = nous.iter().map(|o| &o.0).collect();
    println!(
        "flux oracle ({}): {} occurrences of {} series, {annulees} cancelled",
        eux["versions"],
        nous.len(),
        series.len()
    );
    assert!(ecarts.is_empty(), "the feeds disagree with the JSON-LD occurrences:\n{}", ecarts.join("\n"));
    assert!(nous.len() > 200, "the territory should produce plenty of occurrences, got {}", nous.len());
    assert_eq!(series.len(), 18, "every public series has occurrences in the window: {series:#?}");
    assert_eq!(annulees, 2, "the two cancelled occurrences, not the excluded one");
}

/// The JSON-LD feeds, typed against schema-dts (Google's TypeScript types of
/// the schema.org vocabulary, pinned in tests/interop) and checked by `tsc`:
/// an object literal with a property a type does not have, or a value of
/// the wrong kind, is an error. Needs `scripts/setup.sh`'s npm install.
#[test]
fn json_ld_uses_only_the_schema_org_vocabulary() {
    let (territoire, agenda) = territoire();
    let now = instant("2026-01-01T00:00:00Z");
    let local = flux::json_ld(&territoire, &agenda, now);
    let national = flux::json_ld_national(&[(territoire, agenda)], now);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    let file = dir.join(format!(".jsonld-check-{}.ts", std::process::id()));
    let source = format!(
        "import type {{ ItemList, WithContext }} from \"schema-dts\";\n\
         export const territoire: WithContext<ItemList> = {local};\n\
         export const national: WithContext<ItemList> = {national};\n"
    );
    std::fs::write(&file, source).expect("write the check");
    let output = std::process::Command::new("node")
        .current_dir(&dir)
        .args(["node_modules/typescript/bin/tsc", "--noEmit", "--strict", "--skipLibCheck", "--target", "es2022"])
        .args(["--module", "esnext", "--moduleResolution", "bundler"])
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    let output = output.expect("run tsc (Node.js and scripts/setup.sh needed)");
    assert!(
        output.status.success(),
        "the JSON-LD is not schema.org's vocabulary:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
