//! Public feeds of a territory's agenda, as pure functions: the texts the
//! relay serves to calendar apps, search engines, residents' browsers and the
//! national portal.
//!
//! Everything starts from [`public`], the public subset of an [`Agenda`]:
//! actions that are not deleted, `visibilite: public` and `publication:
//! publie`, plus governance bodies (`instances`), all only when they have a
//! rhythm (chantiers without dated rendez-vous are not calendar entries). The
//! subset copies the few public fields the feeds show, so no feed can reach
//! `contacts_prives`, actors, carriers, needs or volunteers.
//!
//! - [`ics`]: RFC 5545 with `RRULE`, `RDATE`, `EXDATE` (exclusions and
//!   occurrences inside pauses) and one `RECURRENCE-ID` override per
//!   exception (moved, cancelled, other place, online), a `VTIMEZONE` per
//!   zone built from the bundled tz database.
//! - [`ics_compat`]: every occurrence of [`fenetre`] (the next 12 months)
//!   expanded by the rhythm engine, one `VEVENT` each, instants in UTC, for
//!   calendar apps that mishandle `EXDATE` or `RECURRENCE-ID`.
//! - [`json_ld`]: a schema.org `ItemList` of `Event`s, recurring ones with an
//!   `eventSchedule`; the expanded occurrences of the same window are each
//!   recurring event's `subEvent` list (see below).
//! - [`ics_action`]: one action's series, or one of its occurrences, as a
//!   calendar of its own ("add to my calendar").
//! - [`html`]: a small French page, accessible, no JavaScript.
//! - [`ics_national`], [`json_ld_national`], [`territoires_json`]: the
//!   national aggregation over several public territories; [`annuaire_html`]
//!   the directory page, narrowed by a [`Filtre`], with the map of
//!   départements ([`Carte`]) when the relay has one; [`agenda_national_html`]
//!   the national agenda page of the next 30 days, highlights first.
//! - [`fiche_html`], [`fiche_json`], [`fiche_markdown`] (and their
//!   withdrawn forms), [`fiches_html`], [`fiches_json`],
//!   [`fiches_nationales_html`], [`fiches_nationales_json`]: experience
//!   sheets' published versions (`fiche.rs`).
//!
//! # Choices
//!
//! - **UID**: `action-{id}@{document id}` or `instance-{id}@{document id}`.
//!   Record ids are unique in their collection and document ids are
//!   globally unique, so UIDs are stable across edits and unique across
//!   territories. Compat occurrences add the original local start:
//!   `action-{id}-20260107T183000@{document id}`.
//! - **SEQUENCE**: whole seconds from the record's `cree_le` to its
//!   `modifie_le` (0 when either is missing). Every edit of the record,
//!   occurrence exceptions and pauses included, sets `modifie_le` to the
//!   edit's time, so the number grows with each edit without any counter
//!   stored in the document (a counter would conflict under concurrent
//!   offline edits). It fits RFC 5545's 32-bit integer for 68 years. A
//!   device with a clock behind the previous editor's may make it go down;
//!   that is the price of deriving it.
//! - **Cancelled occurrences** are kept everywhere with a cancelled status:
//!   an override `VEVENT` with `STATUS:CANCELLED` in [`ics`], a `VEVENT` with
//!   `STATUS:CANCELLED` and a summary starting with "Annulé : " in
//!   [`ics_compat`] (apps that ignore `STATUS` still show the word), an
//!   `EventCancelled` sub-event in [`json_ld`], "annulé" in [`html`]. A
//!   subscribed calendar replaces its copy at each refresh: dropping the
//!   occurrence would make it vanish silently, and people would still go.
//!   Excluded and paused occurrences, by contrast, never existed for
//!   residents and are absent from every feed.
//! - **Window**: [`fenetre`] is `[now, now + 12 months)` (months on the UTC
//!   calendar); an occurrence belongs to it by its effective start, as in
//!   [`Rythme::occurrences`](crate::rythme::Rythme::occurrences).
//! - **JSON-LD occurrences**: each recurring `Event` (one with an
//!   `eventSchedule`) carries `subEvent`, the list (possibly empty) of its
//!   occurrences in the window, each an `Event` with `identifier` (the compat
//!   UID), `startDate`, `endDate`, `eventStatus`, and `previousStartDate`
//!   when moved. One-off `Event`s carry neither: the event is its own
//!   occurrence. Every node's `identifier` is its ICS UID.
//! - **Links**: an online link is shown (as a link in [`html`], a
//!   `VirtualLocation` in [`json_ld`], text in [`ics`]) only if it is an
//!   absolute `http:`/`https:` URL ([`lien_valide`]), checked here again
//!   whatever built the [`Agenda`]: any other scheme could run script on
//!   the relay's origin when clicked.
//! - **Content lines**: every iCalendar line is written without CR, LF or
//!   other control characters, whatever its source (record content, ids,
//!   the profile, the base URL), so no value can start a line of its own.
//! - **DTSTAMP** is `now`, so two calls at different times differ: a relay
//!   that wants stable ETags passes a `now` rounded to its refresh period.
//!
//! # Does not do
//!
//! No IO, no clock (the caller passes `now`), no HTTP (ETag, compression,
//! routes are the relay's). No recurrence arithmetic either: occurrences,
//! pauses and exceptions come from [`crate::rythme`]. Invalid rhythms
//! (which edits refuse anyway) are left out rather than failing a feed, so
//! nothing here returns an error.

