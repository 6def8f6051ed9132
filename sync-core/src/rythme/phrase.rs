//! The rhythm in one French sentence, for the UI.
//!
//! Days, dates and times are written by [`super::mots`] (French
//! typography, no-break spaces in "18 h 30"); this adds the ranks ("1er",
//! "2e", "dernier" for -1) and the rule's wording. It does not list
//! exclusions, added dates or exceptions: the occurrence list shows those.

use jiff::tz::TimeZone;

use super::mots::{date, heure_minutes, majuscule, nom_jour, nom_mois, numero_jour};
use super::regle::{Frequence, JourRegle, JourSemaine, Jusqu, Regle};
use super::temps::{DateHeure, Jour};
use super::{Pause, Rythme};

pub(super) fn phrase(r: &Rythme) -> String {
    let mut texte = match &r.regle {
        None => format!("Le {} {}", nom_jour(r.debut.jour().jour_semaine()), date(r.debut.jour(), true)),
        Some(regle) => phrase_regle(regle, r.debut),
    };
    texte.push_str(", ");
    texte.push_str(&horaire(r.debut, r.duree.en_minutes()));
    if let Some(regle) = &r.regle {
        match regle.jusqu_au {
            Some(j) => {
                texte.push_str(", jusqu'au ");
                texte.push_str(&date(jour_de_fin(j, &r.fuseau), true));
            }
            None => {
                if let Some(n) = regle.nombre {
                    texte.push_str(&format!(", {n} fois"));
                }
            }
        }
    }
    if !r.pauses.is_empty() {
        // In calendar order, whatever order concurrent edits appended them.
        let mut ordre: Vec<&Pause> = r.pauses.iter().collect();
        ordre.sort_by_key(|p| (p.du, p.au));
        let pauses: Vec<String> = ordre.into_iter().map(periode).collect();
        let mot = if r.pauses.len() > 1 { "pauses" } else { "pause" };
        texte.push_str(&format!(" ({mot} {})", liste(&pauses)));
    }
    texte
}

fn jour_de_fin(j: Jusqu, fuseau: &str) -> Jour {
    match j {
        Jusqu::Jour(j) => j,
        Jusqu::Locale(l) => l.jour(),
        Jusqu::Utc(t) => {
            let tz = super::fuseau(fuseau).unwrap_or(TimeZone::UTC);
            DateHeure::de_instant(t, &tz).jour()
        }
    }
}

fn phrase_regle(regle: &Regle, debut: DateHeure) -> String {
    let i = regle.interval;
    let jour0 = debut.jour();
    match regle.freq {
        Frequence::Quotidienne if i == 1 => "Tous les jours".to_owned(),
        Frequence::Quotidienne => format!("Tous les {i} jours"),
        Frequence::Hebdomadaire => {
            let jours: Vec<JourSemaine> = if regle.par_jour.is_empty() {
                vec![jour0.jour_semaine()]
            } else {
                regle.par_jour.iter().map(|j| j.jour).collect()
            };
            let jours: Vec<String> = jours.iter().map(|j| format!("le {}", nom_jour(*j))).collect();
            let tete = match i {
                1 => "Chaque semaine".to_owned(),
                2 => "Tous les 15 jours".to_owned(),
                n => format!("Toutes les {n} semaines"),
            };
            format!("{tete} {}", liste(&jours))
        }
        Frequence::Mensuelle => {
            let mut texte = if !regle.par_jour.is_empty() {
                let (texte, tous) = jours_de_semaine(&regle.par_jour);
                if tous { texte } else { format!("{texte} du mois") }
            } else if !regle.par_jour_du_mois.is_empty() {
                jours_du_mois(&regle.par_jour_du_mois, true)
            } else {
                format!("Le {} de chaque mois", numero_jour(jour0.jour()))
            };
            if i > 1 {
                texte.push_str(&format!(", tous les {i} mois"));
            }
            if !regle.par_mois.is_empty() {
                texte.push_str(", ");
                texte.push_str(&saison(&regle.par_mois));
            }
            texte
        }
        Frequence::Annuelle => {
            let tete = if i == 1 { "Chaque année".to_owned() } else { format!("Tous les {i} ans") };
            let mois = if regle.par_mois.is_empty() { vec![jour0.mois()] } else { regle.par_mois.clone() };
            let noms: Vec<&str> = mois.iter().map(|&m| nom_mois(m)).collect();
            let jours = if !regle.par_jour.is_empty() {
                let (texte, _) = jours_de_semaine(&regle.par_jour);
                let de: Vec<String> = mois.iter().map(|&m| de_mois(m)).collect();
                format!("{} {}", minuscule(&texte), liste(&de))
            } else if !regle.par_jour_du_mois.is_empty() {
                let jours = minuscule(&jours_du_mois(&regle.par_jour_du_mois, false));
                if regle.par_jour_du_mois.iter().all(|&d| d < 0) {
                    let de: Vec<String> = mois.iter().map(|&m| de_mois(m)).collect();
                    format!("{jours} {}", liste(&de))
                } else {
                    format!("{jours} {}", liste(&noms))
                }
            } else {
                format!("le {} {}", numero_jour(jour0.jour()), liste(&noms))
            };
            format!("{tete}, {jours}")
        }
    }
}

