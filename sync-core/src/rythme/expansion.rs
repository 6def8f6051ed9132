//! Expansion of a rule into the local wall times of its occurrences.
//!
//! [`parcourir`] walks the rule period by period (day, week, month or year,
//! `INTERVAL` apart, weeks starting on Monday) and hands each occurrence's
//! nominal local start to a callback, in increasing order, applying `UNTIL`
//! and `COUNT`. Occurrences before the rhythm's start are skipped, as in
//! RFC 5545 and python-dateutil. It knows nothing of exclusions, pauses or
//! exceptions: `mod.rs` applies those.
//!
//! # Bounded work
//!
//! A rule can match rarely (29 February) or never (`BYMONTHDAY=31` in an
//! April-only rule), so the walk is capped: it stops after
//! [`PERIODES_VIDES_MAX`] periods in a row without an occurrence, and after
//! [`PERIODES_MAX`] periods in all. A valid rhythm never reaches either cap
//! over a window shorter than a century: the longest legitimate gap is 7 years
//! (29 February around 2100), and a counted rule has at most
//! [`super::NOMBRE_MAX`] occurrences.

use jiff::tz::TimeZone;

use super::regle::{Frequence, Jusqu, Regle};
use super::temps::{DateHeure, Jour, jours_dans_mois, lundi_zero, numero_de_jour};

/// Most consecutive periods without an occurrence before the walk gives up.
pub const PERIODES_VIDES_MAX: u32 = 1_000;

/// Most periods examined by one walk.
pub const PERIODES_MAX: u32 = 200_000;

/// Walks the occurrences of `regle` starting at `debut`, calling `f` with
/// each nominal local start until `f` returns `false`, the rule ends, or a
/// cap is reached.
///
/// `depuis` is a hint: occurrences on days before it may be skipped (the walk
/// jumps to the period holding it). Counted rules ignore it, since `COUNT`
/// needs every occurrence from the first.
pub(crate) fn parcourir(
    regle: &Regle,
    debut: DateHeure,
    tz: &TimeZone,
    depuis: Jour,
    mut f: impl FnMut(DateHeure) -> bool,
) {
    let interval = i64::from(regle.interval.max(1));
    let secondes = debut.secondes_du_jour();
    let jour0 = debut.jour();
    let premiere = if regle.nombre.is_some() { 0 } else { periode_de(regle.freq, jour0, depuis) / interval };
    // UNTIL as an instant is compared on instants; every occurrence of a rule
    // has the same time of day, so the instants increase with the wall times.
    let limite = regle.jusqu_au;
    let mut compte = 0u32;
    let mut vides = 0u32;
    let mut jours = Vec::with_capacity(8);
    for i in 0..i64::from(PERIODES_MAX) {
        jours.clear();
        if !jours_de_periode(regle, jour0, (premiere + i) * interval, &mut jours) {
            return;
        }
        if jours.is_empty() {
            vides += 1;
            if vides > PERIODES_VIDES_MAX {
                return;
            }
            continue;
        }
        vides = 0;
        for &jour in &jours {
            let Some(dt) = DateHeure::le(jour, secondes) else { continue };
            if dt < debut {
                continue;
            }
            let depasse = match limite {
                None => false,
                Some(Jusqu::Jour(j)) => dt.jour() > j,
                Some(Jusqu::Locale(l)) => dt > l,
                Some(Jusqu::Utc(t)) => dt.instant(tz).is_none_or(|i| i > t),
            };
            if depasse {
                return;
            }
            compte += 1;
            if !f(dt) || regle.nombre.is_some_and(|n| compte >= n) {
                return;
            }
        }
    }
}

/// Number of whole periods (days, weeks, months, years) from the period of
/// `jour0` to the period of `cible`, at least 0.
fn periode_de(freq: Frequence, jour0: Jour, cible: Jour) -> i64 {
    let n = match freq {
        Frequence::Quotidienne => cible.numero() - jour0.numero(),
        Frequence::Hebdomadaire => {
            let lundi = |j: Jour| j.numero() - i64::from(lundi_zero(j.numero()));
            (lundi(cible) - lundi(jour0)) / 7
        }
        Frequence::Mensuelle => {
            let mois = |j: Jour| i64::from(j.annee()) * 12 + i64::from(j.mois());
            mois(cible) - mois(jour0)
        }
        Frequence::Annuelle => i64::from(cible.annee()) - i64::from(jour0.annee()),
    };
    n.max(0)
}