mod agenda_national;
mod annuaire;
mod carte;
mod fiche;
mod html;
mod ics;
mod jsonld;
mod page_action;

#[cfg(test)]
mod tests;

use jiff::tz::TimeZone;

use crate::agenda::{
    Agenda, Lieu, ModeParticipation, Profil, Provenance, Publication, Suivi, Theme, TypeInstance, Visibilite,
    lien_valide,
};
use crate::rythme::{EtatOccurrence, Occurrence, Rythme, Timestamp};

pub use agenda_national::agenda_national_html;
pub use annuaire::{Fiche, Filtre, FiltreError, JOURS_A_VENIR, annuaire_html, fiches, territoires_json};
pub use carte::{CARTE_MAX_OCTETS, Carte, CarteError};
pub use fiche::{
    FicheAffichee, fiche_html, fiche_json, fiche_markdown, fiche_retiree, fiche_retiree_html, fiche_retiree_json,
    fiche_retiree_markdown, fiches_html, fiches_json, fiches_nationales_html, fiches_nationales_json, ligne_de_section,
    ligne_lue,
};
pub use html::{Changement, Essaimage, Reprise, html, html_avec_essaimage};
pub use ics::{ics, ics_action, ics_compat, ics_national};
pub use jsonld::{APERCU_NOMBRE, apercu_json, json_ld, json_ld_national};
pub use page_action::action_html;

/// A territory as the feeds need it: where it lives and what it says of
/// itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Territoire {
    /// The territory document's id (bs58check, as in its `automerge:` URL);
    /// it makes UIDs unique across territories and builds the links.
    pub document: String,
    /// Its profile (name, kind, codes, presentation, themes, time zone).
    pub profil: Profil,
    /// Base URL of the relay, such as `https://essaim.example`, without a
    /// trailing slash (one is removed if present).
    pub base_url: String,
}

impl Territoire {
    /// The territory of `document`, with the profile read from `agenda`
    /// (an empty one in the default zone if none was set yet).
    pub fn new(document: impl Into<String>, agenda: &Agenda, base_url: impl Into<String>) -> Territoire {
        let base_url: String = base_url.into();
        Territoire {
            document: document.into(),
            profil: agenda.profil.clone().unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The territory's public page, `{base}/t/{document}/`.
    pub fn page(&self) -> String {
        format!("{}/t/{}/", self.base_url, self.document)
    }

    /// The territory's name, or its document id while it has none.
    pub fn nom(&self) -> &str {
        if self.profil.nom.trim().is_empty() { &self.document } else { &self.profil.nom }
    }
}

/// Which collection a public rendez-vous comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Genre {
    /// An action.
    Action,
    /// A governance body (*instance*).
    Instance,
}

impl Genre {
    fn code(self) -> &'static str {
        match self {
            Genre::Action => "action",
            Genre::Instance => "instance",
        }
    }
}

