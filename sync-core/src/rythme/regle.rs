//! The recurrence rule: Essaim's strict subset of the RFC 5545 `RRULE`.
//!
//! Parses `RRULE` text ([`Regle::from_str`]), prints it back in canonical
//! form ([`Regle`]'s `Display`), and (de)serialises the domain model's JSON
//! form (`freq`, `interval`, `par_jour`, `par_jour_du_mois`, `par_mois`,
//! `jusqu_au`, `nombre`), validating on the way in. Everything outside the
//! subset is refused with an error naming the part; nothing is silently
//! dropped. It does not expand rules: see `expansion.rs`.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::temps::{DateHeure, Jour};

/// Largest `COUNT` accepted: about 27 years of a daily rule. It bounds the
/// work of expanding a counted rule, which always starts from its first
/// occurrence.
pub const NOMBRE_MAX: u32 = 10_000;

/// Largest `INTERVAL` accepted.
pub const INTERVAL_MAX: u8 = 52;

/// A rule outside Essaim's subset, or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegleError {
    /// The text holds no part at all.
    #[error("règle vide")]
    Vide,
    /// A part is not `NOM=VALEUR`.
    #[error("partie mal formée\u{a0}: «\u{a0}{0}\u{a0}»")]
    PartieMalFormee(String),
    /// A part RFC 5545 knows but Essaim refuses (`BYSETPOS`, `BYWEEKNO`,
    /// `BYYEARDAY`, `BYHOUR`, `EXRULE`…), or a part nobody knows.
    #[error("partie non prise en charge\u{a0}: {0}")]
    PartieNonPriseEnCharge(String),
    /// The same part is written twice.
    #[error("partie en double\u{a0}: {0}")]
    PartieEnDouble(String),
    /// No `FREQ`.
    #[error("FREQ manquante")]
    FreqManquante,
    /// A value is malformed, out of range, repeated, or outside the subset
    /// (`FREQ=HOURLY`, `WKST=SU`, `INTERVAL=0`, `BYDAY=1MO` in a weekly rule).
    #[error("valeur invalide pour {partie}\u{a0}: «\u{a0}{valeur}\u{a0}»")]
    ValeurInvalide {
        /// The RRULE part.
        partie: &'static str,
        /// The offending value.
        valeur: String,
    },
    /// A part that this frequency does not take (`BYDAY` in a daily rule).
    #[error("{partie} n'est pas accepté avec FREQ={freq}")]
    PartieIncompatible {
        /// The RRULE part.
        partie: &'static str,
        /// The rule's frequency.
        freq: &'static str,
    },
    /// A yearly rule with `BYDAY` or `BYMONTHDAY` but no `BYMONTH`.
    #[error("{partie} demande BYMONTH dans une règle annuelle")]
    MoisRequis {
        /// `BYDAY` or `BYMONTHDAY`.
        partie: &'static str,
    },
    /// `BYDAY` and `BYMONTHDAY` together.
    #[error("BYDAY et BYMONTHDAY ne vont pas ensemble")]
    JourEtJourDuMois,
    /// `BYDAY` mixes ranked and plain weekdays (`3MO,SA`): RFC 5545 takes
    /// the union, python-dateutil the intersection; Essaim refuses it.
    #[error("BYDAY mélange jours numérotés et jours simples")]
    RangsMelanges,
    /// `COUNT` and `UNTIL` together.
    #[error("COUNT et UNTIL ne vont pas ensemble")]
    NombreEtJusquAu,
}

/// How often the rule repeats (`FREQ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum Frequence {
    /// `DAILY`.
    #[serde(rename = "DAILY")]
    Quotidienne,
    /// `WEEKLY`.
    #[serde(rename = "WEEKLY")]
    Hebdomadaire,
    /// `MONTHLY`.
    #[serde(rename = "MONTHLY")]
    Mensuelle,
    /// `YEARLY`.
    #[serde(rename = "YEARLY")]
    Annuelle,
}

/// A day of the week; weeks start on Monday (`WKST=MO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JourSemaine {
    /// `MO`.
    Lundi,
    /// `TU`.
    Mardi,
    /// `WE`.
    Mercredi,
    /// `TH`.
    Jeudi,
    /// `FR`.
    Vendredi,
    /// `SA`.
    Samedi,
    /// `SU`.
    Dimanche,
}

