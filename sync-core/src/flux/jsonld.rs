//! schema.org JSON-LD feeds (`Event`, `Schedule`, `Place`) and the national
//! list of territories.
//!
//! Only schema.org properties of the types used are written. Dates are
//! ISO 8601 local times with their offset (`2026-03-29T03:30:00+02:00`).
//! Expanded occurrences are each recurring event's `subEvent` (see the
//! parent module's docs).

use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::{RendezVousPublic, Territoire, public};
use crate::agenda::{Agenda, ModeParticipation, VisibiliteTerritoire, lien_valide};
use crate::rythme::{DateHeure, EtatOccurrence, Frequence, Jusqu, Occurrence, Timestamp, fuseau};

const SCHEMA: &str = "https://schema.org";

/// The territory's public agenda as a schema.org `ItemList` of `Event`s:
/// one per public action or body with a rhythm; recurring ones carry an
/// `eventSchedule` and, in `subEvent`, their occurrences of
/// [`super::fenetre`].
pub fn json_ld(territoire: &Territoire, agenda: &Agenda, now: Timestamp) -> Value {
    let (du, au) = super::fenetre(now);
    let mut liste = liste_territoire(territoire, agenda, du, au);
    if let Some(objet) = liste.as_object_mut() {
        let mut avec_contexte = Map::new();
        avec_contexte.insert("@context".into(), SCHEMA.into());
        avec_contexte.append(objet);
        return Value::Object(avec_contexte);
    }
    liste
}

/// How many rendez-vous [`apercu_json`] lists.
pub const APERCU_NOMBRE: usize = 8;

/// The preview of a first visit on a weak network (`/t/{id}/apercu.json`,
/// shown by the app before its wasm core arrives): the same `ItemList` as
/// [`json_ld`], but only the next [`APERCU_NOMBRE`] occurrences still to
/// come, each an `Event` as in `subEvent`, soonest first. A kilobyte or two
/// however large the agenda.
pub fn apercu_json(territoire: &Territoire, agenda: &Agenda, now: Timestamp) -> Value {
    let (du, au) = super::fenetre(now);
    let mut prochains: Vec<(Timestamp, &str, Value)> = Vec::new();
    for r in public(agenda) {
        let Some(tz) = fuseau(&r.rythme.fuseau) else { continue };
        let occurrences = if r.rythme.regle.is_none() {
            r.ponctuelle().into_iter().collect()
        } else {
            r.rythme.occurrences(du, au).unwrap_or_default()
        };
        for o in occurrences.iter().filter(|o| o.debut_utc >= now && o.debut_utc < au) {
            prochains.push((o.debut_utc, r.titre, sous_evenement(territoire, &r, o, &tz)));
        }
        // Only the soonest are kept: bounded whatever the agenda holds.
        if prochains.len() > 4 * APERCU_NOMBRE {
            prochains.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            prochains.truncate(APERCU_NOMBRE);
        }
    }
    prochains.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    prochains.truncate(APERCU_NOMBRE);
    let evenements: Vec<Value> = prochains.into_iter().map(|(_, _, e)| e).collect();
    json!({
        "@context": SCHEMA,
        "@type": "ItemList",
        "name": format!("Agenda – {}", territoire.nom()),
        "url": territoire.page(),
        "numberOfItems": evenements.len(),
        "itemListElement": evenements,
    })
}

/// The national feed: an `ItemList` whose items are the agendas of every
/// territory whose profile is `visibilite: public`, as [`json_ld`] without
/// `@context`, except that recurring events expand in `subEvent` only
/// their occurrences of the next [`super::JOURS_A_VENIR`] days (their
/// `eventSchedule` still says all of them; each territory's own feed has
/// twelve months). A year of every weekly action of a hundred territories
/// would be a gigabyte; this is the national agenda page's horizon.
pub fn json_ld_national(territoires: &[(Territoire, Agenda)], now: Timestamp) -> Value {
    let au = now.checked_add(jiff::SignedDuration::from_hours(24 * super::JOURS_A_VENIR)).unwrap_or(Timestamp::MAX);
    let listes: Vec<Value> = territoires
        .iter()
        .filter(|(t, _)| t.profil.visibilite == VisibiliteTerritoire::Public)
        .map(|(t, a)| liste_territoire(t, a, now, au))
        .collect();
    json!({
        "@context": SCHEMA,
        "@type": "ItemList",
        "name": "Agendas des territoires en transition",
        "numberOfItems": listes.len(),
        "itemListElement": listes,
    })
}

/// A territory's public events, recurring ones with their occurrences from
/// `du` to `au` in `subEvent`.
fn liste_territoire(territoire: &Territoire, agenda: &Agenda, du: Timestamp, au: Timestamp) -> Value {
    let rdv = public(agenda);
    let evenements: Vec<Value> = rdv.iter().filter_map(|r| evenement(territoire, r, du, au)).collect();
    json!({
        "@type": "ItemList",
        "name": format!("Agenda – {}", territoire.nom()),
        "url": territoire.page(),
        "numberOfItems": evenements.len(),
        "itemListElement": evenements,
    })
}