/// The public fields of one action or governance body with a rhythm: all a
/// feed may show. Built by [`public`] only.
#[derive(Debug, Clone, PartialEq)]
pub struct RendezVousPublic<'a> {
    /// Action or governance body.
    pub genre: Genre,
    /// The record's id.
    pub id: &'a str,
    /// Title (an action) or name (a body).
    pub titre: &'a str,
    /// Short summary; empty for a body.
    pub resume: &'a str,
    /// Long description; empty for a body.
    pub description: &'a str,
    /// Kind of governance body.
    pub type_instance: Option<TypeInstance>,
    /// Where (actions only).
    pub lieu: Option<&'a Lieu>,
    /// On site, online or both.
    pub mode: ModeParticipation,
    /// Online link of the series: only an `http:`/`https:` one
    /// ([`lien_valide`]), whatever the record holds.
    pub lien_en_ligne: Option<&'a str>,
    /// Themes.
    pub themes: &'a [Theme],
    /// Free keywords.
    pub mots_cles: &'a [String],
    /// A highlight of the year (actions only): first in the national agenda.
    pub temps_fort: bool,
    /// The other territory's action it was taken up from (actions only).
    pub inspire_de: Option<&'a Provenance>,
    /// When (valid: checked by [`public`]).
    pub rythme: &'a Rythme,
    /// Bookkeeping: creation and last change, for `SEQUENCE`.
    pub suivi: &'a Suivi,
}

/// The public subset of an agenda, used by every feed: live, public and
/// published actions with a valid rhythm, then live governance bodies with a
/// valid rhythm, each in id order.
pub fn public(agenda: &Agenda) -> Vec<RendezVousPublic<'_>> {
    let actions = agenda.actions.iter().filter_map(|(id, a)| {
        let visible = a.visibilite == Visibilite::Public && a.publication == Publication::Publie;
        let rythme = a.rythme.as_ref().filter(|r| visible && !a.suivi.supprime && r.valider().is_ok())?;
        Some(RendezVousPublic {
            genre: Genre::Action,
            id,
            titre: &a.titre,
            resume: &a.resume,
            description: &a.description,
            type_instance: None,
            lieu: a.lieu.as_ref(),
            mode: a.mode_participation,
            lien_en_ligne: a.lien_en_ligne.as_deref().filter(|l| lien_valide(l)),
            themes: &a.portes_entree,
            mots_cles: &a.mots_cles,
            temps_fort: a.temps_fort,
            inspire_de: a.inspire_de.as_ref(),
            rythme,
            suivi: &a.suivi,
        })
    });
    let instances = agenda.instances.iter().filter_map(|(id, i)| {
        let rythme = i.rythme.as_ref().filter(|r| !i.suivi.supprime && r.valider().is_ok())?;
        Some(RendezVousPublic {
            genre: Genre::Instance,
            id,
            titre: &i.nom,
            resume: "",
            description: "",
            type_instance: Some(i.type_instance),
            lieu: None,
            mode: ModeParticipation::SurPlace,
            lien_en_ligne: None,
            themes: &[],
            mots_cles: &[],
            temps_fort: false,
            inspire_de: None,
            rythme,
            suivi: &i.suivi,
        })
    });
    actions.chain(instances).collect()
}

/// The window of expanded feeds: `[now, now + 12 months)`, months counted
/// on the UTC calendar.
pub fn fenetre(now: Timestamp) -> (Timestamp, Timestamp) {
    let fin = now
        .to_zoned_datetime(TimeZone::UTC)
        .checked_add(jiff::Span::new().months(12))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX);
    (now, fin)
}

