//! Tests of the rhythm engine: data-driven rule parsing and printing,
//! expansion scenarios (DST, month ends, leap years, overseas zones),
//! exceptions, pauses, splits, and French sentences. The independent oracle
//! (python-dateutil) lives in `tests/it/rythme_oracle.rs`.

use expect_test::{Expect, expect};
use serde_json::json;

use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn rythme(v: serde_json::Value) -> Rythme {
    serde_json::from_value(v).expect("test rhythm deserialises")
}

/// Parses each line as RRULE text and shows the canonical form or the error.
fn check_regles(lignes: &str, attendu: Expect) {
    let rendu: Vec<String> = lignes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.parse::<Regle>() {
            Ok(r) => {
                let reparse: Regle = r.to_string().parse().expect("canonical text parses");
                assert_eq!(reparse, r, "round trip of {l}");
                format!("{l} => {r}")
            }
            Err(e) => format!("{l} => {e:?}"),
        })
        .collect();
    attendu.assert_eq(&(rendu.join("\n") + "\n"));
}

/// Expands over a window and shows one line per occurrence.
fn check_occurrences(r: &Rythme, du: &str, au: &str, attendu: Expect) {
    let occ = r.occurrences_et_retraits(t(du), t(au)).expect("valid zone");
    let rendu: Vec<String> = occ
        .iter()
        .map(|o| {
            let mut l = format!("{} -> {} .. {} = {}", o.origine, o.debut, o.fin, o.debut_utc);
            if o.etat != EtatOccurrence::Programme {
                l += &format!(" {:?}", o.etat);
            }
            if o.deplacee {
                l += " déplacée";
            }
            if let Some(x) = &o.lien_en_ligne {
                l += &format!(" lien={x}");
            }
            if let Some(r) = &o.retrait {
                l += &format!(" RETIRÉE {r:?}");
            }
            l
        })
        .collect();
    attendu.assert_eq(&(rendu.join("\n") + "\n"));
}