/// The days of period number `p` (counted in base periods from the period of
/// `jour0`), sorted. Returns `false` past the end of the calendar.
fn jours_de_periode(regle: &Regle, jour0: Jour, p: i64, jours: &mut Vec<Jour>) -> bool {
    match regle.freq {
        Frequence::Quotidienne => {
            let Some(jour) = Jour::de_numero(jour0.numero() + p) else { return false };
            let garde = (regle.par_mois.is_empty() || regle.par_mois.contains(&jour.mois()))
                && (regle.par_jour.is_empty() || regle.par_jour.iter().any(|j| j.jour == jour.jour_semaine()));
            if garde {
                jours.push(jour);
            }
        }
        Frequence::Hebdomadaire => {
            let lundi = jour0.numero() - i64::from(lundi_zero(jour0.numero())) + 7 * p;
            if Jour::de_numero(lundi + 6).is_none() {
                return false;
            }
            let mut ajouter = |decalage: u8| {
                if let Some(jour) = Jour::de_numero(lundi + i64::from(decalage))
                    && (regle.par_mois.is_empty() || regle.par_mois.contains(&jour.mois()))
                {
                    jours.push(jour);
                }
            };
            if regle.par_jour.is_empty() {
                ajouter(lundi_zero(jour0.numero()));
            } else {
                regle.par_jour.iter().for_each(|j| ajouter(j.jour.lundi_zero()));
            }
        }
        Frequence::Mensuelle => {
            let total = i64::from(jour0.annee()) * 12 + i64::from(jour0.mois()) - 1 + p;
            let Ok(annee) = i16::try_from(total.div_euclid(12)) else { return false };
            if annee > 9999 {
                return false;
            }
            let mois = i8::try_from(total.rem_euclid(12) + 1).unwrap_or(1);
            if regle.par_mois.is_empty() || regle.par_mois.contains(&mois) {
                jours_du_mois(regle, annee, mois, jour0.jour(), jours);
            }
        }
        Frequence::Annuelle => {
            let Ok(annee) = i16::try_from(i64::from(jour0.annee()) + p) else { return false };
            if annee > 9999 {
                return false;
            }
            if regle.par_mois.is_empty() {
                jours_du_mois(regle, annee, jour0.mois(), jour0.jour(), jours);
            } else {
                regle.par_mois.iter().for_each(|&m| jours_du_mois(regle, annee, m, jour0.jour(), jours));
            }
        }
    }
    jours.sort_unstable();
    jours.dedup();
    true
}

/// The days of one month picked by `BYMONTHDAY` or `BYDAY`, or the start's
/// day of the month when neither is given (skipped in months too short).
fn jours_du_mois(regle: &Regle, annee: i16, mois: i8, jour_par_defaut: i8, jours: &mut Vec<Jour>) {
    let n = jours_dans_mois(annee, mois);
    let mut ajouter = |j: i8| {
        if let Some(jour) = Jour::new(annee, mois, j)
            && (regle.par_jour_du_mois.is_empty()
                || regle.par_jour.is_empty()
                || regle.par_jour.iter().any(|r| r.jour == jour.jour_semaine()))
        {
            jours.push(jour);
        }
    };
    if !regle.par_jour_du_mois.is_empty() {
        for &d in &regle.par_jour_du_mois {
            ajouter(if d < 0 { n + 1 + d } else { d });
        }
    } else if !regle.par_jour.is_empty() {
        let premier = lundi_zero(numero_de_jour(i64::from(annee), i64::from(mois), 1));
        for r in &regle.par_jour {
            // First day of the month that is this weekday, then the last.
            let d1 = 1 + (i16::from(r.jour.lundi_zero()) - i16::from(premier)).rem_euclid(7);
            let dn = d1 + 7 * ((i16::from(n) - d1) / 7);
            let choisis: Vec<i16> = match r.rang {
                None => (d1..=i16::from(n)).step_by(7).collect(),
                Some(k) if k > 0 => vec![d1 + 7 * (i16::from(k) - 1)],
                Some(k) => vec![dn - 7 * (-i16::from(k) - 1)],
            };
            for d in choisis {
                if let Ok(d) = i8::try_from(d) {
                    ajouter(d);
                }
            }
        }
    } else {
        ajouter(jour_par_defaut);
    }
}
