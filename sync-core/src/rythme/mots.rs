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
//! A date carries its year only when it is not in the reference year
//! ("samedi 6 décembre", "mardi 1er septembre 2026"); a period reaching
//! outside the reference year carries it on both ends. The reference day
//! is the caller's ("today" where the reader is: the app passes the
//! device's local date, the relay's pages the day in the territory's time
//! zone), since the core reads no clock.
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

/// "mercredi 7 janvier 2026": a day with its weekday and year.
pub fn date_longue(j: Jour) -> String {
    format!("{} {}", nom_jour(j.jour_semaine()), date(j, true))
}

/// "samedi 1er décembre" in the reference year, "mardi 1er septembre 2026"
/// in another: a day with its weekday.
pub fn jour_en_lettres(j: Jour, reference: Jour) -> String {
    format!("{} {}", nom_jour(j.jour_semaine()), date(j, j.annee() != reference.annee()))
}

/// "samedi 6 décembre à 18 h 30" (with the year outside the reference
/// year): when a rendez-vous starts.
pub fn quand(d: DateHeure, reference: Jour) -> String {
    format!("{} à {}", jour_en_lettres(d.jour(), reference), heure(d))
}

/// "du jeudi 15 janvier au mardi 30 juin", "à partir du …", "jusqu'au …",
/// "dates à fixer": the days of a period whose ends may be unknown. Both
/// ends carry their year when either is outside the reference year.
pub fn periode(debut: Option<Jour>, fin: Option<Jour>, reference: Jour) -> String {
    let autre = [debut, fin].iter().flatten().any(|j| j.annee() != reference.annee());
    let ecrire = |j: Jour| format!("{} {}", nom_jour(j.jour_semaine()), date(j, autre));
    match (debut, fin) {
        (Some(d), Some(f)) => format!("du {} au {}", ecrire(d), ecrire(f)),
        (Some(d), None) => format!("à partir du {}", ecrire(d)),
        (None, Some(f)) => format!("jusqu'au {}", ecrire(f)),
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
        let ref_2025 = j("2025-12-06");
        let ref_2026 = j("2026-03-10");
        let rendu = [
            quand(dh("2025-12-06T18:30:00"), ref_2025),
            quand(dh("2025-12-01T18:00:00"), ref_2025),
            quand(dh("2026-01-03T09:05:00"), ref_2025),
            jour_en_lettres(j("2026-01-15"), ref_2026),
            jour_en_lettres(j("2026-01-15"), ref_2025),
            date_longue(j("2026-01-01")),
            date(j("2025-09-03"), true),
            date(j("2025-07-01"), false),
            periode(Some(j("2026-01-15")), Some(j("2026-06-30")), ref_2026),
            periode(Some(j("2026-09-01")), Some(j("2027-03-31")), ref_2026),
            periode(Some(j("2026-09-01")), Some(j("2027-03-31")), ref_2025),
            periode(Some(j("2026-03-01")), None, ref_2026),
            periode(Some(j("2027-03-01")), None, ref_2026),
            periode(None, Some(j("2026-06-30")), ref_2026),
            periode(None, None, ref_2026),
            majuscule("mercredi"),
        ];
        let rendu: Vec<String> = rendu.iter().map(|s| s.replace(ESPACE, "⍽")).collect();
        expect![[r#"
            samedi 6 décembre à 18⍽h⍽30
            lundi 1er décembre à 18⍽h
            samedi 3 janvier 2026 à 9⍽h⍽05
            jeudi 15 janvier
            jeudi 15 janvier 2026
            jeudi 1er janvier 2026
            3 septembre 2025
            1er juillet
            du jeudi 15 janvier au mardi 30 juin
            du mardi 1er septembre 2026 au mercredi 31 mars 2027
            du mardi 1er septembre 2026 au mercredi 31 mars 2027
            à partir du dimanche 1er mars
            à partir du lundi 1er mars 2027
            jusqu'au mardi 30 juin
            dates à fixer
            Mercredi"#]]
        .assert_eq(&rendu.join("\n"));
    }
}