/// One `BYDAY` value: a weekday, with a rank in the month for monthly and
/// yearly rules (`1SA` first Saturday, `-1FR` last Friday, `TU` every
/// Tuesday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JourRegle {
    /// The weekday.
    pub jour: JourSemaine,
    /// 1–5 from the start of the month, -1 for the last; `None`: every one.
    pub rang: Option<i8>,
}

/// The end of a rule (`UNTIL`), inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jusqu {
    /// Up to and including that local day (`UNTIL=20260627`,
    /// `"jusqu_au": "2026-06-27"`).
    Jour(Jour),
    /// Up to and including that local wall time (`UNTIL=20260627T183000`,
    /// `"jusqu_au": "2026-06-27T18:30:00"`).
    Locale(DateHeure),
    /// Up to and including that instant (`UNTIL=20260627T163000Z`,
    /// `"jusqu_au": "2026-06-27T16:30:00Z"`): the RFC 5545 form when the
    /// start has a time zone.
    Utc(Timestamp),
}

/// A recurrence rule in Essaim's subset. Build it by parsing or
/// deserialising (both validate) or by hand, then call [`Regle::valider`].
///
/// Its TypeScript type says which fields may be left out when written.
/// Read through [`RegleBrute`] and validated (the `Deserialize` impl below,
/// written by hand rather than `#[serde(try_from)]`, which ts-rs cannot read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Regle {
    /// `FREQ`.
    pub freq: Frequence,
    /// `INTERVAL`, 1–52: every `interval` days, weeks, months or years.
    #[ts(as = "Option<_>", optional)]
    pub interval: u8,
    /// `BYDAY`.
    #[ts(as = "Option<_>", optional)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub par_jour: Vec<JourRegle>,
    /// `BYMONTHDAY`: 1–31, or -1 for the last day of the month.
    #[ts(as = "Option<_>", optional)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub par_jour_du_mois: Vec<i8>,
    /// `BYMONTH`: 1–12.
    #[ts(as = "Option<_>", optional)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub par_mois: Vec<i8>,
    /// `UNTIL`, inclusive.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jusqu_au: Option<Jusqu>,
    /// `COUNT`: how many occurrences the rule makes, counted before
    /// exclusions (RFC 5545).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<u32>,
}

/// The JSON form as read, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegleBrute {
    freq: Frequence,
    #[serde(default = "un")]
    interval: u8,
    #[serde(default)]
    par_jour: Vec<JourRegle>,
    #[serde(default)]
    par_jour_du_mois: Vec<i8>,
    #[serde(default)]
    par_mois: Vec<i8>,
    #[serde(default)]
    jusqu_au: Option<Jusqu>,
    #[serde(default)]
    nombre: Option<u32>,
}

fn un() -> u8 {
    1
}

impl<'de> Deserialize<'de> for Regle {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Regle, D::Error> {
        Regle::try_from(RegleBrute::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RegleBrute> for Regle {
    type Error = RegleError;

    fn try_from(b: RegleBrute) -> Result<Regle, RegleError> {
        let mut regle = Regle {
            freq: b.freq,
            interval: b.interval,
            par_jour: b.par_jour,
            par_jour_du_mois: b.par_jour_du_mois,
            par_mois: b.par_mois,
            jusqu_au: b.jusqu_au,
            nombre: b.nombre,
        };
        regle.valider()?;
        regle.normaliser();
        Ok(regle)
    }
}

impl Frequence {
    /// The RFC 5545 name.
    pub fn code(self) -> &'static str {
        match self {
            Frequence::Quotidienne => "DAILY",
            Frequence::Hebdomadaire => "WEEKLY",
            Frequence::Mensuelle => "MONTHLY",
            Frequence::Annuelle => "YEARLY",
        }
    }
}

impl JourSemaine {
    /// All days, Monday first.
    pub const TOUS: [JourSemaine; 7] = [
        JourSemaine::Lundi,
        JourSemaine::Mardi,
        JourSemaine::Mercredi,
        JourSemaine::Jeudi,
        JourSemaine::Vendredi,
        JourSemaine::Samedi,
        JourSemaine::Dimanche,
    ];

    /// The RFC 5545 two-letter code.
    pub fn code(self) -> &'static str {
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][self.lundi_zero() as usize]
    }

