//! iCalendar (RFC 5545) feeds: the full feed with recurrence rules and
//! overrides, the expanded "compat" feed, and the national feed.
//!
//! Writing only: lines end with CRLF and are folded at 75 octets without
//! splitting a UTF-8 character; text values are escaped. `VTIMEZONE`s are
//! built from the tz database compiled in through jiff (see [`vtimezone`]).
//! Occurrences, pauses and exceptions come from the rhythm engine.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::{RendezVousPublic, Territoire, occurrences, public};
use crate::agenda::{Agenda, VisibiliteTerritoire, lien_valide};
use crate::rythme::{DateHeure, EtatOccurrence, Exception, Occurrence, Retrait, Timestamp, fuseau};

const PRODID: &str = "-//Essaim//Agenda des territoires en transition//FR";

/// The full feed of a territory: one `VEVENT` per public action or body with
/// a rhythm (`RRULE`, `RDATE`, `EXDATE`), one override `VEVENT` per
/// exception (`RECURRENCE-ID`), and a `VTIMEZONE` per zone used.
pub fn ics(territoire: &Territoire, agenda: &Agenda, now: Timestamp) -> String {
    let rdv = public(agenda);
    let mut cal = Calendrier::new(&format!("Agenda – {}", territoire.nom()));
    let fuseaux: BTreeSet<&str> = rdv.iter().map(|r| r.rythme.fuseau.as_str()).collect();
    for f in fuseaux {
        let dates: Vec<&RendezVousPublic<'_>> = rdv.iter().filter(|r| r.rythme.fuseau == f).collect();
        vtimezone(&mut cal.w, f, annees(&dates, now));
    }
    for r in &rdv {
        serie(&mut cal.w, territoire, r, now, None);
    }
    cal.fin()
}

/// The expanded feed: every occurrence starting in [`super::fenetre`] as its
/// own `VEVENT` (UID per occurrence, `DTSTART`/`DTEND` in UTC, no rule, no
/// time zone to resolve). Cancelled occurrences stay, with
/// `STATUS:CANCELLED` and "Annulé : " before the summary.
pub fn ics_compat(territoire: &Territoire, agenda: &Agenda, now: Timestamp) -> String {
    let rdv = public(agenda);
    let mut cal = Calendrier::new(&format!("Agenda – {} (occurrences)", territoire.nom()));
    let (du, au) = super::fenetre(now);
    for (r, o) in occurrences(&rdv, du, au) {
        occurrence_compat(&mut cal.w, territoire, r, &o, now);
    }
    cal.fin()
}

