//! The territory's public page, server-rendered in French: the territory
//! (kind, départements, entry doors, networks, Pacte commitments, roadmap,
//! governance bodies), then its public agenda.
//!
//! Accessible without scripts: one `h1`, `h2` sections, `h3` per month,
//! lists, dates and times written out in French ("mercredi 7 janvier,
//! de 18 h 30 à 20 h 30", by `rythme::mots`, no-break spaces included; the
//! year only on dates outside the current year, the day of `now` in the
//! territory's time zone) inside `<time datetime>`, states in words, never
//! colour alone. Inline minimal CSS, no JavaScript, every text escaped. It
//! lists the rendez-vous of the next [`JOURS`] days (at most [`MAX`]), then
//! every public series with its French sentence, then the feed links.
//! Anchors (`#action-{id}`, the feeds' `URL`s) are on a series' entry and
//! on a one-off's line.

use std::fmt::Write;

use jiff::tz::TimeZone;

use super::{Genre, RendezVousPublic, Territoire, etat_en_mots, occurrences, public};
use crate::DocumentId;
use crate::agenda::{
    Agenda, Decision, Provenance, Publication, departements_des_communes, identifiant_valide, lien_valide,
};
use crate::rythme::mots::{date, heure, jour_en_lettres, majuscule, nom_mois};
use crate::rythme::{DateHeure, EtatOccurrence, Jour, Occurrence, Timestamp, fuseau};

/// How far ahead the page lists rendez-vous, in days.
const JOURS: i64 = 92;
/// At most this many rendez-vous in the upcoming list.
const MAX: usize = 150;
/// At most this many published decisions on the page.
const DECISIONS_MAX: usize = 30;

pub(super) const CSS: &str = "body{font:1rem/1.5 system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:1rem;color:#1a1a1a}\
a{color:#0b4f8a}h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem}h3{font-size:1.1rem}\
ul{padding-left:1.2rem}li{margin:.4rem 0}.etat{font-weight:bold}";

/// One copy of this territory's action in another territory
/// (essaimage): which action, and the other territory's name when it is
/// public (a private one is counted, never named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reprise {
    /// The id of this territory's action that was taken up.
    pub action: String,
    /// The name of the territory that took it up, if public.
    pub territoire: Option<String>,
}

/// What became of the action one of this territory's copies was taken up
/// from, since the copy was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changement {
    /// Edited after the copy was made.
    Modifiee,
    /// Deleted, or no longer public.
    Retiree,
}

/// What the relay knows of a territory's links with others through
/// essaimage: its actions others took up, and, for its own copies whose
/// source (a public territory of the same relay) changed since, how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Essaimage {
    /// Its actions taken up elsewhere.
    pub reprises: Vec<Reprise>,
    /// (id of its copy, what became of the copy's source).
    pub sources_changees: Vec<(String, Changement)>,
}

impl Essaimage {
    pub(super) fn changement(&self, copie: &str) -> Option<Changement> {
        self.sources_changees.iter().find(|(id, _)| id == copie).map(|(_, c)| *c)
    }
}

/// The page of a territory's public agenda at `now`.
pub fn html(territoire: &Territoire, agenda: &Agenda, now: Timestamp) -> String {
    html_avec_essaimage(territoire, agenda, now, &Essaimage::default())
}

