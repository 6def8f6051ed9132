//! The rhythm engine (`rythme`): when the rendez-vous of an action or of a
//! governance body happen.
//!
//! A [`Rythme`] is the domain model's rhythm object: a local start and its
//! IANA time zone, a duration, an optional recurrence [`Regle`] (Essaim's
//! strict RFC 5545 `RRULE` subset), added dates, excluded dates, pauses, and
//! per-occurrence exceptions keyed by the original occurrence's local start.
//! This module validates it ([`Rythme::valider`]), expands it over a window
//! of instants ([`Rythme::occurrences`]), splits a series for "this and
//! following" edits ([`Rythme::scinder`]) and says it in French
//! ([`Rythme::phrase`]); [`mots`] writes every day, date and time in French.
//!
//! # Does not do
//!
//! It reads no clock: windows are given by the caller, and "is this rhythm
//! due for re-confirmation" (`confirmer_avant`) is the caller's comparison.
//! It does no IO: the IANA time zone database is compiled in (jiff's bundle).
//! It stores nothing: occurrences are computed, never persisted.
//!
//! # Semantics, in short (details in `docs/rythme.md`)
//!
//! - Local wall times are resolved the RFC 5545 way: a time in a spring-forward
//!   gap moves forward by the gap; a time repeated at fall-back is the first.
//! - `COUNT` counts the rule's occurrences before exclusions; `UNTIL` is
//!   inclusive and may be a local day, a local wall time or a UTC instant.
//! - Exclusions and pauses remove occurrences (tested on the original local
//!   start); a cancelled occurrence (`annule`) stays, with that state.
//! - A moved occurrence is placed, and windowed, by its new start.

mod expansion;
pub mod mots;
mod phrase;
mod regle;
mod temps;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use expansion::{PERIODES_MAX, PERIODES_VIDES_MAX};
/// The date-time library of this module's API (instants, civil times).
pub use jiff;
pub use jiff::Timestamp;
pub use regle::{Frequence, INTERVAL_MAX, JourRegle, JourSemaine, Jusqu, NOMBRE_MAX, Regle, RegleError};
pub use temps::{DateHeure, Duree, FUSEAU_PAR_DEFAUT, FUSEAUX, FormatError, Jour, fuseau, fuseau_francais};

/// A rhythm that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RythmeError {
    /// The time zone is not an IANA name of the compiled-in database.
    #[error("fuseau horaire inconnu\u{a0}: «\u{a0}{0}\u{a0}»")]
    FuseauInconnu(String),
    /// The rule is outside the subset.
    #[error(transparent)]
    Regle(#[from] RegleError),
    /// The start is not the rule's first occurrence (RFC 5545 leaves such
    /// rhythms undefined; Essaim refuses them).
    #[error("le début {0} n'est pas une occurrence de la règle")]
    DebutHorsRegle(DateHeure),
    /// `UNTIL` is before the start.
    #[error("la fin de la règle précède le début")]
    JusquAvantDebut,
    /// A rule with neither `COUNT` nor `UNTIL` needs `confirmer_avant`.
    #[error("une règle sans fin demande une date de confirmation (confirmer_avant)")]
    SansFin,
    /// A duration of zero minutes.
    #[error("durée nulle")]
    DureeNulle,
    /// A pause ending before it starts.
    #[error("pause inversée\u{a0}: du {du} au {au}")]
    PauseInversee {
        /// Its first day.
        du: Jour,
        /// Its last day.
        au: Jour,
    },
    /// An occurrence key that is not a canonical local wall time.
    #[error("occurrence invalide\u{a0}: «\u{a0}{0}\u{a0}» (attendu AAAA-MM-JJTHH:MM:SS)")]
    OrigineInvalide(String),
    /// A local start that is not an occurrence of the rhythm.
    #[error("{0} n'est pas une occurrence de ce rythme")]
    OrigineInconnue(DateHeure),
    /// A one-off rendez-vous cannot be split.
    #[error("un rendez-vous ponctuel ne se scinde pas")]
    SansRegle,
    /// No date of the rule from the day a taken-up rhythm should start.
    #[error("aucune date de ce rythme à partir du {0}")]
    AucuneDate(Jour),
    /// Splitting at the first occurrence would leave an empty series.
    #[error("scinder au premier rendez-vous laisserait une série vide")]
    ScissionAuDebut,
}

