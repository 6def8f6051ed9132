//! The national agenda page `/agenda/`: the public rendez-vous of every
//! public territory over the next [`JOURS_A_VENIR`] days, highlights
//! (`temps_fort`) first, then day by day, each with its time, title, place,
//! territory and state in words. The directory's [`Filtre`] narrows it: the
//! theme on each rendez-vous, the other criteria on its territory.
//!
//! French HTML without script, every text escaped, dates in words by
//! `rythme::mots` in each territory's time zone.
//!
//! Does not: read documents, check access or do HTTP (the relay does).

use std::fmt::Write;

use super::annuaire::{CSS, formulaire, pluriel};
use super::html::echapper;
use super::{Filtre, JOURS_A_VENIR, RendezVousPublic, Territoire, etat_en_mots, occurrences, public};
use crate::agenda::{Agenda, VisibiliteTerritoire, departements_des_communes};
use crate::rythme::mots::{heure, jour_en_lettres, majuscule};
use crate::rythme::{DateHeure, Jour, Occurrence, Timestamp, fuseau};

/// At most this many rendez-vous on the page (the rest: "et N autres").
const MAX: usize = 300;

/// One rendez-vous of the page, with its territory.
struct Ligne<'a> {
    territoire: &'a Territoire,
    rdv: &'a RendezVousPublic<'a>,
    occurrence: Occurrence,
}

/// The national agenda at `now`, narrowed by `filtre`.
pub fn agenda_national_html(territoires: &[(Territoire, Agenda)], filtre: &Filtre, now: Timestamp) -> String {
    let au = now.checked_add(jiff::SignedDuration::from_hours(24 * JOURS_A_VENIR)).unwrap_or(Timestamp::MAX);
    let publics: Vec<(&Territoire, Vec<RendezVousPublic<'_>>)> = territoires
        .iter()
        .filter(|(t, _)| t.profil.visibilite == VisibiliteTerritoire::Public)
        .filter(|(t, _)| filtre.garde_territoire(&t.profil, &departements_des_communes(&t.profil.codes.insee)))
        .map(|(t, a)| (t, public(a)))
        .collect();
    let mut lignes: Vec<Ligne<'_>> = Vec::new();
    for (t, rdv) in &publics {
        for (r, o) in occurrences(rdv, now, au) {
            if filtre.theme.is_none_or(|theme| r.themes.contains(&theme)) && o.debut_utc >= now {
                lignes.push(Ligne { territoire: t, rdv: r, occurrence: o });
            }
        }
    }
    lignes.sort_by(|a, b| {
        (a.occurrence.debut_utc, a.territoire.nom(), a.rdv.titre).cmp(&(
            b.occurrence.debut_utc,
            b.territoire.nom(),
            b.rdv.titre,
        ))
    });
    let total = lignes.len();
    lignes.truncate(MAX);

    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Agenda des territoires en transition – Essaim</title>\n\
         <link rel=\"alternate\" type=\"text/calendar\" href=\"/agenda.ics\" title=\"Agenda (iCalendar)\">\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>Agenda des territoires en transition</h1>\n\
         <p>Les rendez-vous publics des {JOURS_A_VENIR} prochains jours. \
         <a href=\"/territoires/\">Voir les territoires</a></p>\n</header>\n<main>\n"
    );
    formulaire(&mut h, "/agenda/", "Filtrer l'agenda", filtre);
    let _ = writeln!(h, "<p>{}</p>", pluriel(total, "rendez-vous", "rendez-vous"));
    if total == 0 {
        h.push_str("<p>Aucun rendez-vous public ne répond à ces critères.</p>\n");
    }

    let forts: Vec<&Ligne<'_>> = lignes.iter().filter(|l| l.rdv.temps_fort).collect();
    if !forts.is_empty() {
        h.push_str("<section aria-labelledby=\"temps-forts\">\n<h2 id=\"temps-forts\">Temps forts</h2>\n<ul>\n");
        for l in &forts {
            ligne(&mut h, l, aujourdhui(l.territoire, now));
        }
        h.push_str("</ul>\n</section>\n");
    }
    let autres: Vec<&Ligne<'_>> = lignes.iter().filter(|l| !l.rdv.temps_fort).collect();
    if !autres.is_empty() {
        h.push_str("<section aria-labelledby=\"jour-par-jour\">\n<h2 id=\"jour-par-jour\">Jour par jour</h2>\n");
        let mut jour_courant: Option<Jour> = None;
        for l in &autres {
            let jour = local(l).map(|d| d.jour());
            if jour != jour_courant {
                if jour_courant.is_some() {
                    h.push_str("</ul>\n");
                }
                let titre = match (jour, aujourdhui(l.territoire, now)) {
                    (Some(j), Some(reference)) => majuscule(&jour_en_lettres(j, reference)),
                    _ => String::new(),
                };
                let _ = write!(h, "<h3>{}</h3>\n<ul>\n", echapper(&titre));
                jour_courant = jour;
            }
            ligne(&mut h, l, None);
        }
        if jour_courant.is_some() {
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }
    if total > MAX {
        let _ =
            writeln!(h, "<p>Et {} de plus\u{a0}: précisez les filtres.</p>", pluriel(total - MAX, "autre", "autres"));
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// The occurrence's local start, in its rhythm's time zone.
fn local(l: &Ligne<'_>) -> Option<DateHeure> {
    let tz = fuseau(&l.rdv.rythme.fuseau)?;
    Some(DateHeure::de_instant(l.occurrence.debut_utc, &tz))
}

/// Today where the territory is.
fn aujourdhui(t: &Territoire, now: Timestamp) -> Option<Jour> {
    Some(DateHeure::de_instant(now, &fuseau(&t.profil.fuseau)?).jour())
}

/// One rendez-vous: its day too when `reference` (today, for the year) is
/// given, time, title linking to its territory's page, territory, place,
/// state.
fn ligne(h: &mut String, l: &Ligne<'_>, reference: Option<Jour>) {
    let Some(debut) = local(l) else { return };
    let quand = match reference {
        Some(reference) => format!("{} à {}", majuscule(&jour_en_lettres(debut.jour(), reference)), heure(debut)),
        None => heure(debut),
    };
    let _ = write!(
        h,
        "<li><time datetime=\"{}\">{}</time> – <a href=\"{}\">{}</a> ({})",
        debut,
        echapper(&quand),
        echapper(&l.rdv.url(l.territoire)),
        echapper(l.rdv.titre),
        echapper(l.territoire.nom())
    );
    if let Some(lieu) =
        l.occurrence.lieu.as_deref().or(l.rdv.lieu.map(|x| x.libelle.as_str())).filter(|x| !x.trim().is_empty())
    {
        let _ = write!(h, ", {}", echapper(lieu));
    }
    if let Some(etat) = etat_en_mots(&l.occurrence) {
        let _ = write!(h, " <strong>({etat})</strong>");
    }
    h.push_str("</li>\n");
}