/// "Le 1er samedi", "Les 1er et 3e mardis", "Le 1er mardi et le dernier
/// jeudi", "Tous les mercredis" (the flag says every one, no rank).
fn jours_de_semaine(jours: &[JourRegle]) -> (String, bool) {
    if jours.iter().all(|j| j.rang.is_none()) {
        let noms: Vec<String> = jours.iter().map(|j| format!("{}s", nom_jour(j.jour))).collect();
        return (format!("Tous les {}", liste(&noms)), true);
    }
    let meme_jour = jours.iter().all(|j| j.jour == jours[0].jour);
    if meme_jour && jours.len() > 1 {
        let rangs: Vec<String> = jours.iter().map(|j| rang(j.rang)).collect();
        return (format!("Les {} {}s", liste(&rangs), nom_jour(jours[0].jour)), false);
    }
    let parties: Vec<String> = jours.iter().map(|j| format!("le {} {}", rang(j.rang), nom_jour(j.jour))).collect();
    (majuscule(&liste(&parties)), false)
}

/// "Le 15 de chaque mois", "Les 1er et 15 de chaque mois", "Le dernier jour
/// du mois", "Le 15 et le dernier jour du mois"; without the month when
/// `du_mois` is false ("Le 14", "Le dernier jour").
fn jours_du_mois(jours: &[i8], du_mois: bool) -> String {
    let positifs: Vec<String> = jours.iter().filter(|&&d| d > 0).map(|&d| numero_jour(d)).collect();
    let dernier = jours.iter().any(|&d| d < 0);
    let suffixe_jours = if du_mois { " de chaque mois" } else { "" };
    let suffixe_dernier = if du_mois { " du mois" } else { "" };
    match (positifs.len(), dernier) {
        (0, _) => format!("Le dernier jour{suffixe_dernier}"),
        (1, false) => format!("Le {}{suffixe_jours}", positifs[0]),
        (_, false) => format!("Les {}{suffixe_jours}", liste(&positifs)),
        (_, true) => {
            let mut parties: Vec<String> = positifs.iter().map(|p| format!("le {p}")).collect();
            parties.push("le dernier jour".to_owned());
            format!("{}{suffixe_dernier}", majuscule(&liste(&parties)))
        }
    }
}

/// "de mai à août" for consecutive months, "en mai, juin et septembre"
/// otherwise.
fn saison(mois: &[i8]) -> String {
    let consecutifs = mois.windows(2).all(|w| w[1] == w[0] + 1);
    if consecutifs && mois.len() >= 3 {
        format!("{} à {}", de_mois(mois[0]), nom_mois(mois[mois.len() - 1]))
    } else {
        let noms: Vec<&str> = mois.iter().map(|&m| nom_mois(m)).collect();
        format!("en {}", liste(&noms))
    }
}

/// "de 18 h 30 à 20 h 30"; "à 9 h, pendant 26 h" past a day.
fn horaire(debut: DateHeure, minutes: u32) -> String {
    let depart = i64::from(debut.heure()) * 60 + i64::from(debut.minute());
    if minutes >= 24 * 60 {
        let duree = heure_minutes(i64::from(minutes));
        return format!("à {}, pendant {duree}", heure_minutes(depart));
    }
    let fin = (depart + i64::from(minutes)) % (24 * 60);
    format!("de {} à {}", heure_minutes(depart), heure_minutes(fin))
}

/// "du 1er juillet au 31 août", "le 11 novembre", with years only when the
/// pause spans two.
fn periode(p: &Pause) -> String {
    if p.du == p.au {
        return format!("le {}", date(p.du, false));
    }
    let annees = p.du.annee() != p.au.annee();
    format!("du {} au {}", date(p.du, annees), date(p.au, annees))
}

fn rang(r: Option<i8>) -> String {
    match r {
        Some(-1) => "dernier".to_owned(),
        Some(1) => "1er".to_owned(),
        Some(n) => format!("{n}e"),
        None => String::new(),
    }
}

/// "de mai", "d'avril", "d'août", "d'octobre".
fn de_mois(m: i8) -> String {
    let nom = nom_mois(m);
    if nom.starts_with(['a', 'o']) { format!("d'{nom}") } else { format!("de {nom}") }
}

/// "a", "a et b", "a, b et c".
fn liste<T: AsRef<str>>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [seul] => seul.as_ref().to_owned(),
        [tete @ .., dernier] => {
            let tete: Vec<&str> = tete.iter().map(AsRef::as_ref).collect();
            format!("{} et {}", tete.join(", "), dernier.as_ref())
        }
    }
}

fn minuscule(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|p| p.to_lowercase().chain(c).collect()).unwrap_or_default()
}