    /// 0 for Monday … 6 for Sunday.
    pub fn lundi_zero(self) -> u8 {
        self as u8
    }

    pub(crate) fn de_lundi_zero(n: u8) -> JourSemaine {
        JourSemaine::TOUS[usize::from(n % 7)]
    }

    fn de_code(code: &str) -> Option<JourSemaine> {
        JourSemaine::TOUS.into_iter().find(|j| j.code() == code)
    }
}

impl fmt::Display for JourRegle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rang {
            Some(r) => write!(f, "{r}{}", self.jour.code()),
            None => f.write_str(self.jour.code()),
        }
    }
}

impl FromStr for JourRegle {
    type Err = RegleError;

    fn from_str(s: &str) -> Result<JourRegle, RegleError> {
        let erreur = || RegleError::ValeurInvalide { partie: "BYDAY", valeur: s.to_owned() };
        let coupure = s.len().checked_sub(2).ok_or_else(erreur)?;
        let (rang, code) = (s.get(..coupure).ok_or_else(erreur)?, s.get(coupure..).ok_or_else(erreur)?);
        let jour = JourSemaine::de_code(&code.to_ascii_uppercase()).ok_or_else(erreur)?;
        let rang = match rang {
            "" => None,
            r => {
                let chiffres = r.strip_prefix(['+', '-']).unwrap_or(r);
                if chiffres.is_empty() || chiffres.len() > 2 || !chiffres.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(erreur());
                }
                Some(r.parse::<i8>().map_err(|_| erreur())?)
            }
        };
        Ok(JourRegle { jour, rang })
    }
}

super::temps::serde_par_texte!(JourRegle);

impl fmt::Display for Jusqu {
    /// The JSON form: `2026-06-27`, `2026-06-27T18:30:00` or
    /// `2026-06-27T16:30:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Jusqu::Jour(j) => j.fmt(f),
            Jusqu::Locale(l) => l.fmt(f),
            Jusqu::Utc(t) => write!(f, "{}Z", DateHeure::de_instant(*t, &TimeZone::UTC)),
        }
    }
}

impl FromStr for Jusqu {
    type Err = super::temps::FormatError;

    fn from_str(s: &str) -> Result<Jusqu, Self::Err> {
        if s.len() == 10 {
            return Ok(Jusqu::Jour(s.parse()?));
        }
        match s.strip_suffix('Z') {
            Some(utc) => {
                let l: DateHeure = utc.parse()?;
                let t = l.instant(&TimeZone::UTC).ok_or_else(|| super::temps::FormatError::DateHeure(s.into()))?;
                Ok(Jusqu::Utc(t))
            }
            None => Ok(Jusqu::Locale(s.parse()?)),
        }
    }
}

super::temps::serde_par_texte!(Jusqu);

impl Jusqu {
    /// RFC 5545 form: `20260627`, `20260627T183000`, `20260627T163000Z`.
    fn rrule(&self) -> String {
        match self {
            Jusqu::Jour(j) => j.compact(),
            Jusqu::Locale(l) => l.compact(),
            Jusqu::Utc(t) => format!("{}Z", DateHeure::de_instant(*t, &TimeZone::UTC).compact()),
        }
    }