/// The national feed: the full feeds of every territory whose profile is
/// `visibilite: public` (others are skipped), in one calendar; each summary
/// ends with the territory's name in brackets.
pub fn ics_national(territoires: &[(Territoire, Agenda)], now: Timestamp) -> String {
    let publics: Vec<(&Territoire, Vec<RendezVousPublic<'_>>)> = territoires
        .iter()
        .filter(|(t, _)| t.profil.visibilite == VisibiliteTerritoire::Public)
        .map(|(t, a)| (t, public(a)))
        .collect();
    let mut cal = Calendrier::new("Agendas des territoires en transition");
    let mut par_fuseau: BTreeMap<&str, Vec<&RendezVousPublic<'_>>> = BTreeMap::new();
    for r in publics.iter().flat_map(|(_, rdv)| rdv) {
        par_fuseau.entry(r.rythme.fuseau.as_str()).or_default().push(r);
    }
    for (f, rdv) in par_fuseau {
        vtimezone(&mut cal.w, f, annees(&rdv, now));
    }
    for (t, rdv) in &publics {
        for r in rdv {
            serie(&mut cal.w, t, r, now, Some(t.nom()));
        }
    }
    cal.fin()
}

/// One action as its own calendar, for "add this rendez-vous to my
/// calendar": its series (or one-off) exactly as in [`ics`], or, with
/// `origine` (an occurrence's original local start, `AAAA-MM-JJTHH:MM:SS`),
/// that one occurrence as a single `VEVENT` with its exception applied (UID
/// as in [`ics_compat`], so it never overrides a subscribed series; local
/// start with its `TZID` and `VTIMEZONE`; a cancelled one `STATUS:CANCELLED`
/// and "Annulé : " before its summary). No `VALARM`: reminders are the
/// calendar app's choice.
///
/// `None` when the action is not in [`public`] (unknown, deleted, not
/// public, draft, no valid rhythm) or when `origine` is not one of its
/// occurrences (not a start of its rhythm, excluded or paused).
pub fn ics_action(
    territoire: &Territoire,
    agenda: &Agenda,
    id: &str,
    origine: Option<&str>,
    now: Timestamp,
) -> Option<String> {
    let rdv = public(agenda);
    let r = rdv.iter().find(|r| r.genre == super::Genre::Action && r.id == id)?;
    let rythme = r.rythme;
    let mut cal = Calendrier::new(r.titre);
    let Some(origine) = origine else {
        vtimezone(&mut cal.w, &rythme.fuseau, annees(&[r], now));
        serie(&mut cal.w, territoire, r, now, None);
        return Some(cal.fin());
    };
    rythme.verifier_origine(origine).ok()?;
    let origine: DateHeure = origine.parse().ok()?;
    if retirees(r).contains(&origine) {
        return None;
    }
    vtimezone(&mut cal.w, &rythme.fuseau, annees(&[r], now));
    let exception = rythme.exceptions.get(&origine.to_string());
    let etat = exception.and_then(|e| e.etat);
    let statut_serie = if r.a_reconfirmer(now) { "TENTATIVE" } else { "CONFIRMED" };
    let mut c = contenu(r, exception, etat.map_or(statut_serie, statut), None);
    if etat == Some(EtatOccurrence::Annule) {
        c.summary = format!("Annulé : {}", c.summary);
    }
    let tz_param = format!(";TZID={}", rythme.fuseau);
    entete(&mut cal.w, &r.uid_origine(territoire, origine), r, now);
    cal.w.ligne(&format!("DTSTART{tz_param}"), &locale(exception.and_then(|e| e.debut).unwrap_or(origine)));
    cal.w.ligne("DURATION", &exception.and_then(|e| e.duree).unwrap_or(rythme.duree).to_string());
    ecrire_contenu(&mut cal.w, territoire, r, &c);
    cal.w.ligne("END", "VEVENT");
    Some(cal.fin())
}

/// Content lines, CRLF-terminated and folded.
pub(super) struct Ecrivain {
    pub(super) texte: String,
}

impl Ecrivain {
    /// Writes `NOM[;PARAMS]:valeur` (the value already escaped), without
    /// any control character but HTAB (RFC 5545 §3.1: CR, LF and the others
    /// cannot appear in a content line; a CRLF from a record id or a URL
    /// would start a property, or a whole `VEVENT`, of its own), folded at
    /// 75 octets: continuation lines start with one space, which counts in
    /// their 75.
    pub(super) fn ligne(&mut self, nom: &str, valeur: &str) {
        let ligne: String =
            nom.chars().chain([':']).chain(valeur.chars()).filter(|c| *c == '\t' || !c.is_control()).collect();
        let mut place = 75;
        let mut debut = 0;
        let mut largeur = 0;
        for (i, c) in ligne.char_indices() {
            if largeur + c.len_utf8() > place {
                self.texte.push_str(&ligne[debut..i]);
                self.texte.push_str("\r\n ");
                debut = i;
                largeur = 0;
                place = 74;
            }
            largeur += c.len_utf8();
        }
        self.texte.push_str(&ligne[debut..]);
        self.texte.push_str("\r\n");
    }

    /// Writes a TEXT property, escaped.
    fn texte(&mut self, nom: &str, valeur: &str) {
        self.ligne(nom, &echapper(valeur));
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and
/// newlines; other control characters, which TEXT cannot hold, are dropped.
pub(super) fn echapper(texte: &str) -> String {
    let mut sortie = String::with_capacity(texte.len());
    let texte = texte.replace("\r\n", "\n");
    for c in texte.chars() {
        match c {
            '\\' => sortie.push_str("\\\\"),
            ';' => sortie.push_str("\\;"),
            ',' => sortie.push_str("\\,"),
            '\n' | '\r' => sortie.push_str("\\n"),
            '\t' => sortie.push('\t'),
            c if c.is_control() => {}
            c => sortie.push(c),
        }
    }
    sortie
}

struct Calendrier {
    w: Ecrivain,
}

impl Calendrier {
    fn new(nom: &str) -> Calendrier {
        let mut w = Ecrivain { texte: String::new() };
        w.ligne("BEGIN", "VCALENDAR");
        w.ligne("VERSION", "2.0");
        w.ligne("PRODID", PRODID);
        w.ligne("CALSCALE", "GREGORIAN");
        w.ligne("METHOD", "PUBLISH");
        w.texte("X-WR-CALNAME", nom);
        w.texte("NAME", nom);
        w.ligne("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
        w.ligne("X-PUBLISHED-TTL", "PT1H");
        Calendrier { w }
    }

    fn fin(mut self) -> String {
        self.w.ligne("END", "VCALENDAR");
        self.w.texte
    }
}

fn utc(t: Timestamp) -> String {
    format!("{}Z", DateHeure::de_instant(t, &TimeZone::UTC).civil().strftime("%Y%m%dT%H%M%S"))
}

fn locale(d: DateHeure) -> String {
    d.civil().strftime("%Y%m%dT%H%M%S").to_string()
}

fn millis(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

fn statut(etat: EtatOccurrence) -> &'static str {
    match etat {
        EtatOccurrence::AConfirmer | EtatOccurrence::Reporte => "TENTATIVE",
        EtatOccurrence::Annule => "CANCELLED",
        EtatOccurrence::Programme
        | EtatOccurrence::Reprogramme
        | EtatOccurrence::DeplaceEnLigne
        | EtatOccurrence::Complet => "CONFIRMED",
    }
}

/// What one `VEVENT` says beyond its dates.
struct Contenu<'a> {
    summary: String,
    description: String,
    lieu: Option<String>,
    statut: &'a str,
}

fn contenu<'a>(
    r: &RendezVousPublic<'_>,
    exception: Option<&Exception>,
    statut: &'a str,
    national: Option<&str>,
) -> Contenu<'a> {
    let mut summary = r.titre.to_owned();
    if let Some(t) = national {
        summary.push_str(&format!(" ({t})"));
    }
    let mut parties: Vec<String> = Vec::new();
    if let Some(t) = r.type_instance {
        parties.push(t.libelle().to_owned());
    }
    for p in [r.resume, r.description] {
        if !p.trim().is_empty() {
            parties.push(p.trim().to_owned());
        }
    }
    if r.rythme.regle.is_some() {
        parties.push(r.rythme.phrase());
    }
    if let Some(motif) = exception.and_then(|e| e.motif.as_deref()) {
        parties.push(format!("Pour cette date : {motif}"));
    }
    let lien_occurrence = exception.and_then(|e| e.lien_en_ligne.as_deref()).filter(|l| lien_valide(l));
    if let Some(lien) = lien_occurrence.or(r.lien_en_ligne.filter(|l| lien_valide(l))) {
        parties.push(format!("En ligne : {lien}"));
    }
    let lieu = exception.and_then(|e| e.lieu.clone()).or_else(|| r.lieu_texte());
    Contenu { summary, description: parties.join("\n\n"), lieu, statut }
}

fn ecrire_contenu(w: &mut Ecrivain, territoire: &Territoire, r: &RendezVousPublic<'_>, c: &Contenu<'_>) {
    w.texte("SUMMARY", &c.summary);
    if !c.description.is_empty() {
        w.texte("DESCRIPTION", &c.description);
    }
    if let Some(lieu) = &c.lieu {
        w.texte("LOCATION", lieu);
    }
    w.ligne("URL;VALUE=URI", &r.url(territoire));
    w.ligne("STATUS", c.statut);
    let categories = r.categories();
    if !categories.is_empty() {
        let valeurs: Vec<String> = categories.iter().map(|c| echapper(c)).collect();
        w.ligne("CATEGORIES", &valeurs.join(","));
    }
    w.ligne("CLASS", "PUBLIC");
}

fn entete(w: &mut Ecrivain, uid: &str, r: &RendezVousPublic<'_>, now: Timestamp) {
    w.ligne("BEGIN", "VEVENT");
    w.texte("UID", uid);
    w.ligne("DTSTAMP", &utc(now));
    if let Some(t) = r.suivi.cree_le.and_then(millis) {
        w.ligne("CREATED", &utc(t));
    }
    if let Some(t) = r.suivi.modifie_le.and_then(millis) {
        w.ligne("LAST-MODIFIED", &utc(t));
    }
    w.ligne("SEQUENCE", &r.sequence().to_string());
}

/// The master `VEVENT` of a series (or a one-off), then its overrides.
fn serie(w: &mut Ecrivain, territoire: &Territoire, r: &RendezVousPublic<'_>, now: Timestamp, national: Option<&str>) {
    let rythme = r.rythme;
    let tz_param = format!(";TZID={}", rythme.fuseau);
    let uid = r.uid(territoire);
    let retirees = retirees(r);
    let exceptions: BTreeMap<DateHeure, &Exception> = rythme
        .exceptions
        .iter()
        .filter_map(|(cle, e)| Some((cle.parse::<DateHeure>().ok()?, e)))
        .filter(|(o, _)| !retirees.contains(o) && rythme.verifier_origine(&o.to_string()).is_ok())
        .collect();
    let statut_serie = if r.a_reconfirmer(now) { "TENTATIVE" } else { "CONFIRMED" };

    let Some(regle) = rythme.regle_ics().ok() else { return };
    match regle {
        None => {
            // A one-off: its exception, if any, is applied to the event itself.
            if retirees.contains(&rythme.debut) {
                return;
            }
            let exception = exceptions.get(&rythme.debut).copied();
            let debut = exception.and_then(|e| e.debut).unwrap_or(rythme.debut);
            let duree = exception.and_then(|e| e.duree).unwrap_or(rythme.duree);
            let etat = exception.and_then(|e| e.etat).map_or(statut_serie, statut);
            entete(w, &uid, r, now);
            w.ligne(&format!("DTSTART{tz_param}"), &locale(debut));
            w.ligne("DURATION", &duree.to_string());
            ecrire_contenu(w, territoire, r, &contenu(r, exception, etat, national));
            w.ligne("END", "VEVENT");
        }
        Some(rrule) => {
            entete(w, &uid, r, now);
            w.ligne(&format!("DTSTART{tz_param}"), &locale(rythme.debut));
            w.ligne("DURATION", &rythme.duree.to_string());
            w.ligne("RRULE", &rrule);
            let ajouts: Vec<String> =
                rythme.ajouts.iter().filter(|a| !retirees.contains(a)).map(|a| locale(*a)).collect();
            if !ajouts.is_empty() {
                w.ligne(&format!("RDATE{tz_param}"), &ajouts.join(","));
            }
            if !retirees.is_empty() {
                let dates: Vec<String> = retirees.iter().map(|d| locale(*d)).collect();
                w.ligne(&format!("EXDATE{tz_param}"), &dates.join(","));
            }
            ecrire_contenu(w, territoire, r, &contenu(r, None, statut_serie, national));
            w.ligne("END", "VEVENT");
            for (origine, exception) in exceptions {
                entete(w, &uid, r, now);
                w.ligne(&format!("RECURRENCE-ID{tz_param}"), &locale(origine));
                w.ligne(&format!("DTSTART{tz_param}"), &locale(exception.debut.unwrap_or(origine)));
                w.ligne("DURATION", &exception.duree.unwrap_or(rythme.duree).to_string());
                let etat = exception.etat.map_or(statut_serie, statut);
                ecrire_contenu(w, territoire, r, &contenu(r, Some(exception), etat, national));
                w.ligne("END", "VEVENT");
            }
        }
    }
}

/// Original local starts removed from the series: exclusions, and the
/// occurrences (from the engine) and exception keys inside pauses.
pub(super) fn retirees(r: &RendezVousPublic<'_>) -> BTreeSet<DateHeure> {
    let rythme = r.rythme;
    let mut retirees: BTreeSet<DateHeure> = rythme.exclusions.iter().copied().collect();
    let Some(tz) = fuseau(&rythme.fuseau) else { return retirees };
    for pause in &rythme.pauses {
        // Instants around the pause's local days, with margin for any
        // offset; the engine says which occurrences the pause removes.
        let bornes = (DateHeure::le(pause.du, 0), DateHeure::fin_du_jour(pause.au));
        let (Some(du), Some(au)) = bornes else { continue };
        let (Some(du), Some(au)) = (du.instant(&tz), au.instant(&tz)) else { continue };
        let marge = jiff::SignedDuration::from_hours(72);
        let (du, au) = (du.checked_sub(marge).unwrap_or(du), au.checked_add(marge).unwrap_or(au));
        for o in rythme.occurrences_et_retraits(du, au).unwrap_or_default() {
            if matches!(o.retrait, Some(Retrait::EnPause { .. })) {
                retirees.insert(o.origine);
            }
        }
    }
    for cle in rythme.exceptions.keys() {
        if let Ok(o) = cle.parse::<DateHeure>()
            && rythme.pauses.iter().any(|p| p.du <= o.jour() && o.jour() <= p.au)
        {
            retirees.insert(o);
        }
    }
    retirees
}

fn occurrence_compat(
    w: &mut Ecrivain,
    territoire: &Territoire,
    r: &RendezVousPublic<'_>,
    o: &Occurrence,
    now: Timestamp,
) {
    let exception = r.rythme.exceptions.get(&o.origine.to_string());
    let mut c = contenu(r, exception, statut(o.etat), None);
    if o.etat == EtatOccurrence::Annule {
        c.summary = format!("Annulé : {}", c.summary);
    }
    entete(w, &r.uid_occurrence(territoire, o), r, now);
    w.ligne("DTSTART", &utc(o.debut_utc));
    w.ligne("DTEND", &utc(o.fin_utc));
    ecrire_contenu(w, territoire, r, &c);
    w.ligne("END", "VEVENT");
}

/// The calendar years a zone's `VTIMEZONE` must cover for these series: from
/// the year before the earliest local date written to two years after `now`
/// or after the latest date written, whichever is later. Rules still in
/// force at the end are written open-ended, so later years stay right.
fn annees(rdv: &[&RendezVousPublic<'_>], now: Timestamp) -> (i16, i16) {
    let mut annees: Vec<i16> = Vec::new();
    for r in rdv {
        let rythme = r.rythme;
        annees.push(rythme.debut.jour().annee());
        annees.extend(rythme.ajouts.iter().map(|d| d.jour().annee()));
        annees.extend(rythme.exceptions.values().filter_map(|e| e.debut).map(|d| d.jour().annee()));
        if let Some(j) = rythme.regle.as_ref().and_then(|r| r.jusqu_au) {
            annees.push(match j {
                crate::rythme::Jusqu::Jour(j) => j.annee(),
                crate::rythme::Jusqu::Locale(l) => l.jour().annee(),
                crate::rythme::Jusqu::Utc(t) => DateHeure::de_instant(t, &TimeZone::UTC).jour().annee(),
            });
        }
    }
    let maintenant = DateHeure::de_instant(now, &TimeZone::UTC).jour().annee();
    let premiere = annees.iter().copied().min().unwrap_or(maintenant).saturating_sub(1).max(1);
    let derniere = annees.iter().copied().max().unwrap_or(maintenant).max(maintenant).saturating_add(2).min(9998);
    (premiere, derniere)
}

/// One onset of an observance (a tz transition), and how it repeats so far.
struct Suite {
    /// Offset before, offset after, daylight time, abbreviation.
    cle: (i32, i32, bool, String),
    /// Local time of the first onset, in the offset before it.
    premier: DateTime,
    /// Local times of every onset of the run.
    dates: Vec<DateTime>,
    /// UTC instant of the last onset.
    dernier: Timestamp,
    /// Rank from the start of the month shared by every onset, if any.
    rang: Option<i8>,
    /// Every onset is the last such weekday of its month.
    dernier_du_mois: bool,
}

impl Suite {
    fn rang(d: DateTime) -> (i8, bool) {
        ((d.day() - 1) / 7 + 1, d.day() + 7 > d.days_in_month())
    }

    /// Does `d` continue this run: the next year, same month, weekday, local
    /// time and rank?
    fn prolonge(&self, d: DateTime) -> bool {
        let Some(dernier) = self.dates.last() else { return false };
        let (rang, fin) = Suite::rang(d);
        dernier.year() + 1 == d.year()
            && dernier.month() == d.month()
            && dernier.weekday() == d.weekday()
            && dernier.time() == d.time()
            && (self.rang == Some(rang) || (self.dernier_du_mois && fin))
    }
}

fn decalage(o: Offset) -> String {
    let s = o.seconds();
    let signe = if s < 0 { '-' } else { '+' };
    let s = s.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 { format!("{signe}{h:02}{m:02}") } else { format!("{signe}{h:02}{m:02}{sec:02}") }
}

/// Writes the `VTIMEZONE` of `nom` for the years `[premiere, derniere]`
/// from the compiled-in tz database.
///
/// The observance in force on 1 January of the first year is written as an
/// onset at that moment. Each transition after it is an onset; transitions
/// that repeat yearly with the same offsets, month, weekday rank and local
/// time (EU and US daylight-saving rules) are merged into one
/// sub-component with `RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=…`, ended by
/// `UNTIL` when the rule stopped before the last year, open-ended when it is
/// still in force; any other transition is its own onset (`DTSTART` only).
fn vtimezone(w: &mut Ecrivain, nom: &str, (premiere, derniere): (i16, i16)) {
    let Some(tz) = fuseau(nom) else { return };
    let bornes =
        (jiff::civil::date(premiere, 1, 1).at(0, 0, 0, 0), jiff::civil::date(derniere + 1, 1, 1).at(0, 0, 0, 0));
    let (Ok(debut), Ok(fin)) = (Offset::UTC.to_timestamp(bornes.0), Offset::UTC.to_timestamp(bornes.1)) else { return };
    let initial = tz.to_offset_info(debut);
    let mut avant = initial.offset();

    let mut suites: Vec<Suite> = Vec::new();
    for t in tz.following(debut).take_while(|t| t.timestamp() < fin) {
        let local = avant.to_datetime(t.timestamp());
        let cle = (avant.seconds(), t.offset().seconds(), t.dst().is_dst(), t.abbreviation().to_owned());
        // The latest run of the same observance, if this onset continues it.
        let suite = suites.iter_mut().rev().find(|s| s.cle == cle).filter(|s| s.prolonge(local));
        match suite {
            Some(s) => {
                let (rang, fin_du_mois) = Suite::rang(local);
                s.rang = s.rang.filter(|r| *r == rang);
                s.dernier_du_mois &= fin_du_mois;
                s.dates.push(local);
                s.dernier = t.timestamp();
            }
            None => {
                let (rang, fin_du_mois) = Suite::rang(local);
                suites.push(Suite {
                    cle,
                    premier: local,
                    dates: vec![local],
                    dernier: t.timestamp(),
                    rang: Some(rang),
                    dernier_du_mois: fin_du_mois,
                });
            }
        }
        avant = t.offset();
    }

    w.ligne("BEGIN", "VTIMEZONE");
    w.ligne("TZID", nom);
    let genre = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    let o = initial.offset();
    w.ligne("BEGIN", genre(initial.dst().is_dst()));
    w.ligne("DTSTART", &o.to_datetime(debut).strftime("%Y%m%dT%H%M%S").to_string());
    w.ligne("TZOFFSETFROM", &decalage(o));
    w.ligne("TZOFFSETTO", &decalage(o));
    w.texte("TZNAME", initial.abbreviation());
    w.ligne("END", genre(initial.dst().is_dst()));
    for s in &suites {
        let (de, vers, dst, abreviation) = &s.cle;
        let (Ok(de), Ok(vers)) = (Offset::from_seconds(*de), Offset::from_seconds(*vers)) else { continue };
        w.ligne("BEGIN", genre(*dst));
        w.ligne("DTSTART", &s.premier.strftime("%Y%m%dT%H%M%S").to_string());
        if s.dates.len() > 1 {
            let rang = if s.dernier_du_mois { -1 } else { s.rang.unwrap_or(1) };
            let jour = crate::rythme::JourSemaine::TOUS
                [usize::from(s.premier.weekday().to_monday_zero_offset().unsigned_abs())];
            let mut rrule = format!("FREQ=YEARLY;BYMONTH={};BYDAY={rang}{}", s.premier.month(), jour.code());
            let en_vigueur = s.dates.last().is_some_and(|d| d.year() >= derniere);
            if !en_vigueur {
                rrule.push_str(&format!(";UNTIL={}", utc(s.dernier)));
            }
            w.ligne("RRULE", &rrule);
        }
        w.ligne("TZOFFSETFROM", &decalage(de));
        w.ligne("TZOFFSETTO", &decalage(vers));
        w.texte("TZNAME", abreviation);
        w.ligne("END", genre(*dst));
    }
    w.ligne("END", "VTIMEZONE");
}