/// `2026-03-29T03:30:00+02:00`.
fn date(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn statut(o: &Occurrence) -> String {
    let nom = match o.etat {
        EtatOccurrence::Annule => "EventCancelled",
        EtatOccurrence::Reporte => "EventPostponed",
        EtatOccurrence::DeplaceEnLigne => "EventMovedOnline",
        EtatOccurrence::Reprogramme => "EventRescheduled",
        EtatOccurrence::Programme if o.deplacee => "EventRescheduled",
        EtatOccurrence::Programme | EtatOccurrence::AConfirmer | EtatOccurrence::Complet => "EventScheduled",
    };
    format!("{SCHEMA}/{nom}")
}

fn mode(m: ModeParticipation) -> String {
    let nom = match m {
        ModeParticipation::SurPlace => "OfflineEventAttendanceMode",
        ModeParticipation::EnLigne => "OnlineEventAttendanceMode",
        ModeParticipation::Mixte => "MixedEventAttendanceMode",
    };
    format!("{SCHEMA}/{nom}")
}

/// `location`: a `Place` (name, address as text), a `VirtualLocation`, or
/// both for a mixed event.
fn lieu(r: &RendezVousPublic<'_>, autre_lieu: Option<&str>, lien: Option<&str>, mode: ModeParticipation) -> Value {
    let mut lieux = Vec::new();
    if let Some(nom) = autre_lieu {
        lieux.push(json!({ "@type": "Place", "name": nom }));
    } else if let Some(l) = r.lieu.filter(|l| !(l.libelle.trim().is_empty() && l.adresse.trim().is_empty())) {
        let mut place = json!({ "@type": "Place", "name": l.libelle });
        if !l.adresse.trim().is_empty() {
            place["address"] = l.adresse.clone().into();
        }
        if let (Some(lat), Some(lon)) = (l.lat, l.lon) {
            place["geo"] = json!({ "@type": "GeoCoordinates", "latitude": lat, "longitude": lon });
        }
        lieux.push(place);
    }
    let lien = lien.filter(|l| lien_valide(l));
    let en_ligne = matches!(mode, ModeParticipation::EnLigne | ModeParticipation::Mixte) || lien.is_some();
    if let Some(url) = lien.filter(|_| en_ligne) {
        lieux.push(json!({ "@type": "VirtualLocation", "url": url }));
    }
    match lieux.len() {
        0 => Value::Null,
        1 => lieux.swap_remove(0),
        _ => Value::Array(lieux),
    }
}

fn evenement(territoire: &Territoire, r: &RendezVousPublic<'_>, du: Timestamp, au: Timestamp) -> Option<Value> {
    let rythme = r.rythme;
    let tz = fuseau(&rythme.fuseau)?;
    let mut e = Map::new();
    e.insert("@type".into(), "Event".into());
    e.insert("identifier".into(), r.uid(territoire).into());
    e.insert("name".into(), r.titre.into());
    let description = match (r.resume.trim(), r.description.trim(), r.type_instance) {
        (_, _, Some(t)) => t.libelle().to_owned(),
        ("", d, None) => d.to_owned(),
        (resume, _, None) => resume.to_owned(),
    };
    if !description.is_empty() {
        e.insert("description".into(), description.into());
    }
    e.insert("url".into(), r.url(territoire).into());
    e.insert("inLanguage".into(), "fr".into());
    let categories = r.categories();
    if !categories.is_empty() {
        e.insert("keywords".into(), categories.into());
    }
    e.insert("duration".into(), rythme.duree.to_string().into());

    // The first occurrence as the engine places it (a one-off's exception
    // applied), else the nominal start.
    let premiere = if rythme.regle.is_none() {
        r.ponctuelle()?
    } else {
        let debut_serie = rythme.debut.instant(&tz)?;
        let fin = debut_serie.checked_add(rythme.duree.signee()).ok()?;
        Occurrence {
            origine: rythme.debut,
            debut: rythme.debut,
            fin: DateHeure::de_instant(fin, &tz),
            debut_utc: debut_serie,
            fin_utc: fin,
            etat: EtatOccurrence::Programme,
            deplacee: false,
            lieu: None,
            lien_en_ligne: None,
            motif: None,
            retrait: None,
        }
    };
    e.insert("startDate".into(), date(premiere.debut_utc, &tz).into());
    e.insert("endDate".into(), date(premiere.fin_utc, &tz).into());
    e.insert("eventStatus".into(), statut(&premiere).into());
    e.insert("eventAttendanceMode".into(), mode(r.mode).into());
    let lien = premiere.lien_en_ligne.as_deref().or(r.lien_en_ligne);
    let location = lieu(r, premiere.lieu.as_deref(), lien, r.mode);
    if !location.is_null() {
        e.insert("location".into(), location);
    }

    if let Some(regle) = &rythme.regle {
        e.insert("eventSchedule".into(), horaire(r, regle, &tz));
        let sous: Vec<Value> = rythme
            .occurrences(du, au)
            .unwrap_or_default()
            .iter()
            .map(|o| sous_evenement(territoire, r, o, &tz))
            .collect();
        e.insert("subEvent".into(), sous.into());
    }
    Some(Value::Object(e))
}

fn sous_evenement(territoire: &Territoire, r: &RendezVousPublic<'_>, o: &Occurrence, tz: &TimeZone) -> Value {
    let mut e = json!({
        "@type": "Event",
        "identifier": r.uid_occurrence(territoire, o),
        "name": r.titre,
        "startDate": date(o.debut_utc, tz),
        "endDate": date(o.fin_utc, tz),
        "eventStatus": statut(o),
        "url": r.url(territoire),
    });
    if o.deplacee
        && let Some(avant) = o.origine.instant(tz)
    {
        e["previousStartDate"] = date(avant, tz).into();
    }
    let mode_occurrence = if o.etat == EtatOccurrence::DeplaceEnLigne { ModeParticipation::EnLigne } else { r.mode };
    let lien = o.lien_en_ligne.as_deref().or(r.lien_en_ligne);
    let location = lieu(r, o.lieu.as_deref(), lien, mode_occurrence);
    if !location.is_null() {
        e["location"] = location;
    }
    e["eventAttendanceMode"] = mode(mode_occurrence).into();
    e
}

/// `eventSchedule`: the rule as a schema.org `Schedule`. Plain weekdays are
/// `DayOfWeek` URLs; ranked ones (`1SA`, `-1FR`) are iCal `BYDAY` text,
/// which schema.org's `byDay` also accepts. `exceptDate` lists the
/// occurrences that do not happen on their date: excluded, paused,
/// cancelled or moved ones.
fn horaire(r: &RendezVousPublic<'_>, regle: &crate::rythme::Regle, tz: &TimeZone) -> Value {
    let rythme = r.rythme;
    let unite = match regle.freq {
        Frequence::Quotidienne => "D",
        Frequence::Hebdomadaire => "W",
        Frequence::Mensuelle => "M",
        Frequence::Annuelle => "Y",
    };
    let mut s = Map::new();
    s.insert("@type".into(), "Schedule".into());
    s.insert("repeatFrequency".into(), format!("P{}{unite}", regle.interval).into());
    if !regle.par_jour.is_empty() {
        let jours: Vec<Value> = regle
            .par_jour
            .iter()
            .map(|j| match j.rang {
                None => format!("{SCHEMA}/{}", jour_anglais(j.jour)).into(),
                Some(_) => j.to_string().into(),
            })
            .collect();
        s.insert("byDay".into(), jours.into());
    }
    if !regle.par_jour_du_mois.is_empty() {
        s.insert("byMonthDay".into(), regle.par_jour_du_mois.clone().into());
    }
    if !regle.par_mois.is_empty() {
        s.insert("byMonth".into(), regle.par_mois.clone().into());
    }
    if let Some(n) = regle.nombre {
        s.insert("repeatCount".into(), n.into());
    }
    s.insert("startDate".into(), rythme.debut.jour().to_string().into());
    if let Some(j) = regle.jusqu_au {
        let jour = match j {
            Jusqu::Jour(j) => j,
            Jusqu::Locale(l) => l.jour(),
            Jusqu::Utc(t) => DateHeure::de_instant(t, tz).jour(),
        };
        s.insert("endDate".into(), jour.to_string().into());
    }
    let heure = |d: DateHeure| format!("{:02}:{:02}:{:02}", d.heure(), d.minute(), d.seconde());
    s.insert("startTime".into(), heure(rythme.debut).into());
    if let Some(fin) = rythme.debut.instant(tz).and_then(|t| t.checked_add(rythme.duree.signee()).ok()) {
        s.insert("endTime".into(), heure(DateHeure::de_instant(fin, tz)).into());
    }
    s.insert("scheduleTimezone".into(), rythme.fuseau.clone().into());
    let mut exceptions: Vec<DateHeure> = super::ics::retirees(r).into_iter().collect();
    for (cle, e) in &rythme.exceptions {
        let Ok(origine) = cle.parse::<DateHeure>() else { continue };
        if e.debut.is_some() || e.etat == Some(EtatOccurrence::Annule) {
            exceptions.push(origine);
        }
    }
    exceptions.sort_unstable();
    exceptions.dedup();
    let dates: Vec<Value> =
        exceptions.into_iter().filter_map(|d| d.instant(tz)).map(|t| Value::from(date(t, tz))).collect();
    if !dates.is_empty() {
        s.insert("exceptDate".into(), dates.into());
    }
    Value::Object(s)
}

fn jour_anglais(j: crate::rythme::JourSemaine) -> &'static str {
    use crate::rythme::JourSemaine as J;
    match j {
        J::Lundi => "Monday",
        J::Mardi => "Tuesday",
        J::Mercredi => "Wednesday",
        J::Jeudi => "Thursday",
        J::Vendredi => "Friday",
        J::Samedi => "Saturday",
        J::Dimanche => "Sunday",
    }
}