/// State of one occurrence (domain model §4.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EtatOccurrence {
    /// Scheduled, as planned.
    #[default]
    Programme,
    /// Not confirmed yet.
    AConfirmer,
    /// Moved to another time.
    Reprogramme,
    /// Held online instead.
    DeplaceEnLigne,
    /// Postponed, new date unknown.
    Reporte,
    /// Full.
    Complet,
    /// Cancelled: still listed, shown as "annulé".
    Annule,
}

impl EtatOccurrence {
    /// Every state, in the order screens list them.
    pub const TOUS: &'static [EtatOccurrence] = &[
        EtatOccurrence::Programme,
        EtatOccurrence::AConfirmer,
        EtatOccurrence::Reprogramme,
        EtatOccurrence::DeplaceEnLigne,
        EtatOccurrence::Reporte,
        EtatOccurrence::Complet,
        EtatOccurrence::Annule,
    ];

    /// The state in French words, as every screen and feed shows it (lower
    /// case: it follows the date).
    pub fn libelle(self) -> &'static str {
        match self {
            EtatOccurrence::Programme => "programmé",
            EtatOccurrence::AConfirmer => "à confirmer",
            EtatOccurrence::Reprogramme => "reprogrammé",
            EtatOccurrence::DeplaceEnLigne => "déplacé en ligne",
            EtatOccurrence::Reporte => "reporté, nouvelle date à venir",
            EtatOccurrence::Complet => "complet",
            EtatOccurrence::Annule => "annulé",
        }
    }
}

/// A break in a series: no occurrence whose original local day is between
/// `du` and `au`, both included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Pause {
    /// First day without rendez-vous.
    pub du: Jour,
    /// Last day without rendez-vous.
    pub au: Jour,
    /// Why ("pause estivale").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
}

/// What changes for one occurrence. Every field is optional; absent fields
/// keep the series' value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Exception {
    /// Its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etat: Option<EtatOccurrence>,
    /// New local start (a moved occurrence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debut: Option<DateHeure>,
    /// New duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duree: Option<Duree>,
    /// Another place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lieu: Option<String>,
    /// Online link for this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lien_en_ligne: Option<String>,
    /// Why it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
}

/// When the rendez-vous of an action or a governance body happen (domain
/// model §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Rythme {
    /// Local wall time of the first occurrence, in `fuseau`.
    pub debut: DateHeure,
    /// IANA time zone of every local time of this rhythm.
    #[serde(default = "fuseau_par_defaut")]
    pub fuseau: String,
    /// Length of each occurrence, ISO 8601 (`PT2H`), exact minutes.
    pub duree: Duree,
    /// The recurrence rule; `None` for a one-off rendez-vous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regle: Option<Regle>,
    /// Extra local starts (RDATE), not counted by `COUNT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ajouts: Vec<DateHeure>,
    /// Removed occurrences (EXDATE), by original local start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<DateHeure>,
    /// Breaks (summer, school holidays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<Pause>,
    /// Per-occurrence changes, keyed by the original local start in
    /// canonical form (`2025-12-06T18:30:00`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[ts(type = "Record<string, Exception>")]
    pub exceptions: BTreeMap<String, Exception>,
    /// Day by which the organisers must re-confirm an open-ended rhythm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmer_avant: Option<Jour>,
    /// Id of the record whose series this one continues (after a split).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub serie_precedente: Option<String>,
}

fn fuseau_par_defaut() -> String {
    FUSEAU_PAR_DEFAUT.to_owned()
}

/// Why an occurrence is left out of [`Rythme::occurrences`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Retrait {
    /// Listed in `exclusions`.
    Exclue,
    /// Inside a pause.
    EnPause {
        /// The pause's reason.
        motif: Option<String>,
    },
}

