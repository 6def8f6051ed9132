//! One public action's page, `/t/{id}/actions/{action}/`: what a visitor
//! needs to come (when in words, where, what it is), its next dates each
//! with « Ajouter à mon calendrier », where it comes from and who took it
//! up (essaimage), and « Reprendre dans un de mes territoires », which
//! opens the app on it for an organiser of another territory.
//!
//! The same rules as the territory's page (`html.rs`): French, no script,
//! every text escaped, states in words; only what [`public`] lets through
//! (a live, public, published action with a valid rhythm), so never its
//! carriers, needs, volunteers or contacts.
//!
//! Does not: decide access (the relay serves public territories only), or
//! take the action up (the app and `essaim essaimer` do, through
//! sync-core's `essaimer`).

use std::fmt::Write;

use jiff::tz::TimeZone;

use super::html::{CSS, Essaimage, echapper, inspire_de, quand, repris_par, resume};
use super::{Genre, Territoire, etat_en_mots, fenetre, public};
use crate::agenda::{Agenda, LICENCE_PAR_DEFAUT};
use crate::rythme::mots::majuscule;
use crate::rythme::{DateHeure, Timestamp, fuseau};

/// At most this many next dates on the page.
const DATES: usize = 8;

/// The page of action `action` of `territoire` at `now`, or `None` when it
/// is not a public rendez-vous (the relay's 404).
pub fn action_html(
    territoire: &Territoire,
    agenda: &Agenda,
    action: &str,
    now: Timestamp,
    essaimage: &Essaimage,
) -> Option<String> {
    let rdv = public(agenda);
    let r = rdv.iter().find(|r| r.genre == Genre::Action && r.id == action)?;
    let a = agenda.actions.get(action)?;
    let tz = fuseau(&r.rythme.fuseau).unwrap_or(TimeZone::UTC);
    let aujourdhui = DateHeure::de_instant(now, &fuseau(&territoire.profil.fuseau).unwrap_or(TimeZone::UTC)).jour();
    let (titre, nom, page) = (echapper(r.titre), echapper(territoire.nom()), echapper(&territoire.page()));
    let calendrier = format!("{}actions/{action}.ics", territoire.page());
    let mut h = String::with_capacity(4096);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{titre} – {nom}</title>\n\
         <link rel=\"alternate\" type=\"text/calendar\" href=\"{}\" title=\"Ce rendez-vous (iCalendar)\">\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header>\n<p><a href=\"{page}\">{nom}</a></p>\n<h1>{titre}</h1>\n\
         <p>{}{}</p>\n</header>\n<main>\n",
        echapper(&calendrier),
        a.nature.libelle(),
        if r.temps_fort { " · temps fort de l'année" } else { "" }
    );

    h.push_str("<section aria-labelledby=\"quand\">\n<h2 id=\"quand\">Quand et où</h2>\n");
    let (du, au) = fenetre(now);
    let dates = r.rythme.occurrences(du, au).unwrap_or_default();
    if r.rythme.regle.is_some() {
        let _ = writeln!(h, "<p>{}</p>", echapper(&majuscule(&r.rythme.phrase())));
    } else if let Some(o) = dates.first() {
        let _ = writeln!(h, "<p>{}</p>", echapper(&quand(o, aujourdhui)));
    } else {
        h.push_str("<p>Ce rendez-vous est passé.</p>\n");
    }
    if r.rythme.fuseau != territoire.profil.fuseau {
        let _ = writeln!(h, "<p>Heures de {}.</p>", echapper(&r.rythme.fuseau));
    }
    if let Some(lieu) = r.lieu_texte() {
        let _ = writeln!(h, "<p>Lieu\u{a0}: {}</p>", echapper(&lieu));
    }
    if let Some(lien) = r.lien_en_ligne {
        let _ = writeln!(h, "<p>En ligne\u{a0}: <a href=\"{0}\">{0}</a></p>", echapper(lien));
    }
    h.push_str("</section>\n");

    let mut presentation = String::new();
    for texte in [r.resume, r.description].iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        for paragraphe in texte.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            let _ = writeln!(presentation, "<p>{}</p>", echapper(&resume(paragraphe, 4000)));
        }
    }
    if !r.themes.is_empty() {
        let themes: Vec<&str> = r.themes.iter().map(|t| t.libelle()).collect();
        let _ = writeln!(presentation, "<p>Portes d'entrée\u{a0}: {}</p>", echapper(&themes.join(", ")));
    }
    if !a.publics.is_empty() {
        let publics: Vec<&str> = a.publics.iter().map(|p| p.libelle()).collect();
        let _ = writeln!(presentation, "<p>Pour\u{a0}: {}</p>", echapper(&publics.join(", ")));
    }
    if let Some(p) = r.inspire_de {
        presentation.push_str("<p>");
        inspire_de(&mut presentation, p, &territoire.base_url, essaimage.changement(action));
        presentation.push_str("</p>\n");
    }
    if !presentation.is_empty() {
        let _ = write!(
            h,
            "<section aria-labelledby=\"quoi\">\n<h2 id=\"quoi\">Présentation</h2>\n{presentation}</section>\n"
        );
    }

    h.push_str("<section aria-labelledby=\"calendrier\">\n<h2 id=\"calendrier\">Ajouter à mon calendrier</h2>\n<ul>\n");
    let tout = if r.rythme.regle.is_some() { "Toute la série" } else { "Ce rendez-vous" };
    let _ = writeln!(h, "<li><a href=\"{}\">{tout} (iCalendar)</a></li>", echapper(&calendrier));
    // A series' next dates, each a calendar of its own (a one-off is the
    // line above).
    for o in dates.iter().take(DATES).filter(|_| r.rythme.regle.is_some()) {
        let datetime = o.debut_utc.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
        let _ = write!(
            h,
            "<li><time datetime=\"{datetime}\">{}</time>\u{a0}: <a href=\"{}?occurrence={}\">ce jour-là seulement</a>",
            echapper(&quand(o, aujourdhui)),
            echapper(&calendrier),
            o.origine
        );
        if let Some(etat) = etat_en_mots(o) {
            let _ = write!(h, " <span class=\"etat\">({etat})</span>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n</section>\n");

    let _ = write!(
        h,
        "<section aria-labelledby=\"reprendre\">\n<h2 id=\"reprendre\">Reprendre dans votre territoire</h2>\n\
         <p>Vous organisez un territoire avec Essaim\u{a0}? Reprenez cette action dans son agenda\u{a0}: un brouillon \
         avec son titre, sa présentation, ses thèmes et son rythme, sans le lieu, les porteurs ni les besoins.</p>\n\
         <p><a href=\"{}/#/decouvrir/action/{}/{action}\">Reprendre dans un de mes territoires</a></p>\n",
        echapper(&territoire.base_url),
        echapper(&territoire.document)
    );
    if let Some(par) = repris_par(&essaimage.reprises, action) {
        let _ = writeln!(h, "<p>{}.</p>", majuscule(&par));
    }
    let _ = write!(
        h,
        "</section>\n</main>\n<footer>\n<p>Contenu sous licence {LICENCE_PAR_DEFAUT} · \
         <a href=\"{page}actions/{action}.json\">Données (JSON)</a> · <a href=\"{page}\">Tout l'agenda de {nom}</a></p>\n\
         </footer>\n</body>\n</html>\n"
    );
    Some(h)
}