#[test]
fn rules_parse_print_and_reject() {
    check_regles(
        "
        FREQ=WEEKLY;BYDAY=WE
        RRULE:freq=weekly;interval=2;byday=tu
        FREQ=WEEKLY;INTERVAL=1;BYDAY=SA,WE;WKST=MO
        FREQ=MONTHLY;BYDAY=1SA;UNTIL=20260627
        FREQ=MONTHLY;BYDAY=3TU,1TU
        FREQ=MONTHLY;BYDAY=-1FR;COUNT=10
        FREQ=MONTHLY;BYDAY=+2TU
        FREQ=MONTHLY;BYMONTHDAY=-1,15
        FREQ=MONTHLY;BYMONTH=4,5,6;BYDAY=1SA
        FREQ=YEARLY;BYMONTH=5;BYDAY=-1SA
        FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=14
        FREQ=YEARLY;UNTIL=20300101T120000Z
        FREQ=DAILY;UNTIL=20260101T093000
        FREQ=DAILY;INTERVAL=52
        FREQ=HOURLY
        FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO
        FREQ=YEARLY;BYWEEKNO=20
        FREQ=YEARLY;BYYEARDAY=100
        FREQ=DAILY;BYHOUR=9
        EXRULE=FREQ=DAILY
        FREQ=DAILY;X-NAME=1
        FREQ=DAILY;FREQ=WEEKLY
        FREQ=WEEKLY;BYDAY=MO,MO
        FREQ=WEEKLY;WKST=SU
        FREQ=DAILY;INTERVAL=0
        FREQ=DAILY;INTERVAL=53
        FREQ=DAILY;COUNT=0
        FREQ=DAILY;COUNT=10001
        FREQ=DAILY;COUNT=3;UNTIL=20260101
        FREQ=WEEKLY;BYDAY=1MO
        FREQ=MONTHLY;BYDAY=6MO
        FREQ=MONTHLY;BYDAY=-2MO
        FREQ=MONTHLY;BYMONTHDAY=0
        FREQ=MONTHLY;BYMONTHDAY=32
        FREQ=MONTHLY;BYMONTHDAY=-2
        FREQ=YEARLY;BYMONTH=13
        FREQ=DAILY;BYDAY=MO
        FREQ=WEEKLY;BYMONTH=5
        FREQ=YEARLY;BYDAY=1SA
        FREQ=YEARLY;BYMONTHDAY=1
        FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13
        FREQ=MONTHLY;BYDAY=3MO,SA
        FREQ=DAILY;UNTIL=2026-01-01
        FREQ=DAILY;UNTIL=20260230
        INTERVAL=2
        FREQ
        FREQ=DAILY;
        ",
        expect![[r#"
            FREQ=WEEKLY;BYDAY=WE => FREQ=WEEKLY;BYDAY=WE
            RRULE:freq=weekly;interval=2;byday=tu => FREQ=WEEKLY;INTERVAL=2;BYDAY=TU
            FREQ=WEEKLY;INTERVAL=1;BYDAY=SA,WE;WKST=MO => FREQ=WEEKLY;BYDAY=WE,SA
            FREQ=MONTHLY;BYDAY=1SA;UNTIL=20260627 => FREQ=MONTHLY;BYDAY=1SA;UNTIL=20260627
            FREQ=MONTHLY;BYDAY=3TU,1TU => FREQ=MONTHLY;BYDAY=1TU,3TU
            FREQ=MONTHLY;BYDAY=-1FR;COUNT=10 => FREQ=MONTHLY;BYDAY=-1FR;COUNT=10
            FREQ=MONTHLY;BYDAY=+2TU => FREQ=MONTHLY;BYDAY=2TU
            FREQ=MONTHLY;BYMONTHDAY=-1,15 => FREQ=MONTHLY;BYMONTHDAY=15,-1
            FREQ=MONTHLY;BYMONTH=4,5,6;BYDAY=1SA => FREQ=MONTHLY;BYMONTH=4,5,6;BYDAY=1SA
            FREQ=YEARLY;BYMONTH=5;BYDAY=-1SA => FREQ=YEARLY;BYMONTH=5;BYDAY=-1SA
            FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=14 => FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=14
            FREQ=YEARLY;UNTIL=20300101T120000Z => FREQ=YEARLY;UNTIL=20300101T120000Z
            FREQ=DAILY;UNTIL=20260101T093000 => FREQ=DAILY;UNTIL=20260101T093000
            FREQ=DAILY;INTERVAL=52 => FREQ=DAILY;INTERVAL=52
            FREQ=HOURLY => ValeurInvalide { partie: "FREQ", valeur: "HOURLY" }
            FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO => PartieNonPriseEnCharge("BYSETPOS")
            FREQ=YEARLY;BYWEEKNO=20 => PartieNonPriseEnCharge("BYWEEKNO")
            FREQ=YEARLY;BYYEARDAY=100 => PartieNonPriseEnCharge("BYYEARDAY")
            FREQ=DAILY;BYHOUR=9 => PartieNonPriseEnCharge("BYHOUR")
            EXRULE=FREQ=DAILY => PartieNonPriseEnCharge("EXRULE")
            FREQ=DAILY;X-NAME=1 => PartieNonPriseEnCharge("X-NAME")
            FREQ=DAILY;FREQ=WEEKLY => PartieEnDouble("FREQ")
            FREQ=WEEKLY;BYDAY=MO,MO => ValeurInvalide { partie: "BYDAY", valeur: "MO" }
            FREQ=WEEKLY;WKST=SU => ValeurInvalide { partie: "WKST", valeur: "SU" }
            FREQ=DAILY;INTERVAL=0 => ValeurInvalide { partie: "INTERVAL", valeur: "0" }
            FREQ=DAILY;INTERVAL=53 => ValeurInvalide { partie: "INTERVAL", valeur: "53" }
            FREQ=DAILY;COUNT=0 => ValeurInvalide { partie: "COUNT", valeur: "0" }
            FREQ=DAILY;COUNT=10001 => ValeurInvalide { partie: "COUNT", valeur: "10001" }
            FREQ=DAILY;COUNT=3;UNTIL=20260101 => NombreEtJusquAu
            FREQ=WEEKLY;BYDAY=1MO => ValeurInvalide { partie: "BYDAY", valeur: "1MO" }
            FREQ=MONTHLY;BYDAY=6MO => ValeurInvalide { partie: "BYDAY", valeur: "6MO" }
            FREQ=MONTHLY;BYDAY=-2MO => ValeurInvalide { partie: "BYDAY", valeur: "-2MO" }
            FREQ=MONTHLY;BYMONTHDAY=0 => ValeurInvalide { partie: "BYMONTHDAY", valeur: "0" }
            FREQ=MONTHLY;BYMONTHDAY=32 => ValeurInvalide { partie: "BYMONTHDAY", valeur: "32" }
            FREQ=MONTHLY;BYMONTHDAY=-2 => ValeurInvalide { partie: "BYMONTHDAY", valeur: "-2" }
            FREQ=YEARLY;BYMONTH=13 => ValeurInvalide { partie: "BYMONTH", valeur: "13" }
            FREQ=DAILY;BYDAY=MO => PartieIncompatible { partie: "BYDAY", freq: "DAILY" }
            FREQ=WEEKLY;BYMONTH=5 => PartieIncompatible { partie: "BYMONTH", freq: "WEEKLY" }
            FREQ=YEARLY;BYDAY=1SA => MoisRequis { partie: "BYDAY" }
            FREQ=YEARLY;BYMONTHDAY=1 => MoisRequis { partie: "BYMONTHDAY" }
            FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13 => JourEtJourDuMois
            FREQ=MONTHLY;BYDAY=3MO,SA => RangsMelanges
            FREQ=DAILY;UNTIL=2026-01-01 => ValeurInvalide { partie: "UNTIL", valeur: "2026-01-01" }
            FREQ=DAILY;UNTIL=20260230 => ValeurInvalide { partie: "UNTIL", valeur: "20260230" }
            INTERVAL=2 => FreqManquante
            FREQ => PartieMalFormee("FREQ")
            FREQ=DAILY; => PartieMalFormee("")
        "#]],
    );
}

#[test]
fn the_json_form_validates_and_round_trips() {
    let regle: Regle = serde_json::from_value(json!({
        "freq": "MONTHLY", "interval": 1, "par_jour": ["1SA"], "jusqu_au": "2026-06-27"
    }))
    .expect("valid rule");
    assert_eq!(regle.to_string(), "FREQ=MONTHLY;BYDAY=1SA;UNTIL=20260627");
    expect![[r#"{"freq":"MONTHLY","interval":1,"par_jour":["1SA"],"jusqu_au":"2026-06-27"}"#]]
        .assert_eq(&serde_json::to_string(&regle).expect("serialises"));
    for (json, attendu) in [
        (json!({"freq": "WEEKLY", "par_jour": ["1MO"]}), expect!["valeur invalide pour BYDAY : « 1MO »"]),
        (
            json!({"freq": "WEEKLY", "nombre": 3, "jusqu_au": "2026-03-01"}),
            expect!["COUNT et UNTIL ne vont pas ensemble"],
        ),
        (
            json!({"freq": "DAILY", "par_position": [1]}),
            expect![[
                r#"unknown field `par_position`, expected one of `freq`, `interval`, `par_jour`, `par_jour_du_mois`, `par_mois`, `jusqu_au`, `nombre`"#
            ]],
        ),
        (
            json!({"freq": "HOURLY"}),
            expect![[r#"unknown variant `HOURLY`, expected one of `DAILY`, `WEEKLY`, `MONTHLY`, `YEARLY`"#]],
        ),
        (json!({"freq": "DAILY", "nombre": 0}), expect!["valeur invalide pour COUNT : « 0 »"]),
        (
            json!({"freq": "DAILY", "jusqu_au": "2026-06-27T18:30"}),
            expect!["Some(Locale(DateHeure(2026-06-27T18:30:00)))"],
        ),
    ] {
        let rendu = match serde_json::from_value::<Regle>(json) {
            Ok(r) => format!("{:?}", r.jusqu_au),
            Err(e) => e.to_string(),
        };
        attendu.assert_eq(&rendu);
    }
}

#[test]
fn the_domain_model_example_round_trips() {
    let r = rythme(json!({
      "debut": "2025-09-06T18:30:00",
      "fuseau": "Europe/Paris",
      "duree": "PT2H",
      "regle": { "freq": "MONTHLY", "interval": 1, "par_jour": ["1SA"], "jusqu_au": "2026-06-27" },
      "ajouts": [],
      "exclusions": ["2025-11-01T18:30:00"],
      "pauses": [{ "du": "2026-07-01", "au": "2026-08-31", "motif": "pause estivale" }],
      "exceptions": {
        "2025-12-06T18:30:00": { "etat": "deplace_en_ligne", "lien_en_ligne": "https://visio.example/x" },
        "2026-01-03T18:30:00": { "debut": "2026-01-10T18:30:00", "motif": "vœux du maire" }
      },
      "confirmer_avant": "2026-01-31",
      "serie_precedente": null
    }));
    r.valider().expect("the domain model's example is valid");
    let texte = serde_json::to_string(&r).expect("serialises");
    assert_eq!(serde_json::from_str::<Rythme>(&texte).expect("reads back"), r);
    expect![[r#"{"debut":"2025-09-06T18:30:00","fuseau":"Europe/Paris","duree":"PT2H","regle":{"freq":"MONTHLY","interval":1,"par_jour":["1SA"],"jusqu_au":"2026-06-27"},"exclusions":["2025-11-01T18:30:00"],"pauses":[{"du":"2026-07-01","au":"2026-08-31","motif":"pause estivale"}],"exceptions":{"2025-12-06T18:30:00":{"etat":"deplace_en_ligne","lien_en_ligne":"https://visio.example/x"},"2026-01-03T18:30:00":{"debut":"2026-01-10T18:30:00","motif":"vœux du maire"}},"confirmer_avant":"2026-01-31","serie_precedente":null}"#]]
        .assert_eq(&texte);
    check_occurrences(
        &r,
        "2025-09-01T00:00:00Z",
        "2026-09-01T00:00:00Z",
        expect![[r#"
        2025-09-06T18:30:00 -> 2025-09-06T18:30:00 .. 2025-09-06T20:30:00 = 2025-09-06T16:30:00Z
        2025-10-04T18:30:00 -> 2025-10-04T18:30:00 .. 2025-10-04T20:30:00 = 2025-10-04T16:30:00Z
        2025-11-01T18:30:00 -> 2025-11-01T18:30:00 .. 2025-11-01T20:30:00 = 2025-11-01T17:30:00Z RETIRÉE Exclue
        2025-12-06T18:30:00 -> 2025-12-06T18:30:00 .. 2025-12-06T20:30:00 = 2025-12-06T17:30:00Z DeplaceEnLigne lien=https://visio.example/x
        2026-01-03T18:30:00 -> 2026-01-10T18:30:00 .. 2026-01-10T20:30:00 = 2026-01-10T17:30:00Z déplacée
        2026-02-07T18:30:00 -> 2026-02-07T18:30:00 .. 2026-02-07T20:30:00 = 2026-02-07T17:30:00Z
        2026-03-07T18:30:00 -> 2026-03-07T18:30:00 .. 2026-03-07T20:30:00 = 2026-03-07T17:30:00Z
        2026-04-04T18:30:00 -> 2026-04-04T18:30:00 .. 2026-04-04T20:30:00 = 2026-04-04T16:30:00Z
        2026-05-02T18:30:00 -> 2026-05-02T18:30:00 .. 2026-05-02T20:30:00 = 2026-05-02T16:30:00Z
        2026-06-06T18:30:00 -> 2026-06-06T18:30:00 .. 2026-06-06T20:30:00 = 2026-06-06T16:30:00Z
    "#]],
    );
    expect!["Le 1er samedi du mois, de 18⍽h⍽30 à 20⍽h⍽30, jusqu'au 27 juin 2026 (pause du 1er juillet au 31 août)"]
        .assert_eq(&visible(&r.phrase()));
    expect!["FREQ=MONTHLY;BYDAY=1SA;UNTIL=20260627T215959Z"]
        .assert_eq(&r.regle_ics().expect("valid").expect("recurring"));
}

#[test]
fn validation_names_what_is_wrong() {
    let base = json!({
        "debut": "2026-01-07T18:00:00", "duree": "PT2H",
        "regle": {"freq": "WEEKLY", "par_jour": ["WE"], "nombre": 3}
    });
    let avec = |champ: &str, valeur: serde_json::Value| {
        let mut v = base.clone();
        v[champ] = valeur;
        match serde_json::from_value::<Rythme>(v) {
            Ok(r) => r.valider().map_or_else(|e| format!("{e:?}"), |()| "valide".to_owned()),
            Err(e) => format!("serde: {e}"),
        }
    };
    let rendu = [
        avec("fuseau", json!("Europe/Paris")),
        avec("fuseau", json!("Indian/Reunion")),
        avec("fuseau", json!("Mars/Olympus")),
        avec("fuseau", json!("europe/paris")),
        avec("duree", json!("PT0M")),
        avec("duree", json!("-PT1H")),
        avec("duree", json!("P1D")),
        avec("duree", json!(120)),
        avec("debut", json!("2026-01-08T18:00:00")),
        avec("debut", json!("2026-01-07T18:00:00+01:00")),
        avec("debut", json!("2026-02-30T18:00:00")),
        avec("regle", json!({"freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-01-06"})),
        avec("regle", json!({"freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-01-07"})),
        avec("regle", json!({"freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-01-07T16:59:59Z"})),
        avec("regle", json!({"freq": "WEEKLY", "par_jour": ["WE"]})),
        avec("confirmer_avant", json!("2026-06-30")),
        avec("pauses", json!([{"du": "2026-08-31", "au": "2026-07-01"}])),
        avec("exceptions", json!({"2026-01-14T18:00": {"etat": "annule"}})),
        avec("exceptions", json!({"2026-01-14T18:00:00": {"duree": "PT0M"}})),
        avec("exceptions", json!({"2026-01-14T18:00:00": {"etat": "supprime"}})),
    ];
    expect![[r#"
        valide
        valide
        FuseauInconnu("Mars/Olympus")
        FuseauInconnu("europe/paris")
        DureeNulle
        serde: durée invalide : « -PT1H » (attendu PT2H, PT1H30M, PT45M)
        serde: durée invalide : « P1D » (attendu PT2H, PT1H30M, PT45M)
        serde: invalid type: integer `120`, expected a string
        DebutHorsRegle(DateHeure(2026-01-08T18:00:00))
        serde: date et heure locales invalides : « 2026-01-07T18:00:00+01:00 » (attendu AAAA-MM-JJTHH:MM:SS)
        serde: date et heure locales invalides : « 2026-02-30T18:00:00 » (attendu AAAA-MM-JJTHH:MM:SS)
        JusquAvantDebut
        valide
        JusquAvantDebut
        SansFin
        valide
        PauseInversee { du: Jour { annee: 2026, mois: 8, jour: 31 }, au: Jour { annee: 2026, mois: 7, jour: 1 } }
        OrigineInvalide("2026-01-14T18:00")
        DureeNulle
        serde: unknown variant `supprime`, expected one of `programme`, `a_confirmer`, `reprogramme`, `deplace_en_ligne`, `reporte`, `complet`, `annule`"#]].assert_eq(&rendu.join("\n"));
    let mut sans_fin = rythme(base.clone());
    sans_fin.regle = Some("FREQ=WEEKLY;BYDAY=WE".parse().expect("valid"));
    sans_fin.confirmer_avant = Some("2026-06-30".parse().expect("valid"));
    sans_fin.valider().expect("open-ended with a confirmation date");
}

#[test]
fn daily_at_half_past_two_across_the_paris_dst_changes() {
    // 2026-03-29: 02:00 -> 03:00 (02:30 does not exist: it moves to 03:30).
    // 2026-10-25: 03:00 -> 02:00 (02:30 happens twice: the first is kept).
    let r = rythme(json!({
        "debut": "2026-03-27T02:30:00", "duree": "PT1H",
        "regle": {"freq": "DAILY", "jusqu_au": "2026-03-30"}
    }));
    r.valider().expect("valid");
    check_occurrences(
        &r,
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        expect![[r#"
        2026-03-27T02:30:00 -> 2026-03-27T02:30:00 .. 2026-03-27T03:30:00 = 2026-03-27T01:30:00Z
        2026-03-28T02:30:00 -> 2026-03-28T02:30:00 .. 2026-03-28T03:30:00 = 2026-03-28T01:30:00Z
        2026-03-29T02:30:00 -> 2026-03-29T03:30:00 .. 2026-03-29T04:30:00 = 2026-03-29T01:30:00Z
        2026-03-30T02:30:00 -> 2026-03-30T02:30:00 .. 2026-03-30T03:30:00 = 2026-03-30T00:30:00Z
    "#]],
    );
    let r = rythme(json!({
        "debut": "2026-10-24T02:30:00", "duree": "PT1H",
        "regle": {"freq": "DAILY", "nombre": 3}
    }));
    check_occurrences(
        &r,
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        expect![[r#"
        2026-10-24T02:30:00 -> 2026-10-24T02:30:00 .. 2026-10-24T03:30:00 = 2026-10-24T00:30:00Z
        2026-10-25T02:30:00 -> 2026-10-25T02:30:00 .. 2026-10-25T02:30:00 = 2026-10-25T00:30:00Z
        2026-10-26T02:30:00 -> 2026-10-26T02:30:00 .. 2026-10-26T03:30:00 = 2026-10-26T01:30:00Z
    "#]],
    );
}

#[test]
fn month_ends_leap_days_and_last_weekdays() {
    let cas = [
        // The 31st: months without one are skipped (RFC 5545).
        json!({"debut": "2026-01-31T10:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "nombre": 5}}),
        // The last day of each month, leap February included.
        json!({"debut": "2028-01-31T10:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "par_jour_du_mois": [-1], "nombre": 4}}),
        // 29 February: only leap years, and 2100 is not one.
        json!({"debut": "2096-02-29T10:00:00", "duree": "PT1H", "regle": {"freq": "YEARLY", "nombre": 2}}),
        // The last Friday of the month.
        json!({"debut": "2026-01-30T19:00:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["-1FR"], "nombre": 4}}),
        // The 1st and 3rd Tuesdays.
        json!({"debut": "2026-01-06T18:00:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["1TU", "3TU"], "nombre": 4}}),
        // Every year, the last Saturday of May.
        json!({"debut": "2026-05-30T09:00:00", "duree": "PT4H", "regle": {"freq": "YEARLY", "par_mois": [5], "par_jour": ["-1SA"], "nombre": 3}}),
        // Fifth Monday: only months that have one.
        json!({"debut": "2026-03-30T18:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "par_jour": ["5MO"], "nombre": 3}}),
        // Every other week, Tuesday and Thursday, starting on a Thursday.
        json!({"debut": "2026-01-08T18:00:00", "duree": "PT1H", "regle": {"freq": "WEEKLY", "interval": 2, "par_jour": ["TU", "TH"], "nombre": 4}}),
    ];
    let rendu: Vec<String> = cas
        .into_iter()
        .map(|v| {
            let r = rythme(v);
            r.valider().expect("valid");
            let occ = r.occurrences(t("2000-01-01T00:00:00Z"), t("2200-01-01T00:00:00Z")).expect("valid");
            let debuts: Vec<String> = occ.iter().map(|o| o.debut.to_string()).collect();
            debuts.join(" ")
        })
        .collect();
    expect![[r#"
        2026-01-31T10:00:00 2026-03-31T10:00:00 2026-05-31T10:00:00 2026-07-31T10:00:00 2026-08-31T10:00:00
        2028-01-31T10:00:00 2028-02-29T10:00:00 2028-03-31T10:00:00 2028-04-30T10:00:00
        2096-02-29T10:00:00 2104-02-29T10:00:00
        2026-01-30T19:00:00 2026-02-27T19:00:00 2026-03-27T19:00:00 2026-04-24T19:00:00
        2026-01-06T18:00:00 2026-01-20T18:00:00 2026-02-03T18:00:00 2026-02-17T18:00:00
        2026-05-30T09:00:00 2027-05-29T09:00:00 2028-05-27T09:00:00
        2026-03-30T18:00:00 2026-06-29T18:00:00 2026-08-31T18:00:00
        2026-01-08T18:00:00 2026-01-20T18:00:00 2026-01-22T18:00:00 2026-02-03T18:00:00"#]]
    .assert_eq(&rendu.join("\n"));
}

#[test]
fn overseas_zones_have_their_own_offsets() {
    let rendu: Vec<String> =
        ["Indian/Reunion", "America/Cayenne", "America/Martinique", "Pacific/Noumea", "Pacific/Tahiti"]
            .into_iter()
            .map(|fuseau| {
                let r = rythme(json!({
                    "debut": "2026-03-28T18:30:00", "fuseau": fuseau, "duree": "PT2H",
                    "regle": {"freq": "DAILY", "nombre": 2}
                }));
                r.valider().expect("valid");
                let occ = r.occurrences(t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).expect("valid");
                format!("{fuseau}: {}", occ.iter().map(|o| o.debut_utc.to_string()).collect::<Vec<_>>().join(" "))
            })
            .collect();
    expect![[r#"
        Indian/Reunion: 2026-03-28T14:30:00Z 2026-03-29T14:30:00Z
        America/Cayenne: 2026-03-28T21:30:00Z 2026-03-29T21:30:00Z
        America/Martinique: 2026-03-28T22:30:00Z 2026-03-29T22:30:00Z
        Pacific/Noumea: 2026-03-28T07:30:00Z 2026-03-29T07:30:00Z
        Pacific/Tahiti: 2026-03-29T04:30:00Z 2026-03-30T04:30:00Z"#]]
    .assert_eq(&rendu.join("\n"));
}

#[test]
fn window_is_half_open_on_the_effective_start() {
    let r = rythme(json!({
        "debut": "2026-01-05T09:00:00", "duree": "PT1H",
        "regle": {"freq": "DAILY", "nombre": 5},
        "exceptions": {"2026-01-06T09:00:00": {"debut": "2026-02-01T09:00:00"}}
    }));
    // 09:00 in Paris in January is 08:00 UTC. The window starts exactly at
    // the 7th's start and ends exactly at the 9th's: the 7th is in, the 9th
    // out, and the 6th (moved to February) is out.
    check_occurrences(
        &r,
        "2026-01-07T08:00:00Z",
        "2026-01-09T08:00:00Z",
        expect![[r#"
        2026-01-07T09:00:00 -> 2026-01-07T09:00:00 .. 2026-01-07T10:00:00 = 2026-01-07T08:00:00Z
        2026-01-08T09:00:00 -> 2026-01-08T09:00:00 .. 2026-01-08T10:00:00 = 2026-01-08T08:00:00Z
    "#]],
    );
    // The moved one is found by its new time, far from its original day.
    check_occurrences(
        &r,
        "2026-01-20T00:00:00Z",
        "2026-03-01T00:00:00Z",
        expect![[r#"
        2026-01-06T09:00:00 -> 2026-02-01T09:00:00 .. 2026-02-01T10:00:00 = 2026-02-01T08:00:00Z déplacée
    "#]],
    );
}

#[test]
fn exclusions_pauses_and_exceptions() {
    let r = rythme(json!({
        "debut": "2026-06-03T18:00:00", "duree": "PT2H",
        "regle": {"freq": "WEEKLY", "par_jour": ["WE"], "nombre": 8},
        "ajouts": ["2026-06-06T10:00:00"],
        "exclusions": ["2026-06-10T18:00:00"],
        "pauses": [{"du": "2026-07-01", "au": "2026-07-08", "motif": "vacances"}],
        "exceptions": {
            "2026-06-17T18:00:00": {"etat": "annule", "motif": "grève"},
            "2026-06-24T18:00:00": {"etat": "deplace_en_ligne", "lien_en_ligne": "https://visio.example/a", "duree": "PT1H"},
            "2026-07-15T18:00:00": {"debut": "2026-07-16T20:00:00", "etat": "reprogramme"}
        }
    }));
    r.valider().expect("valid");
    // COUNT=8 counts the excluded and paused Wednesdays too (RFC 5545).
    check_occurrences(
        &r,
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        expect![[r#"
        2026-06-03T18:00:00 -> 2026-06-03T18:00:00 .. 2026-06-03T20:00:00 = 2026-06-03T16:00:00Z
        2026-06-06T10:00:00 -> 2026-06-06T10:00:00 .. 2026-06-06T12:00:00 = 2026-06-06T08:00:00Z
        2026-06-10T18:00:00 -> 2026-06-10T18:00:00 .. 2026-06-10T20:00:00 = 2026-06-10T16:00:00Z RETIRÉE Exclue
        2026-06-17T18:00:00 -> 2026-06-17T18:00:00 .. 2026-06-17T20:00:00 = 2026-06-17T16:00:00Z Annule
        2026-06-24T18:00:00 -> 2026-06-24T18:00:00 .. 2026-06-24T19:00:00 = 2026-06-24T16:00:00Z DeplaceEnLigne lien=https://visio.example/a
        2026-07-01T18:00:00 -> 2026-07-01T18:00:00 .. 2026-07-01T20:00:00 = 2026-07-01T16:00:00Z RETIRÉE EnPause { motif: Some("vacances") }
        2026-07-08T18:00:00 -> 2026-07-08T18:00:00 .. 2026-07-08T20:00:00 = 2026-07-08T16:00:00Z RETIRÉE EnPause { motif: Some("vacances") }
        2026-07-15T18:00:00 -> 2026-07-16T20:00:00 .. 2026-07-16T22:00:00 = 2026-07-16T18:00:00Z Reprogramme déplacée
        2026-07-22T18:00:00 -> 2026-07-22T18:00:00 .. 2026-07-22T20:00:00 = 2026-07-22T16:00:00Z
    "#]],
    );
    let gardees = r.occurrences(t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).expect("valid");
    assert_eq!(gardees.len(), 6, "8 rule occurrences + 1 added - 1 excluded - 2 paused");
    assert!(gardees.iter().any(|o| o.etat == EtatOccurrence::Annule), "cancelled occurrences stay listed");
    assert_eq!(r.verifier_origine("2026-06-24T18:00:00"), Ok(()));
    assert_eq!(r.verifier_origine("2026-06-06T10:00:00"), Ok(()), "an added date is an occurrence");
    expect![[r#"
        Err(OrigineInconnue(DateHeure(2026-06-25T18:00:00)))
        Err(OrigineInconnue(DateHeure(2026-07-29T18:00:00)))
        Err(OrigineInvalide("2026-06-24T18:00"))"#]]
    .assert_eq(&format!(
        "{:?}\n{:?}\n{:?}",
        r.verifier_origine("2026-06-25T18:00:00"),
        r.verifier_origine("2026-07-29T18:00:00"),
        r.verifier_origine("2026-06-24T18:00")
    ));
}

#[test]
fn splitting_a_series_partitions_it() {
    let r = rythme(json!({
        "debut": "2026-01-07T18:00:00", "duree": "PT2H",
        "regle": {"freq": "WEEKLY", "par_jour": ["WE"], "nombre": 10},
        "ajouts": ["2026-01-10T10:00:00", "2026-03-07T10:00:00"],
        "exclusions": ["2026-01-14T18:00:00", "2026-02-25T18:00:00"],
        "pauses": [{"du": "2026-02-09", "au": "2026-02-20"}],
        "exceptions": {
            "2026-01-21T18:00:00": {"etat": "annule"},
            "2026-03-04T18:00:00": {"lieu": "salle des fêtes"}
        }
    }));
    r.valider().expect("valid");
    let avant: Vec<DateHeure> = r
        .occurrences(t("2025-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z"))
        .expect("valid")
        .iter()
        .map(|o| o.origine)
        .collect();
    let (ancien, nouveau) = r.scinder("2026-02-11T18:00:00", "action-1").expect("splits");
    ancien.valider().expect("old series valid");
    nouveau.valider().expect("new series valid");
    expect![[r#"
        {"debut":"2026-01-07T18:00:00","fuseau":"Europe/Paris","duree":"PT2H","regle":{"freq":"WEEKLY","interval":1,"par_jour":["WE"],"jusqu_au":"2026-02-04T18:00:00"},"ajouts":["2026-01-10T10:00:00"],"exclusions":["2026-01-14T18:00:00"],"pauses":[{"du":"2026-02-09","au":"2026-02-20"}],"exceptions":{"2026-01-21T18:00:00":{"etat":"annule"}},"serie_precedente":null}
        {"debut":"2026-02-11T18:00:00","fuseau":"Europe/Paris","duree":"PT2H","regle":{"freq":"WEEKLY","interval":1,"par_jour":["WE"],"nombre":5},"ajouts":["2026-03-07T10:00:00"],"exclusions":["2026-02-25T18:00:00"],"pauses":[{"du":"2026-02-09","au":"2026-02-20"}],"exceptions":{"2026-03-04T18:00:00":{"lieu":"salle des fêtes"}},"serie_precedente":"action-1"}"#]].assert_eq(&format!(
        "{}\n{}",
        serde_json::to_string(&ancien).expect("json"),
        serde_json::to_string(&nouveau).expect("json")
    ));
    // Together, the two series have exactly the occurrences of the original.
    let mut apres: Vec<DateHeure> = [ancien, nouveau]
        .iter()
        .flat_map(|s| s.occurrences(t("2025-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).expect("valid"))
        .map(|o| o.origine)
        .collect();
    apres.sort();
    assert_eq!(apres, avant);

    let erreurs = [
        r.scinder("2026-01-07T18:00:00", "x").map(|_| ()),
        r.scinder("2026-02-12T18:00:00", "x").map(|_| ()),
        r.scinder("2026-03-18T18:00:00", "x").map(|_| ()),
        r.scinder("demain", "x").map(|_| ()),
        Rythme::ponctuel(r.debut, r.duree).scinder("2026-01-07T18:00:00", "x").map(|_| ()),
    ];
    expect![[r#"[Err(ScissionAuDebut), Err(OrigineInconnue(DateHeure(2026-02-12T18:00:00))), Err(OrigineInconnue(DateHeure(2026-03-18T18:00:00))), Err(OrigineInvalide("demain")), Err(SansRegle)]"#]].assert_eq(&format!("{erreurs:?}"));
}

#[test]
fn splitting_an_open_ended_series_ends_the_old_one_at_the_previous_occurrence() {
    let r = rythme(json!({
        "debut": "2026-01-03T10:00:00", "duree": "PT2H", "confirmer_avant": "2026-12-31",
        "regle": {"freq": "MONTHLY", "par_jour": ["1SA"]}
    }));
    r.valider().expect("valid");
    let (ancien, nouveau) = r.scinder("2026-05-02T10:00:00", "a1").expect("splits");
    expect![[r#"
        Le 1er samedi du mois, de 10⍽h à 12⍽h, jusqu'au 4 avril 2026
        Le 1er samedi du mois, de 10⍽h à 12⍽h"#]]
    .assert_eq(&visible(&format!("{}\n{}", ancien.phrase(), nouveau.phrase())));
    assert_eq!(nouveau.serie_precedente.as_deref(), Some("a1"));
}

#[test]
fn a_rule_that_never_matches_terminates() {
    // The 31st of February: refused by validation, and bounded when expanded
    // anyway.
    let r = Rythme {
        regle: Some("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31;UNTIL=99991231".parse().expect("valid subset")),
        ..Rythme::ponctuel("2026-02-28T10:00:00".parse().expect("valid"), Duree::minutes(60))
    };
    assert_eq!(r.valider(), Err(RythmeError::DebutHorsRegle(r.debut)));
    let occ = r.occurrences(t("2026-01-01T00:00:00Z"), t("9999-01-01T00:00:00Z")).expect("valid zone");
    assert!(occ.is_empty());
    assert_eq!(
        r.verifier_origine("2027-02-28T10:00:00"),
        Err(RythmeError::OrigineInconnue("2027-02-28T10:00:00".parse().expect("valid")))
    );
}

#[test]
fn french_sentences() {
    let cas = [
        json!({"debut": "2025-09-06T18:30:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["1SA"], "jusqu_au": "2026-06-27"}, "pauses": [{"du": "2026-07-01", "au": "2026-08-31"}]}),
        json!({"debut": "2025-09-03T18:00:00", "duree": "PT2H", "regle": {"freq": "WEEKLY", "par_jour": ["WE"], "nombre": 10}}),
        json!({"debut": "2025-09-03T18:00:00", "duree": "PT2H", "regle": {"freq": "WEEKLY", "par_jour": ["WE", "SA"], "nombre": 10}}),
        json!({"debut": "2025-09-02T18:00:00", "duree": "PT1H30M", "regle": {"freq": "WEEKLY", "interval": 2, "par_jour": ["TU"], "nombre": 10}}),
        json!({"debut": "2025-09-02T18:00:00", "duree": "PT1H", "regle": {"freq": "WEEKLY", "interval": 3, "nombre": 4}}),
        json!({"debut": "2025-09-26T19:00:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["-1FR"], "nombre": 10}}),
        json!({"debut": "2025-09-02T18:00:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["1TU", "3TU"], "nombre": 10}}),
        json!({"debut": "2025-09-02T18:00:00", "duree": "PT2H", "regle": {"freq": "MONTHLY", "par_jour": ["1TU", "-1TH"], "nombre": 10}}),
        json!({"debut": "2026-05-30T09:00:00", "duree": "PT4H", "regle": {"freq": "YEARLY", "par_mois": [5], "par_jour": ["-1SA"], "nombre": 3}}),
        json!({"debut": "2025-09-15T12:00:00", "duree": "PT45M", "regle": {"freq": "MONTHLY", "par_jour_du_mois": [15], "nombre": 10}}),
        json!({"debut": "2025-09-01T12:00:00", "duree": "PT45M", "regle": {"freq": "MONTHLY", "par_jour_du_mois": [1, 15], "nombre": 10}}),
        json!({"debut": "2025-09-30T17:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "par_jour_du_mois": [-1], "nombre": 10}}),
        json!({"debut": "2025-09-15T17:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "par_jour_du_mois": [15, -1], "nombre": 10}}),
        json!({"debut": "2025-09-15T17:00:00", "duree": "PT1H", "regle": {"freq": "MONTHLY", "interval": 3, "nombre": 4}}),
        json!({"debut": "2026-04-04T09:00:00", "duree": "PT3H", "regle": {"freq": "MONTHLY", "par_mois": [4, 5, 6, 7, 8, 9, 10], "par_jour": ["1SA"], "nombre": 7}}),
        json!({"debut": "2026-04-01T09:00:00", "duree": "PT3H", "regle": {"freq": "MONTHLY", "par_mois": [4, 6], "par_jour": ["WE"], "nombre": 7}}),
        json!({"debut": "2025-09-01T07:05:00", "duree": "PT25M", "regle": {"freq": "DAILY", "nombre": 10}}),
        json!({"debut": "2025-09-01T07:00:00", "duree": "PT25M", "regle": {"freq": "DAILY", "interval": 2, "jusqu_au": "2025-10-01T07:00:00"}}),
        json!({"debut": "2026-07-14T22:00:00", "duree": "PT3H", "regle": {"freq": "YEARLY", "par_mois": [7], "par_jour_du_mois": [14], "jusqu_au": "2030-07-15T00:00:00Z"}}),
        json!({"debut": "2026-02-28T10:00:00", "duree": "PT1H", "regle": {"freq": "YEARLY", "par_mois": [2, 8], "par_jour_du_mois": [-1], "nombre": 4}}),
        json!({"debut": "2026-05-01T10:00:00", "duree": "PT1H", "regle": {"freq": "YEARLY", "interval": 2, "nombre": 4}}),
        json!({"debut": "2025-09-03T18:30:00", "duree": "PT2H"}),
        json!({"debut": "2025-10-01T09:00:00", "duree": "PT26H"}),
        json!({"debut": "2025-09-03T18:00:00", "duree": "PT2H", "regle": {"freq": "WEEKLY", "nombre": 40},
               "pauses": [{"du": "2025-11-11", "au": "2025-11-11"}, {"du": "2025-12-20", "au": "2026-01-04"}]}),
    ];
    let rendu: Vec<String> = cas
        .into_iter()
        .map(|v| {
            let r = rythme(v);
            r.valider().expect("valid");
            visible(&r.phrase())
        })
        .collect();
    expect![[r#"
        Le 1er samedi du mois, de 18⍽h⍽30 à 20⍽h⍽30, jusqu'au 27 juin 2026 (pause du 1er juillet au 31 août)
        Chaque semaine le mercredi, de 18⍽h à 20⍽h, 10 fois
        Chaque semaine le mercredi et le samedi, de 18⍽h à 20⍽h, 10 fois
        Tous les 15 jours le mardi, de 18⍽h à 19⍽h⍽30, 10 fois
        Toutes les 3 semaines le mardi, de 18⍽h à 19⍽h, 4 fois
        Le dernier vendredi du mois, de 19⍽h à 21⍽h, 10 fois
        Les 1er et 3e mardis du mois, de 18⍽h à 20⍽h, 10 fois
        Le 1er mardi et le dernier jeudi du mois, de 18⍽h à 20⍽h, 10 fois
        Chaque année, le dernier samedi de mai, de 9⍽h à 13⍽h, 3 fois
        Le 15 de chaque mois, de 12⍽h à 12⍽h⍽45, 10 fois
        Les 1er et 15 de chaque mois, de 12⍽h à 12⍽h⍽45, 10 fois
        Le dernier jour du mois, de 17⍽h à 18⍽h, 10 fois
        Le 15 et le dernier jour du mois, de 17⍽h à 18⍽h, 10 fois
        Le 15 de chaque mois, tous les 3 mois, de 17⍽h à 18⍽h, 4 fois
        Le 1er samedi du mois, d'avril à octobre, de 9⍽h à 12⍽h, 7 fois
        Tous les mercredis, en avril et juin, de 9⍽h à 12⍽h, 7 fois
        Tous les jours, de 7⍽h⍽05 à 7⍽h⍽30, 10 fois
        Tous les 2 jours, de 7⍽h à 7⍽h⍽25, jusqu'au 1er octobre 2025
        Chaque année, le 14 juillet, de 22⍽h à 1⍽h, jusqu'au 15 juillet 2030
        Chaque année, le dernier jour de février et d'août, de 10⍽h à 11⍽h, 4 fois
        Tous les 2 ans, le 1er mai, de 10⍽h à 11⍽h, 4 fois
        Le mercredi 3 septembre 2025, de 18⍽h⍽30 à 20⍽h⍽30
        Le mercredi 1er octobre 2025, à 9⍽h, pendant 26⍽h
        Chaque semaine le mercredi, de 18⍽h à 20⍽h, 40 fois (pauses le 11 novembre et du 20 décembre 2025 au 4 janvier 2026)"#]].assert_eq(&rendu.join("\n"));
}

#[test]
fn export_writes_until_in_utc() {
    let r = rythme(json!({
        "debut": "2026-01-07T18:00:00", "fuseau": "America/Cayenne", "duree": "PT2H",
        "regle": {"freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-06-24"}
    }));
    expect!["FREQ=WEEKLY;BYDAY=WE;UNTIL=20260625T025959Z"]
        .assert_eq(&r.regle_ics().expect("valid").expect("recurring"));
}

/// A sentence with its no-break spaces shown as "⍽", so that expectations
/// say where they are.
fn visible(texte: &str) -> String {
    texte.replace(super::mots::ESPACE, "⍽")
}

#[test]
fn the_browsers_french_zones_match_the_full_database() {
    use crate::rythme::{FUSEAUX, fuseau, fuseau_francais};
    assert_eq!(FUSEAUX.len(), 16);
    for nom in FUSEAUX {
        let francais = fuseau_francais(nom).unwrap_or_else(|| panic!("{nom} compiled in"));
        let complet = fuseau(nom).unwrap_or_else(|| panic!("{nom} in the database"));
        assert_eq!(francais.iana_name(), Some(*nom));
        // Every 12 hours from 2000 to 2040: the same offset.
        let mut instant = t("2000-01-01T00:00:00Z");
        while instant < t("2040-01-01T00:00:00Z") {
            assert_eq!(francais.to_offset(instant), complet.to_offset(instant), "{nom} at {instant}");
            instant = instant.checked_add(jiff::SignedDuration::from_hours(12)).expect("in range");
        }
    }
    for autre in ["Europe/Berlin", "europe/paris", "UTC", ""] {
        assert!(fuseau_francais(autre).is_none(), "{autre} is not a French territory's zone");
    }
}

#[test]
fn a_taken_up_rhythm_starts_on_the_rules_first_date_from_the_chosen_day_in_any_zone() {
    use crate::rythme::Jour;
    // Each source starts on one of its rule's dates, in Paris.
    let regles = [
        ("hebdomadaire", "2025-10-01", json!({ "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-01-31" })),
        (
            "tous les quinze jours",
            "2025-10-04",
            json!({ "freq": "WEEKLY", "interval": 2, "par_jour": ["SA"], "nombre": 6 }),
        ),
        ("1er samedi", "2025-10-04", json!({ "freq": "MONTHLY", "par_jour": ["1SA"] })),
        ("dernier vendredi", "2025-10-31", json!({ "freq": "MONTHLY", "par_jour": ["-1FR"] })),
        ("hebdomadaire implicite", "2025-10-01", json!({ "freq": "WEEKLY" })),
    ];
    // Chosen: Tuesday 10 March 2026.
    let depart = Jour::new(2026, 3, 10).expect("day");
    let mut rendu = Vec::new();
    for fuseau in ["Europe/Paris", "America/Cayenne", "Indian/Reunion"] {
        for (nom, debut, regle) in &regles {
            let source = rythme(json!({
                "debut": format!("{debut}T18:30:00"), "fuseau": "Europe/Paris", "duree": "PT1H30M", "regle": regle,
                "confirmer_avant": "2026-06-30", "pauses": [{ "du": "2025-12-20", "au": "2026-01-04" }],
                "exceptions": { format!("{debut}T18:30:00"): { "etat": "annule" } }
            }));
            source.valider().expect("a valid source");
            let copie = source.reprendre(depart, fuseau).expect("taken up");
            copie.valider().expect("valid");
            assert!(copie.exclusions.is_empty() && copie.pauses.is_empty() && copie.exceptions.is_empty());
            let regle = copie.regle.as_ref().expect("rule");
            assert!(regle.nombre.is_none() && regle.jusqu_au.is_none(), "no end");
            assert_eq!(copie.duree, source.duree);
            let premiere =
                copie.occurrences(t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z")).expect("occurrences");
            rendu.push(format!(
                "{fuseau} {nom}: {} = {} / {} (confirmer avant {})",
                copie.debut,
                premiere[0].debut_utc,
                premiere[1].debut,
                copie.confirmer_avant.map(|j| j.to_string()).unwrap_or_default()
            ));
        }
    }
    expect![[r#"
        Europe/Paris hebdomadaire: 2026-03-11T18:30:00 = 2026-03-11T17:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)
        Europe/Paris tous les quinze jours: 2026-03-14T18:30:00 = 2026-03-14T17:30:00Z / 2026-03-28T18:30:00 (confirmer avant 2026-06-10)
        Europe/Paris 1er samedi: 2026-04-04T18:30:00 = 2026-04-04T16:30:00Z / 2026-05-02T18:30:00 (confirmer avant 2026-06-10)
        Europe/Paris dernier vendredi: 2026-03-27T18:30:00 = 2026-03-27T17:30:00Z / 2026-04-24T18:30:00 (confirmer avant 2026-06-10)
        Europe/Paris hebdomadaire implicite: 2026-03-11T18:30:00 = 2026-03-11T17:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)
        America/Cayenne hebdomadaire: 2026-03-11T18:30:00 = 2026-03-11T21:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)
        America/Cayenne tous les quinze jours: 2026-03-14T18:30:00 = 2026-03-14T21:30:00Z / 2026-03-28T18:30:00 (confirmer avant 2026-06-10)
        America/Cayenne 1er samedi: 2026-04-04T18:30:00 = 2026-04-04T21:30:00Z / 2026-05-02T18:30:00 (confirmer avant 2026-06-10)
        America/Cayenne dernier vendredi: 2026-03-27T18:30:00 = 2026-03-27T21:30:00Z / 2026-04-24T18:30:00 (confirmer avant 2026-06-10)
        America/Cayenne hebdomadaire implicite: 2026-03-11T18:30:00 = 2026-03-11T21:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)
        Indian/Reunion hebdomadaire: 2026-03-11T18:30:00 = 2026-03-11T14:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)
        Indian/Reunion tous les quinze jours: 2026-03-14T18:30:00 = 2026-03-14T14:30:00Z / 2026-03-28T18:30:00 (confirmer avant 2026-06-10)
        Indian/Reunion 1er samedi: 2026-04-04T18:30:00 = 2026-04-04T14:30:00Z / 2026-05-02T18:30:00 (confirmer avant 2026-06-10)
        Indian/Reunion dernier vendredi: 2026-03-27T18:30:00 = 2026-03-27T14:30:00Z / 2026-04-24T18:30:00 (confirmer avant 2026-06-10)
        Indian/Reunion hebdomadaire implicite: 2026-03-11T18:30:00 = 2026-03-11T14:30:00Z / 2026-03-18T18:30:00 (confirmer avant 2026-06-10)"#]]
    .assert_eq(&rendu.join("\n"));
}