/// One computed occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Occurrence {
    /// Nominal local start of the original occurrence: the key of its
    /// exception, of exclusions and of pauses. Unchanged by a move and by a
    /// spring-forward gap.
    pub origine: DateHeure,
    /// Effective local start: after a move, and as the wall clock reads it
    /// (02:30 in a gap reads 03:30).
    pub debut: DateHeure,
    /// Effective local end.
    pub fin: DateHeure,
    /// Effective start instant (RFC 3339 in JSON).
    #[ts(type = "string")]
    pub debut_utc: Timestamp,
    /// Effective end instant.
    #[ts(type = "string")]
    pub fin_utc: Timestamp,
    /// State: `programme` unless an exception says otherwise.
    pub etat: EtatOccurrence,
    /// Moved by an exception.
    pub deplacee: bool,
    /// Place for this occurrence, if an exception changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lieu: Option<String>,
    /// Online link for this occurrence, if an exception gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lien_en_ligne: Option<String>,
    /// Reason of the exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
    /// Set only by [`Rythme::occurrences_et_retraits`]: why it is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrait: Option<Retrait>,
}

/// Checks that `nom` is an IANA time zone of the compiled-in database,
/// spelled exactly (`Europe/Paris`, `Indian/Reunion`, `Pacific/Noumea`).
pub fn valider_fuseau(nom: &str) -> Result<TimeZone, RythmeError> {
    fuseau(nom).ok_or_else(|| RythmeError::FuseauInconnu(nom.to_owned()))
}

impl Rythme {
    /// A one-off rendez-vous in the default time zone.
    pub fn ponctuel(debut: DateHeure, duree: Duree) -> Rythme {
        Rythme {
            debut,
            fuseau: fuseau_par_defaut(),
            duree,
            regle: None,
            ajouts: Vec::new(),
            exclusions: Vec::new(),
            pauses: Vec::new(),
            exceptions: BTreeMap::new(),
            confirmer_avant: None,
            serie_precedente: None,
        }
    }

    /// Checks the whole rhythm: zone, rule, rule start and end, duration,
    /// pauses, exception keys and durations. Does not check that each
    /// exception key is still an occurrence (see [`Rythme::verifier_origine`]),
    /// so an edit of the rule never locks its old exceptions out.
    pub fn valider(&self) -> Result<(), RythmeError> {
        let tz = valider_fuseau(&self.fuseau)?;
        if self.duree.en_minutes() == 0 {
            return Err(RythmeError::DureeNulle);
        }
        if let Some(regle) = &self.regle {
            regle.valider()?;
            let avant = match regle.jusqu_au {
                None => false,
                Some(Jusqu::Jour(j)) => j < self.debut.jour(),
                Some(Jusqu::Locale(l)) => l < self.debut,
                Some(Jusqu::Utc(t)) => self.debut.instant(&tz).is_none_or(|d| t < d),
            };
            if avant {
                return Err(RythmeError::JusquAvantDebut);
            }
            let mut premiere = None;
            expansion::parcourir(regle, self.debut, &tz, self.debut.jour(), |dt| {
                premiere = Some(dt);
                false
            });
            if premiere != Some(self.debut) {
                return Err(RythmeError::DebutHorsRegle(self.debut));
            }
            if regle.nombre.is_none() && regle.jusqu_au.is_none() && self.confirmer_avant.is_none() {
                return Err(RythmeError::SansFin);
            }
        }
        if let Some(p) = self.pauses.iter().find(|p| p.au < p.du) {
            return Err(RythmeError::PauseInversee { du: p.du, au: p.au });
        }
        for (cle, exception) in &self.exceptions {
            origine_canonique(cle)?;
            if exception.duree.is_some_and(|d| d.en_minutes() == 0) {
                return Err(RythmeError::DureeNulle);
            }
        }
        Ok(())
    }

    /// Checks that `origine` (a canonical local start) is an occurrence of
    /// this rhythm, from its rule or its added dates, before an exception is
    /// keyed by it.
    pub fn verifier_origine(&self, origine: &str) -> Result<(), RythmeError> {
        let origine = origine_canonique(origine)?;
        let tz = valider_fuseau(&self.fuseau)?;
        if self.contient(origine, &tz) { Ok(()) } else { Err(RythmeError::OrigineInconnue(origine)) }
    }