    fn de_rrule(v: &str) -> Option<Jusqu> {
        let b = v.as_bytes();
        let nombre = |a: usize, n: usize| -> Option<i8> {
            let t = v.get(a..a + n)?;
            t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
        };
        let annee: i16 = v.get(..4).filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?.parse().ok()?;
        let jour = Jour::new(annee, nombre(4, 2)?, nombre(6, 2)?)?;
        match b.len() {
            8 => Some(Jusqu::Jour(jour)),
            15 | 16 if b[8] == b'T' => {
                let l = DateHeure::avec_secondes(annee, jour.mois(), jour.jour(), nombre(9, 2)?, nombre(11, 2)?, {
                    nombre(13, 2)?
                })?;
                match b.get(15) {
                    None => Some(Jusqu::Locale(l)),
                    Some(b'Z') => l.instant(&TimeZone::UTC).map(Jusqu::Utc),
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }
}

fn entier<T: FromStr>(partie: &'static str, v: &str) -> Result<T, RegleError> {
    let chiffres = v.strip_prefix(['+', '-']).unwrap_or(v);
    if chiffres.is_empty() || chiffres.len() > 5 || !chiffres.bytes().all(|c| c.is_ascii_digit()) {
        return Err(RegleError::ValeurInvalide { partie, valeur: v.to_owned() });
    }
    v.parse().map_err(|_| RegleError::ValeurInvalide { partie, valeur: v.to_owned() })
}

fn liste<T: FromStr>(partie: &'static str, v: &str) -> Result<Vec<T>, RegleError> {
    v.split(',').map(|x| entier(partie, x)).collect()
}

const PARTIES: [&str; 8] = ["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL", "WKST"];

impl FromStr for Regle {
    type Err = RegleError;

    /// Reads `RRULE` text, with or without the `RRULE:` prefix. Names and
    /// values are case-insensitive (RFC 5545); the result is validated and
    /// its lists sorted.
    fn from_str(texte: &str) -> Result<Regle, RegleError> {
        let texte = texte.trim();
        let texte = match texte.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("RRULE:") => &texte[6..],
            _ => texte,
        };
        if texte.is_empty() {
            return Err(RegleError::Vide);
        }
        let mut vu = [false; PARTIES.len()];
        let mut freq = None;
        let mut regle = Regle::nouvelle(Frequence::Quotidienne);
        for partie in texte.split(';') {
            let (nom, valeur) = partie.split_once('=').ok_or_else(|| RegleError::PartieMalFormee(partie.into()))?;
            let nom = nom.trim().to_ascii_uppercase();
            let valeur = valeur.trim().to_ascii_uppercase();
            let index = PARTIES
                .iter()
                .position(|p| *p == nom)
                .ok_or_else(|| RegleError::PartieNonPriseEnCharge(nom.clone()))?;
            if std::mem::replace(&mut vu[index], true) {
                return Err(RegleError::PartieEnDouble(nom));
            }
            let p = PARTIES[index];
            let invalide = || RegleError::ValeurInvalide { partie: p, valeur: valeur.clone() };
            match p {
                "FREQ" => {
                    let f =
                        [Frequence::Quotidienne, Frequence::Hebdomadaire, Frequence::Mensuelle, Frequence::Annuelle]
                            .into_iter()
                            .find(|f| f.code() == valeur);
                    freq = Some(f.ok_or_else(invalide)?);
                }
                "INTERVAL" => regle.interval = entier(p, &valeur)?,
                "BYDAY" => regle.par_jour = valeur.split(',').map(str::parse).collect::<Result<_, _>>()?,
                "BYMONTHDAY" => regle.par_jour_du_mois = liste(p, &valeur)?,
                "BYMONTH" => regle.par_mois = liste(p, &valeur)?,
                "COUNT" => regle.nombre = Some(entier(p, &valeur)?),
                "UNTIL" => regle.jusqu_au = Some(Jusqu::de_rrule(&valeur).ok_or_else(invalide)?),
                _ => {
                    // WKST: weeks start on Monday in France, and only then.
                    if valeur != "MO" {
                        return Err(invalide());
                    }
                }
            }
        }
        regle.freq = freq.ok_or(RegleError::FreqManquante)?;
        regle.valider()?;
        regle.normaliser();
        Ok(regle)
    }
}

impl fmt::Display for Regle {
    /// Canonical `RRULE` value (without the `RRULE:` prefix): parts in a
    /// fixed order, `INTERVAL=1` and `WKST=MO` left out, `UNTIL` as stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ecrire(f, self.jusqu_au.map(|j| j.rrule()))
    }
}

fn joindre<T: fmt::Display>(v: &[T]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

impl Regle {
    /// A rule with only `FREQ` (and `INTERVAL=1`).
    pub fn nouvelle(freq: Frequence) -> Regle {
        Regle {
            freq,
            interval: 1,
            par_jour: Vec::new(),
            par_jour_du_mois: Vec::new(),
            par_mois: Vec::new(),
            jusqu_au: None,
            nombre: None,
        }
    }

    pub(crate) fn ecrire(&self, f: &mut impl fmt::Write, jusqu: Option<String>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq.code())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.par_mois.is_empty() {
            write!(f, ";BYMONTH={}", joindre(&self.par_mois))?;
        }
        if !self.par_jour_du_mois.is_empty() {
            write!(f, ";BYMONTHDAY={}", joindre(&self.par_jour_du_mois))?;
        }
        if !self.par_jour.is_empty() {
            write!(f, ";BYDAY={}", joindre(&self.par_jour))?;
        }
        if let Some(j) = jusqu {
            write!(f, ";UNTIL={j}")?;
        }
        if let Some(n) = self.nombre {
            write!(f, ";COUNT={n}")?;
        }
        Ok(())
    }

    /// Sorts the lists: weekdays Monday first (then by rank), days of the
    /// month in order with the last day (-1) at the end, months in order.
    pub(crate) fn normaliser(&mut self) {
        self.par_jour.sort_by_key(|j| (j.jour, j.rang.map(|r| if r < 0 { 100 - r } else { r })));
        self.par_jour_du_mois.sort_by_key(|&d| if d < 0 { 100 - i16::from(d) } else { i16::from(d) });
        self.par_mois.sort_unstable();
    }

    /// Checks the rule is inside Essaim's subset.
    pub fn valider(&self) -> Result<(), RegleError> {
        let freq = self.freq.code();
        let invalide = |partie: &'static str, valeur: String| Err(RegleError::ValeurInvalide { partie, valeur });
        if !(1..=INTERVAL_MAX).contains(&self.interval) {
            return invalide("INTERVAL", self.interval.to_string());
        }
        if self.nombre.is_some() && self.jusqu_au.is_some() {
            return Err(RegleError::NombreEtJusquAu);
        }
        if let Some(n) = self.nombre.filter(|n| !(1..=NOMBRE_MAX).contains(n)) {
            return invalide("COUNT", n.to_string());
        }
        if let Some(d) = doublon(&self.par_jour) {
            return invalide("BYDAY", d.to_string());
        }
        if let Some(d) = doublon(&self.par_jour_du_mois) {
            return invalide("BYMONTHDAY", d.to_string());
        }
        if let Some(d) = doublon(&self.par_mois) {
            return invalide("BYMONTH", d.to_string());
        }
        for j in &self.par_jour {
            let rang_valide = match (self.freq, j.rang) {
                (_, None) => true,
                (Frequence::Mensuelle | Frequence::Annuelle, Some(r)) => (1..=5).contains(&r) || r == -1,
                _ => false,
            };
            if !rang_valide {
                return invalide("BYDAY", j.to_string());
            }
        }
        if self.par_jour.iter().any(|j| j.rang.is_some()) && self.par_jour.iter().any(|j| j.rang.is_none()) {
            return Err(RegleError::RangsMelanges);
        }
        if let Some(d) = self.par_jour_du_mois.iter().find(|&&d| !((1..=31).contains(&d) || d == -1)) {
            return invalide("BYMONTHDAY", d.to_string());
        }
        if let Some(m) = self.par_mois.iter().find(|&&m| !(1..=12).contains(&m)) {
            return invalide("BYMONTH", m.to_string());
        }
        let incompatible = |partie| Err(RegleError::PartieIncompatible { partie, freq });
        match self.freq {
            Frequence::Quotidienne if !self.par_jour.is_empty() => return incompatible("BYDAY"),
            Frequence::Quotidienne | Frequence::Hebdomadaire if !self.par_jour_du_mois.is_empty() => {
                return incompatible("BYMONTHDAY");
            }
            Frequence::Quotidienne | Frequence::Hebdomadaire if !self.par_mois.is_empty() => {
                return incompatible("BYMONTH");
            }
            Frequence::Annuelle if self.par_mois.is_empty() && !self.par_jour.is_empty() => {
                return Err(RegleError::MoisRequis { partie: "BYDAY" });
            }
            Frequence::Annuelle if self.par_mois.is_empty() && !self.par_jour_du_mois.is_empty() => {
                return Err(RegleError::MoisRequis { partie: "BYMONTHDAY" });
            }
            _ => {}
        }
        if !self.par_jour.is_empty() && !self.par_jour_du_mois.is_empty() {
            return Err(RegleError::JourEtJourDuMois);
        }
        Ok(())
    }
}

fn doublon<T: PartialEq>(v: &[T]) -> Option<&T> {
    v.iter().enumerate().find(|(i, x)| v[..*i].contains(x)).map(|(_, x)| x)
}
