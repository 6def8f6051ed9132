//! Days, dates and times in French words: the one place that writes them,
//! for the rhythm's sentence ([`super::Rythme::phrase`]), the public page
//! (`flux::html`) and, through the wasm client, the app's screens.
//!
//! French typography (Imprimerie nationale): "18 h 30", and "18 h" for a
//! whole hour (never "18:00" nor "18 h 00"); "1er" for the first day of a
//! month, no leading zero on days; month and day names in lower case. The
//! space inside a time and before a colon is the no-break space [`ESPACE`]
//! (U+00A0), so "18 h 30" and "Lieu :" never break across lines.
//!
//! It knows nothing of time zones or instants: it writes local wall times
//! and days as they are given.

use super::regle::JourSemaine;
use super::temps::{DateHeure, Jour};

/// The no-break space of every time ("18 h 30") and before every colon.
pub const ESPACE: char = '\u{a0}';

const MOIS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "janvier" … "décembre" for 1 … 12.
pub fn nom_mois(m: i8) -> &'static str {
    usize::try_from(m - 1).ok().and_then(|i| MOIS.get(i)).copied().unwrap_or("?")
}

/// "lundi" … "dimanche".
pub fn nom_jour(j: JourSemaine) -> &'static str {
    ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"][usize::from(j.lundi_zero())]
}

/// "1er", "2", … "31": the day of the month.
pub fn numero_jour(d: i8) -> String {
    if d == 1 { "1er".to_owned() } else { d.to_string() }
}

/// "18 h 30", "18 h", "7 h 05" from minutes since midnight (or a length in
/// minutes: "26 h").
pub fn heure_minutes(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (h, 0) => format!("{h}{ESPACE}h"),
        (h, m) => format!("{h}{ESPACE}h{ESPACE}{m:02}"),
    }
}

/// The time of a local wall time: "18 h 30", "18 h".
pub fn heure(d: DateHeure) -> String {
    heure_minutes(i64::from(d.heure()) * 60 + i64::from(d.minute()))
}

/// "3 septembre 2025", "1er juillet" (without the year).
pub fn date(j: Jour, annee: bool) -> String {
    let texte = format!("{} {}", numero_jour(j.jour()), nom_mois(j.mois()));
    if annee { format!("{texte} {}", j.annee()) } else { texte }
}

/// "samedi 1er décembre": a day with its weekday, without the year.
pub fn jour_en_lettres(j: Jour) -> String {
    format!("{} {}", nom_jour(j.jour_semaine()), date(j, false))
}

/// "mercredi 7 janvier 2026": a day with its weekday and year.
pub fn date_longue(j: Jour) -> String {
    format!("{} {}", nom_jour(j.jour_semaine()), date(j, true))
}

/// "samedi 6 décembre à 18 h 30": when a rendez-vous starts.
pub fn quand(d: DateHeure) -> String {
    format!("{} à {}", jour_en_lettres(d.jour()), heure(d))
}

/// "du jeudi 15 janvier au mardi 30 juin", "à partir du …", "jusqu'au …",
/// "dates à fixer": the days of a period whose ends may be unknown.
pub fn periode(debut: Option<Jour>, fin: Option<Jour>) -> String {
    match (debut, fin) {
        (Some(d), Some(f)) => format!("du {} au {}", jour_en_lettres(d), jour_en_lettres(f)),
        (Some(d), None) => format!("à partir du {}", jour_en_lettres(d)),
        (None, Some(f)) => format!("jusqu'au {}", jour_en_lettres(f)),
        (None, None) => "dates à fixer".to_owned(),
    }
}

/// "Mot" from "mot".
pub fn majuscule(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|p| p.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn dh(s: &str) -> DateHeure {
        s.parse().expect("a valid local time")
    }

    fn j(s: &str) -> Jour {
        s.parse().expect("a valid day")
    }

    #[test]
    fn heures_avec_espaces_insecables() {
        assert_eq!(heure(dh("2025-12-06T18:30:00")), "18\u{a0}h\u{a0}30");
        assert_eq!(heure(dh("2025-12-06T18:00:00")), "18\u{a0}h");
        assert_eq!(heure(dh("2025-12-06T07:05:00")), "7\u{a0}h\u{a0}05");
        assert_eq!(heure(dh("2025-12-06T00:00:00")), "0\u{a0}h");
        assert_eq!(heure_minutes(26 * 60), "26\u{a0}h");
    }

    #[test]
    fn jours_et_dates() {
        let rendu = [
            quand(dh("2025-12-06T18:30:00")),
            quand(dh("2025-12-01T18:00:00")),
            jour_en_lettres(j("2026-01-15")),
            date_longue(j("2026-01-01")),
            date(j("2025-09-03"), true),
            date(j("2025-07-01"), false),
            periode(Some(j("2026-01-15")), Some(j("2026-06-30"))),
            periode(Some(j("2026-03-01")), None),
            periode(None, Some(j("2026-06-30"))),
            periode(None, None),
            majuscule("mercredi"),
        ];
        let rendu: Vec<String> = rendu.iter().map(|s| s.replace(ESPACE, "⍽")).collect();
        expect![[r#"
            samedi 6 décembre à 18⍽h⍽30
            lundi 1er décembre à 18⍽h
            jeudi 15 janvier
            jeudi 1er janvier 2026
            3 septembre 2025
            1er juillet
            du jeudi 15 janvier au mardi 30 juin
            à partir du dimanche 1er mars
            jusqu'au mardi 30 juin
            dates à fixer
            Mercredi"#]]
        .assert_eq(&rendu.join("\n"));
    }
}