    /// Is `origine` a start of the rule (or the one-off start) or an added
    /// date?
    fn contient(&self, origine: DateHeure, tz: &TimeZone) -> bool {
        if self.ajouts.contains(&origine) {
            return true;
        }
        let Some(regle) = &self.regle else { return origine == self.debut };
        let mut trouve = false;
        expansion::parcourir(regle, self.debut, tz, origine.jour(), |dt| {
            trouve = dt == origine;
            dt < origine
        });
        trouve
    }

    /// The occurrences whose effective start instant is in `[du, au)`, in
    /// order of start: excluded and paused ones left out, cancelled ones kept
    /// (state `annule`), moved ones at their new time.
    pub fn occurrences(&self, du: Timestamp, au: Timestamp) -> Result<Vec<Occurrence>, RythmeError> {
        self.developper(du, au, false)
    }

    /// Like [`Rythme::occurrences`], but excluded and paused occurrences are
    /// listed too, with [`Occurrence::retrait`] saying why (for a calendar
    /// view that shows "pause estivale").
    pub fn occurrences_et_retraits(&self, du: Timestamp, au: Timestamp) -> Result<Vec<Occurrence>, RythmeError> {
        self.developper(du, au, true)
    }

    fn developper(&self, du: Timestamp, au: Timestamp, retraits: bool) -> Result<Vec<Occurrence>, RythmeError> {
        let tz = valider_fuseau(&self.fuseau)?;
        if du >= au {
            return Ok(Vec::new());
        }
        // Local days that can hold a start in the window: two days of margin
        // cover every UTC offset and every DST gap.
        let jour_min = Jour::de_numero(DateHeure::de_instant(du, &tz).jour().numero() - 2);
        let jour_max = Jour::de_numero(DateHeure::de_instant(au, &tz).jour().numero() + 2);
        let (Some(jour_min), Some(jour_max)) = (jour_min, jour_max) else { return Ok(Vec::new()) };
        let dans = |dt: &DateHeure| (jour_min..=jour_max).contains(&dt.jour());

        let mut origines = Vec::new();
        match &self.regle {
            Some(regle) => expansion::parcourir(regle, self.debut, &tz, jour_min, |dt| {
                if dans(&dt) {
                    origines.push(dt);
                }
                dt.jour() <= jour_max
            }),
            None if dans(&self.debut) => origines.push(self.debut),
            None => {}
        }
        origines.extend(self.ajouts.iter().filter(|a| dans(a)));
        let mut exceptions = BTreeMap::new();
        for (cle, exception) in &self.exceptions {
            let Ok(origine) = origine_canonique(cle) else { continue };
            exceptions.insert(origine, exception);
            // A moved occurrence is windowed by its new start: bring in those
            // moved here from outside the window's days.
            let arrive_ici = exception.debut.is_some_and(|d| dans(&d));
            if arrive_ici && !dans(&origine) && self.contient(origine, &tz) {
                origines.push(origine);
            }
        }
        origines.sort_unstable();
        origines.dedup();

        let mut occurrences = Vec::with_capacity(origines.len());
        for origine in origines {
            let retrait = self.retrait(origine);
            if retrait.is_some() && !retraits {
                continue;
            }
            let Some(occurrence) = self.occurrence(origine, exceptions.get(&origine).copied(), retrait, &tz) else {
                continue;
            };
            if (du..au).contains(&occurrence.debut_utc) {
                occurrences.push(occurrence);
            }
        }
        occurrences.sort_by_key(|o| (o.debut_utc, o.origine));
        Ok(occurrences)
    }

    fn retrait(&self, origine: DateHeure) -> Option<Retrait> {
        if self.exclusions.contains(&origine) {
            return Some(Retrait::Exclue);
        }
        let jour = origine.jour();
        let pause = self.pauses.iter().find(|p| p.du <= jour && jour <= p.au)?;
        Some(Retrait::EnPause { motif: pause.motif.clone() })
    }