/// [`html`], saying which of its public actions other territories took up
/// (« Repris par N territoires », naming the public ones) and which of its
/// copies' sources changed since.
pub fn html_avec_essaimage(territoire: &Territoire, agenda: &Agenda, now: Timestamp, essaimage: &Essaimage) -> String {
    let rdv = public(agenda);
    let nom = echapper(territoire.nom());
    let page = echapper(&territoire.page());
    let mut h = String::with_capacity(4096);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Agenda – {nom}</title>\n\
         <link rel=\"alternate\" type=\"text/calendar\" href=\"{page}agenda.ics\" title=\"Agenda (iCalendar)\">\n\
         <link rel=\"alternate\" type=\"application/ld+json\" href=\"{page}agenda.json\">\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>Agenda – {nom}</h1>\n"
    );
    let presentation = territoire.profil.presentation.trim();
    if !presentation.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", echapper(&resume(presentation, 400)));
    }
    h.push_str("</header>\n<main>\n");
    vitrine(&mut h, territoire, agenda, now);

    h.push_str("<section aria-labelledby=\"prochains\">\n<h2 id=\"prochains\">Prochains rendez-vous</h2>\n");
    let au = now.checked_add(jiff::SignedDuration::from_hours(24 * JOURS)).unwrap_or(Timestamp::MAX);
    let prochains = occurrences(&rdv, now, au);
    if prochains.is_empty() {
        h.push_str("<p>Aucun rendez-vous public dans les trois prochains mois.</p>\n");
    }
    let zone_territoire = territoire.profil.fuseau.as_str();
    // Today where the territory is: dates in its year go without one.
    let aujourdhui = DateHeure::de_instant(now, &fuseau(zone_territoire).unwrap_or(TimeZone::UTC)).jour();
    let mut mois_courant = None;
    let mut ancres_posees = std::collections::BTreeSet::new();
    for (r, o) in prochains.iter().take(MAX) {
        let Some(tz) = fuseau(&r.rythme.fuseau) else { continue };
        let jour = o.debut.jour();
        if mois_courant != Some((jour.annee(), jour.mois())) {
            if mois_courant.is_some() {
                h.push_str("</ul>\n");
            }
            mois_courant = Some((jour.annee(), jour.mois()));
            let _ = write!(h, "<h3>{} {}</h3>\n<ul>\n", majuscule(nom_mois(jour.mois())), jour.annee());
        }
        // A one-off's anchor is its line here; a series' is in the next
        // section.
        let ancre = r.rythme.regle.is_none() && ancres_posees.insert(r.ancre());
        ligne(&mut h, r, o, &tz, territoire, ancre, aujourdhui);
    }
    if mois_courant.is_some() {
        h.push_str("</ul>\n");
    }
    if prochains.len() > MAX {
        let _ = writeln!(h, "<p>Et {} autres rendez-vous\u{a0}: voir l'agenda complet.</p>", prochains.len() - MAX);
    }
    h.push_str("</section>\n");

    let series: Vec<&RendezVousPublic<'_>> = rdv.iter().filter(|r| r.rythme.regle.is_some()).collect();
    if !series.is_empty() {
        h.push_str("<section aria-labelledby=\"reguliers\">\n<h2 id=\"reguliers\">Rendez-vous réguliers</h2>\n<ul>\n");
        for r in series {
            let _ = write!(
                h,
                "<li id=\"{}\"><strong><a href=\"{}\">{}</a></strong><br>",
                echapper(&r.ancre()),
                echapper(&r.lien_relatif()),
                echapper(r.titre)
            );
            h.push_str(&echapper(&r.rythme.phrase()));
            if r.rythme.fuseau != zone_territoire {
                let _ = write!(h, " (heure de {})", echapper(&r.rythme.fuseau));
            }
            if let Some(lieu) = r.lieu_texte() {
                let _ = write!(h, "<br>Lieu\u{a0}: {}", echapper(&lieu));
            }
            if let Some(lien) = r.lien_en_ligne.filter(|l| lien_valide(l)) {
                let _ = write!(h, "<br>En ligne\u{a0}: <a href=\"{0}\">{0}</a>", echapper(lien));
            }
            let texte = if r.resume.trim().is_empty() { r.description } else { r.resume };
            if !texte.trim().is_empty() {
                let _ = write!(h, "<br>{}", echapper(&resume(texte.trim(), 200)));
            }
            if let Some(p) = r.inspire_de {
                h.push_str("<br>");
                inspire_de(&mut h, p, &territoire.base_url, essaimage.changement(r.id));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n</section>\n");
    }
    repris(&mut h, &rdv, &essaimage.reprises);
    let _ = write!(
        h,
        "</main>\n<footer>\n<h2>S'abonner</h2>\n<ul>\n\
         <li><a href=\"{page}agenda.ics\">Agenda pour votre calendrier (iCalendar)</a></li>\n\
         <li><a href=\"{page}agenda-compat.ics\">Version compatible pour les calendriers qui affichent mal les \
         rendez-vous déplacés ou annulés</a></li>\n\
         <li><a href=\"{page}agenda.json\">Données ouvertes (JSON-LD schema.org)</a></li>\n\
         </ul>\n</footer>\n</body>\n</html>\n"
    );
    h
}

fn ligne(
    h: &mut String,
    r: &RendezVousPublic<'_>,
    o: &Occurrence,
    tz: &TimeZone,
    territoire: &Territoire,
    ancre: bool,
    aujourdhui: Jour,
) {
    let zone_territoire = territoire.profil.fuseau.as_str();
    let datetime = o.debut_utc.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    if ancre {
        let _ = write!(h, "<li id=\"{}\">", echapper(&r.ancre()));
    } else {
        h.push_str("<li>");
    }
    let _ = write!(h, "<time datetime=\"{datetime}\">{}</time>", echapper(&quand(o, aujourdhui)));
    if r.rythme.fuseau != zone_territoire {
        let _ = write!(h, " (heure de {})", echapper(&r.rythme.fuseau));
    }
    let _ = write!(h, "\u{a0}: <a href=\"{}\">{}</a>", echapper(&r.lien_relatif()), echapper(r.titre));
    if let Some(lieu) = o.lieu.clone().or_else(|| r.lieu_texte()) {
        let _ = write!(h, ", {}", echapper(&lieu));
    }
    if let Some(etat) = etat_en_mots(o) {
        let _ = write!(h, " <span class=\"etat\">({etat})</span>");
    }
    if let Some(motif) = &o.motif {
        let _ = write!(h, " – {}", echapper(motif));
    }
    h.push_str("</li>\n");
}

/// "Mercredi 7 janvier, de 18 h 30 à 20 h 30" (end on another day:
/// "jusqu'au jeudi 8 janvier à 1 h"; the year outside `aujourdhui`'s), in
/// [`crate::rythme::mots`]'s words.
pub(super) fn quand(o: &Occurrence, aujourdhui: Jour) -> String {
    let debut = format!("{}, de {}", majuscule(&jour_en_lettres(o.debut.jour(), aujourdhui)), heure(o.debut));
    if o.fin.jour() == o.debut.jour() {
        format!("{debut} à {}", heure(o.fin))
    } else {
        format!("{debut} jusqu'au {} à {}", jour_en_lettres(o.fin.jour(), aujourdhui), heure(o.fin))
    }
}

/// At most `max` characters, cut at a word with "…".
pub(super) fn resume(texte: &str, max: usize) -> String {
    if texte.chars().count() <= max {
        return texte.to_owned();
    }
    let coupe: String = texte.chars().take(max).collect();
    let coupe = coupe.rsplit_once(' ').map_or(coupe.as_str(), |(a, _)| a);
    format!("{coupe}…")
}

/// The territory itself, before its agenda: kind and départements, entry
/// doors, networks, Pacte commitments (by measure number: the official
/// titles are not in Essaim yet), the roadmap's phases, and the governance
/// bodies with their rhythm (never their members). A section only when it
/// has something to say.
fn vitrine(h: &mut String, territoire: &Territoire, agenda: &Agenda, now: Timestamp) {
    let p = &territoire.profil;
    h.push_str("<section aria-labelledby=\"territoire\">\n<h2 id=\"territoire\">Le territoire</h2>\n<ul>\n");
    let mut nature = p.type_territoire.libelle().to_owned();
    for d in departements_des_communes(&p.codes.insee) {
        let _ = write!(nature, " · {} ({})", d.nom, d.code);
    }
    let _ = writeln!(h, "<li>{}</li>", echapper(&nature));
    if !p.portes_entree.is_empty() {
        let portes: Vec<&str> = p.portes_entree.iter().map(|t| t.libelle()).collect();
        let _ = writeln!(h, "<li>Portes d'entrée\u{a0}: {}</li>", echapper(&portes.join(", ")));
    }
    if !p.reseaux.is_empty() {
        let reseaux: Vec<String> =
            p.reseaux.iter().map(|l| format!("{} ({})", l.reseau.libelle(), l.role.libelle().to_lowercase())).collect();
        let _ = writeln!(h, "<li>Réseaux\u{a0}: {}</li>", echapper(&reseaux.join(", ")));
    }
    if !p.engagements_pacte.is_empty() {
        let mesures: Vec<String> = p
            .engagements_pacte
            .iter()
            .map(|e| {
                format!("mesure {} (niveau {})", e.mesure.trim_start_matches('M').trim_start_matches('0'), e.niveau)
            })
            .collect();
        let _ = writeln!(h, "<li>Pacte pour la transition\u{a0}: {}</li>", echapper(&mesures.join(", ")));
    }
    h.push_str("</ul>\n</section>\n");

    let route = &agenda.feuille_de_route;
    if !route.phases.is_empty() {
        h.push_str(
            "<section aria-labelledby=\"feuille-de-route\">\n<h2 id=\"feuille-de-route\">Feuille de route</h2>\n",
        );
        if let (Some(du), Some(au)) = (&route.horizon_debut, &route.horizon_fin) {
            let _ = writeln!(h, "<p>Horizon\u{a0}: {} – {}</p>", echapper(du), echapper(au));
        }
        let mut phases: Vec<_> = route.phases.values().collect();
        phases.sort_by(|a, b| (a.debut.as_deref(), a.titre.as_str()).cmp(&(b.debut.as_deref(), b.titre.as_str())));
        h.push_str("<ul>\n");
        for phase in phases {
            let _ = write!(h, "<li><strong>{}</strong> ({})", echapper(&phase.titre), phase.statut.libelle());
            let jour = |d: &Option<String>| d.as_deref().and_then(|d| d.parse::<Jour>().ok());
            if let (Some(du), Some(au)) = (jour(&phase.debut), jour(&phase.fin)) {
                let _ = write!(h, "\u{a0}: du {} au {}", date(du, true), date(au, true));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n</section>\n");
    }

    let instances: Vec<_> = agenda.instances.values().filter(|i| !i.suivi.supprime).collect();
    let regles = p.comment_cest_decide.trim();
    if !instances.is_empty() || !regles.is_empty() {
        h.push_str("<section aria-labelledby=\"gouvernance\">\n<h2 id=\"gouvernance\">Gouvernance</h2>\n");
        if !regles.is_empty() {
            let _ = writeln!(h, "<h3>Qui décide quoi, et comment</h3>\n<p>{}</p>", echapper(&resume(regles, 2_000)));
        }
        h.push_str("<ul>\n");
        let au = now.checked_add(jiff::SignedDuration::from_hours(24 * JOURS)).unwrap_or(Timestamp::MAX);
        for i in instances {
            let _ =
                write!(h, "<li><strong>{}</strong> ({})", echapper(&i.nom), i.type_instance.libelle().to_lowercase());
            if let Some(r) = i.rythme.as_ref().filter(|r| r.valider().is_ok()) {
                let _ = write!(h, "\u{a0}: {}", echapper(&r.phrase()));
                // Its next meeting, in the territory's words.
                let prochaine = r
                    .occurrences(now, au)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|o| !matches!(o.etat, EtatOccurrence::Annule | EtatOccurrence::Reporte));
                if let Some(o) = prochaine {
                    let aujourdhui = fuseau(&territoire.profil.fuseau)
                        .map(|tz| DateHeure::de_instant(now, &tz).jour())
                        .unwrap_or_else(|| o.debut.jour());
                    let _ = write!(h, "<br>Prochaine réunion\u{a0}: {}", echapper(&quand(&o, aujourdhui)));
                }
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n</section>\n");
    }

    // Published decisions, newest first: what was decided, how, when.
    let mut decisions: Vec<_> =
        agenda.decisions.values().filter(|d| !d.suivi.supprime && d.publication == Publication::Publie).collect();
    decisions.sort_by(|a, b| {
        let date = |d: &Decision| d.issue.as_ref().and_then(|i| i.date.clone()).unwrap_or_default();
        date(b).cmp(&date(a)).then_with(|| a.titre.cmp(&b.titre))
    });
    if !decisions.is_empty() {
        h.push_str("<section aria-labelledby=\"decisions\">\n<h2 id=\"decisions\">Décisions</h2>\n<ul>\n");
        for d in decisions.into_iter().take(DECISIONS_MAX) {
            let _ = write!(h, "<li><strong>{}</strong> ({})", echapper(&d.titre), d.processus.libelle().to_lowercase());
            if let Some(issue) = &d.issue {
                let _ = write!(h, "<br>{}", echapper(&resume(&issue.enonce, 400)));
                if let Some(jour) = issue.date.as_deref().and_then(|j| j.parse::<Jour>().ok()) {
                    let _ = write!(h, " ({})", date(jour, true));
                }
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n</section>\n");
    }
}

/// « Repris par N territoires (A, B) » for each public action taken up elsewhere.
fn repris(h: &mut String, rdv: &[RendezVousPublic<'_>], reprises: &[Reprise]) {
    let lignes: Vec<String> = rdv
        .iter()
        .filter(|r| r.genre == Genre::Action)
        .filter_map(|r| {
            let par = repris_par(reprises, r.id)?;
            Some(format!("<li><a href=\"#{}\">{}</a>\u{a0}: {par}</li>\n", echapper(&r.ancre()), echapper(r.titre)))
        })
        .collect();
    if !lignes.is_empty() {
        h.push_str(
            "<section aria-labelledby=\"repris\">\n<h2 id=\"repris\">Repris par d'autres territoires</h2>\n<ul>\n",
        );
        lignes.iter().for_each(|l| h.push_str(l));
        h.push_str("</ul>\n</section>\n");
    }
}

/// « repris par N territoires (A, B) » (escaped), naming the public ones,
/// if others took `action` up.
pub(super) fn repris_par(reprises: &[Reprise], action: &str) -> Option<String> {
    let copies: Vec<&Reprise> = reprises.iter().filter(|x| x.action == action).collect();
    if copies.is_empty() {
        return None;
    }
    let mut noms: Vec<&str> = copies.iter().filter_map(|x| x.territoire.as_deref()).collect();
    noms.sort_unstable();
    noms.dedup();
    let nombre =
        if copies.len() == 1 { "1\u{a0}territoire".to_owned() } else { format!("{}\u{a0}territoires", copies.len()) };
    let qui = if noms.is_empty() { String::new() } else { format!(" ({})", echapper(&noms.join(", "))) };
    Some(format!("repris par {nombre}{qui}"))
}

/// « Inspiré de : <territoire> – <titre> », a link to the source action's
/// page when its ids are well-formed (they come from the document, which
/// anyone organising it may write), and what became of it since, if known.
pub(super) fn inspire_de(h: &mut String, p: &Provenance, base_url: &str, changement: Option<Changement>) {
    let texte = echapper(&format!("{} – {}", p.territoire_nom, p.titre));
    if p.territoire.parse::<DocumentId>().is_ok() && identifiant_valide(&p.action) {
        let lien = format!("{base_url}/t/{}/actions/{}/", p.territoire, p.action);
        let _ = write!(h, "Inspiré de\u{a0}: <a href=\"{}\">{texte}</a>", echapper(&lien));
    } else {
        let _ = write!(h, "Inspiré de\u{a0}: {texte}");
    }
    match changement {
        Some(Changement::Modifiee) => h.push_str(" (l'action d'origine a changé depuis)"),
        Some(Changement::Retiree) => h.push_str(" (l'action d'origine n'est plus publiée)"),
        None => {}
    }
}

/// Escapes text for HTML content and attribute values.
pub(super) fn echapper(texte: &str) -> String {
    let mut s = String::with_capacity(texte.len());
    for c in texte.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}