impl RendezVousPublic<'_> {
    /// The stable iCalendar UID of the series (or one-off).
    pub fn uid(&self, territoire: &Territoire) -> String {
        format!("{}-{}@{}", self.genre.code(), self.id, territoire.document)
    }

    /// The UID of one occurrence in the compat feed.
    pub fn uid_occurrence(&self, territoire: &Territoire, occurrence: &Occurrence) -> String {
        self.uid_origine(territoire, occurrence.origine)
    }

    /// The UID of the occurrence originally starting at `origine`: the
    /// compat feed's, and the one-occurrence calendar's ([`ics_action`]).
    pub fn uid_origine(&self, territoire: &Territoire, origine: crate::rythme::DateHeure) -> String {
        let origine = origine.to_string().replace(['-', ':'], "");
        format!("{}-{}-{origine}@{}", self.genre.code(), self.id, territoire.document)
    }

    /// `SEQUENCE`: seconds from creation to last change (see module docs).
    pub fn sequence(&self) -> i64 {
        match (self.suivi.cree_le, self.suivi.modifie_le) {
            (Some(cree), Some(modifie)) => ((modifie - cree) / 1000).clamp(0, i64::from(i32::MAX)),
            _ => 0,
        }
    }

    /// Link to this rendez-vous: an action's own page
    /// (`{page}actions/{id}/`, [`action_html`]), a governance body's entry
    /// on the territory's page.
    pub fn url(&self, territoire: &Territoire) -> String {
        match self.genre {
            Genre::Action => format!("{}actions/{}/", territoire.page(), self.id),
            Genre::Instance => format!("{}#{}", territoire.page(), self.ancre()),
        }
    }

    /// [`Self::url`] relative to the territory's page (the page's links).
    fn lien_relatif(&self) -> String {
        match self.genre {
            Genre::Action => format!("actions/{}/", self.id),
            Genre::Instance => format!("#{}", self.ancre()),
        }
    }

    /// HTML anchor of this rendez-vous on the territory's page.
    fn ancre(&self) -> String {
        format!("{}-{}", self.genre.code(), self.id)
    }

    /// The place as one line: label and address.
    fn lieu_texte(&self) -> Option<String> {
        let lieu = self.lieu?;
        let parts: Vec<&str> =
            [lieu.libelle.trim(), lieu.adresse.trim()].into_iter().filter(|s| !s.is_empty()).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Themes as French labels, then free keywords.
    fn categories(&self) -> Vec<String> {
        let themes = self.themes.iter().map(|t| t.libelle().to_owned());
        themes.chain(self.mots_cles.iter().filter(|m| !m.trim().is_empty()).cloned()).collect()
    }

    /// The one occurrence of a one-off rendez-vous, as the engine places it
    /// (its exception applied); `None` if it is excluded or paused, or for a
    /// series.
    fn ponctuelle(&self) -> Option<Occurrence> {
        let rythme = self.rythme;
        if rythme.regle.is_some() {
            return None;
        }
        let tz = crate::rythme::fuseau(&rythme.fuseau)?;
        let exception = rythme.exceptions.get(&rythme.debut.to_string());
        let debut = exception.and_then(|e| e.debut).unwrap_or(rythme.debut).instant(&tz)?;
        let marge = jiff::SignedDuration::from_hours(1);
        let (du, au) = (debut.checked_sub(marge).ok()?, debut.checked_add(marge).ok()?);
        rythme.occurrences(du, au).ok()?.into_iter().next()
    }

    /// Is the series past its re-confirmation day (`confirmer_avant`) at
    /// `now`, on its own zone's calendar?
    fn a_reconfirmer(&self, now: Timestamp) -> bool {
        let Some(jour) = self.rythme.confirmer_avant else { return false };
        let Some(tz) = crate::rythme::fuseau(&self.rythme.fuseau) else { return false };
        crate::rythme::DateHeure::de_instant(now, &tz).jour() > jour
    }
}

/// Every occurrence of the public rendez-vous starting in `[du, au)`,
/// cancelled ones included, in order of start then UID.
fn occurrences<'a, 'b>(
    rdv: &'b [RendezVousPublic<'a>],
    du: Timestamp,
    au: Timestamp,
) -> Vec<(&'b RendezVousPublic<'a>, Occurrence)> {
    let mut toutes: Vec<(&RendezVousPublic<'a>, Occurrence)> = rdv
        .iter()
        .flat_map(|r| r.rythme.occurrences(du, au).unwrap_or_default().into_iter().map(move |o| (r, o)))
        .collect();
    toutes.sort_by(|(a, x), (b, y)| (x.debut_utc, a.genre, a.id).cmp(&(y.debut_utc, b.genre, b.id)));
    toutes
}

/// The state of an occurrence in French words ([`EtatOccurrence::libelle`]),
/// `None` when nothing needs saying (scheduled as planned); a moved one is
/// "reprogrammé".
fn etat_en_mots(o: &Occurrence) -> Option<&'static str> {
    match o.etat {
        EtatOccurrence::Programme if o.deplacee => Some(EtatOccurrence::Reprogramme.libelle()),
        EtatOccurrence::Programme => None,
        etat => Some(etat.libelle()),
    }
}