    fn occurrence(
        &self,
        origine: DateHeure,
        exception: Option<&Exception>,
        retrait: Option<Retrait>,
        tz: &TimeZone,
    ) -> Option<Occurrence> {
        let nouveau_debut = exception.and_then(|e| e.debut);
        let duree = exception.and_then(|e| e.duree).unwrap_or(self.duree);
        let debut_utc = nouveau_debut.unwrap_or(origine).instant(tz)?;
        let fin_utc = debut_utc.checked_add(duree.signee()).ok()?;
        Some(Occurrence {
            origine,
            debut: DateHeure::de_instant(debut_utc, tz),
            fin: DateHeure::de_instant(fin_utc, tz),
            debut_utc,
            fin_utc,
            etat: exception.and_then(|e| e.etat).unwrap_or_default(),
            deplacee: nouveau_debut.is_some(),
            lieu: exception.and_then(|e| e.lieu.clone()),
            lien_en_ligne: exception.and_then(|e| e.lien_en_ligne.clone()),
            motif: exception.and_then(|e| e.motif.clone()),
            retrait,
        })
    }

    /// Splits the series for a "this and following" edit at `a_partir_de`,
    /// the original local start of one of its rule's occurrences.
    ///
    /// The first series keeps every occurrence before it and ends (`UNTIL`,
    /// local) at the previous occurrence; the second starts at `a_partir_de`
    /// with the same rule (`COUNT` reduced by the occurrences left behind)
    /// and `serie_precedente` set to `serie_precedente`. Added dates,
    /// exclusions and exceptions go to the series their date belongs to;
    /// a pause goes to each series it overlaps.
    pub fn scinder(&self, a_partir_de: &str, serie_precedente: &str) -> Result<(Rythme, Rythme), RythmeError> {
        let coupure = origine_canonique(a_partir_de)?;
        let regle = self.regle.as_ref().ok_or(RythmeError::SansRegle)?;
        let tz = valider_fuseau(&self.fuseau)?;
        let (mut avant, mut precedente, mut trouve) = (0u32, None, false);
        expansion::parcourir(regle, self.debut, &tz, self.debut.jour(), |dt| {
            trouve = dt == coupure;
            if dt < coupure {
                avant += 1;
                precedente = Some(dt);
            }
            dt < coupure
        });
        if !trouve {
            return Err(RythmeError::OrigineInconnue(coupure));
        }
        let precedente = precedente.ok_or(RythmeError::ScissionAuDebut)?;

        let mut ancien = self.clone();
        let mut nouveau = self.clone();
        if let Some(r) = &mut ancien.regle {
            r.nombre = None;
            r.jusqu_au = Some(Jusqu::Locale(precedente));
        }
        if let Some(r) = &mut nouveau.regle {
            r.nombre = r.nombre.map(|n| n - avant);
        }
        nouveau.debut = coupure;
        nouveau.serie_precedente = Some(serie_precedente.to_owned());
        ancien.ajouts.retain(|d| *d < coupure);
        nouveau.ajouts.retain(|d| *d >= coupure);
        ancien.exclusions.retain(|d| *d < coupure);
        nouveau.exclusions.retain(|d| *d >= coupure);
        let apres = |cle: &String| origine_canonique(cle).is_ok_and(|o| o >= coupure);
        ancien.exceptions.retain(|cle, _| !apres(cle));
        nouveau.exceptions.retain(|cle, _| apres(cle));
        ancien.pauses.retain(|p| p.du < coupure.jour());
        nouveau.pauses.retain(|p| p.au >= coupure.jour());
        Ok((ancien, nouveau))
    }

    /// The same rhythm for another territory, from `a_partir_de` on
    /// (essaimage): the same rule, time of day and duration, in `fuseau`,
    /// starting on the rule's first date on or after that day, with no end,
    /// added dates, exclusions, pauses or exceptions, and a confirmation
    /// date three months after `a_partir_de` (a rule without end needs
    /// one). A rule that takes its day from its start (weekly without days,
    /// monthly without a day, yearly without a month) is made explicit
    /// first, so the copy keeps the source's days. A one-off is placed on
    /// `a_partir_de` at its time.
    pub fn reprendre(&self, a_partir_de: Jour, fuseau: &str) -> Result<Rythme, RythmeError> {
        let tz = valider_fuseau(fuseau)?;
        let depart =
            DateHeure::le(a_partir_de, self.debut.secondes_du_jour()).ok_or(RythmeError::AucuneDate(a_partir_de))?;
        let mut copie = Rythme { fuseau: fuseau.to_owned(), ..Rythme::ponctuel(depart, self.duree) };
        let Some(source) = &self.regle else {
            copie.valider()?;
            return Ok(copie);
        };
        let mut regle = source.clone();
        regle.nombre = None;
        regle.jusqu_au = None;
        let jour = self.debut.jour();
        let sans_jour = regle.par_jour.is_empty() && regle.par_jour_du_mois.is_empty();
        match regle.freq {
            Frequence::Hebdomadaire if regle.par_jour.is_empty() => {
                regle.par_jour = vec![JourRegle { jour: jour.jour_semaine(), rang: None }];
            }
            Frequence::Mensuelle if sans_jour => regle.par_jour_du_mois = vec![jour.jour()],
            Frequence::Annuelle => {
                if regle.par_mois.is_empty() {
                    regle.par_mois = vec![jour.mois()];
                }
                if sans_jour {
                    regle.par_jour_du_mois = vec![jour.jour()];
                }
            }
            _ => {}
        }
        let mut premier = None;
        expansion::parcourir(&regle, depart, &tz, a_partir_de, |dt| {
            premier = Some(dt);
            false
        });
        copie.debut = premier.ok_or(RythmeError::AucuneDate(a_partir_de))?;
        copie.regle = Some(regle);
        copie.confirmer_avant = Some(trois_mois_apres(a_partir_de).ok_or(RythmeError::AucuneDate(a_partir_de))?);
        copie.valider()?;
        Ok(copie)
    }

    /// The rule as an iCalendar `RRULE` value for export: `UNTIL` in UTC, as
    /// RFC 5545 requires when the start has a time zone (a day becomes the
    /// end of that local day). `None` for a one-off rendez-vous.
    pub fn regle_ics(&self) -> Result<Option<String>, RythmeError> {
        let Some(regle) = &self.regle else { return Ok(None) };
        let tz = valider_fuseau(&self.fuseau)?;
        let jusqu = match regle.jusqu_au {
            None => None,
            Some(Jusqu::Utc(t)) => Some(t),
            Some(Jusqu::Locale(l)) => l.instant(&tz),
            Some(Jusqu::Jour(j)) => DateHeure::fin_du_jour(j).and_then(|l| l.instant(&tz)),
        };
        let mut texte = String::new();
        let jusqu = jusqu.map(|t| format!("{}Z", DateHeure::de_instant(t, &TimeZone::UTC).compact()));
        regle.ecrire(&mut texte, jusqu).expect("writing to a String cannot fail");
        Ok(Some(texte))
    }

    /// The rhythm in a French sentence, for the UI: "Le 1er samedi du mois,
    /// de 18 h 30 à 20 h 30, jusqu'au 27 juin 2026 (pause du 1er juillet au
    /// 31 août)".
    pub fn phrase(&self) -> String {
        phrase::phrase(self)
    }
}

/// The day three months after `jour` (the month's last day when it has
/// fewer days).
fn trois_mois_apres(jour: Jour) -> Option<Jour> {
    let date = jiff::civil::Date::new(jour.annee(), jour.mois(), jour.jour()).ok()?;
    let plus_tard = date.checked_add(jiff::Span::new().months(3)).ok()?;
    Jour::new(plus_tard.year(), plus_tard.month(), plus_tard.day())
}

/// Reads an occurrence key, which must be in canonical form so that one
/// occurrence never has two keys.
fn origine_canonique(cle: &str) -> Result<DateHeure, RythmeError> {
    let invalide = || RythmeError::OrigineInvalide(cle.to_owned());
    let origine: DateHeure = cle.parse().map_err(|_| invalide())?;
    if origine.to_string() != cle {
        return Err(invalide());
    }
    Ok(origine)
}
