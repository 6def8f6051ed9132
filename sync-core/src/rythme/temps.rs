//! Local wall times, calendar days, durations and time zones of a rhythm.
//!
//! Text forms are strict and canonical so that a local start can be a map
//! key (exceptions are keyed by it): `AAAA-MM-JJTHH:MM:SS` for a local wall
//! time ([`DateHeure`]), `AAAA-MM-JJ` for a day ([`Jour`]), `PT2H30M` for a
//! duration ([`Duree`]). Time zones come from the IANA database compiled into
//! the binary by `jiff`; nothing here reads files or the system clock.
//!
//! Calendar arithmetic on days (day numbers, weekdays, month lengths) is done
//! here with plain integers: it is the inner loop of the expansion.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
#[cfg(feature = "tzdb")]
use jiff::tz::TimeZoneDatabase;

/// The time zone used when a territory names none.
///
/// The only place this name is written: everything else takes the zone from
/// the rhythm (`fuseau`) or from the territory.
pub const FUSEAU_PAR_DEFAUT: &str = "Europe/Paris";

/// A value that does not have the canonical text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not `AAAA-MM-JJTHH:MM:SS` (or `AAAA-MM-JJTHH:MM`), or not a real
    /// date and time.
    #[error("date et heure locales invalides\u{a0}: «\u{a0}{0}\u{a0}» (attendu AAAA-MM-JJTHH:MM:SS)")]
    DateHeure(String),
    /// Not `AAAA-MM-JJ`, or not a real date.
    #[error("date invalide\u{a0}: «\u{a0}{0}\u{a0}» (attendu AAAA-MM-JJ)")]
    Jour(String),
    /// Not an ISO 8601 duration `PT…H…M`.
    #[error("durée invalide\u{a0}: «\u{a0}{0}\u{a0}» (attendu PT2H, PT1H30M, PT45M)")]
    Duree(String),
}

/// A local wall time, without offset: what the clock on the wall of the
/// rhythm's time zone shows. Seconds are kept; sub-seconds are not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateHeure(DateTime);

/// A calendar day, without time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jour {
    annee: i16,
    mois: i8,
    jour: i8,
}

/// A duration in whole minutes, written as ISO 8601 `PT…H…M`.
///
/// Exact time: 2 hours after 01:30 on the night clocks go forward ends at
/// 04:30 on the wall. Days (`P1D`) are not accepted: a rendez-vous longer
/// than a day is written in hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duree {
    minutes: u32,
}

impl DateHeure {
    /// A local wall time, if the date and time exist on the calendar.
    pub fn new(annee: i16, mois: i8, jour: i8, heure: i8, minute: i8) -> Option<DateHeure> {
        Self::avec_secondes(annee, mois, jour, heure, minute, 0)
    }

    pub(crate) fn avec_secondes(annee: i16, mois: i8, jour: i8, h: i8, mi: i8, s: i8) -> Option<DateHeure> {
        if !(1..=9999).contains(&annee) {
            return None;
        }
        DateTime::new(annee, mois, jour, h, mi, s, 0).ok().map(DateHeure)
    }

    /// Its calendar day.
    pub fn jour(self) -> Jour {
        Jour { annee: self.0.year(), mois: self.0.month(), jour: self.0.day() }
    }

    /// Hour (0–23).
    pub fn heure(self) -> i8 {
        self.0.hour()
    }

    /// Minute (0–59).
    pub fn minute(self) -> i8 {
        self.0.minute()
    }

    /// Second (0–59).
    pub fn seconde(self) -> i8 {
        self.0.second()
    }

    /// Seconds since midnight.
    pub(crate) fn secondes_du_jour(self) -> i32 {
        i32::from(self.heure()) * 3600 + i32::from(self.minute()) * 60 + i32::from(self.seconde())
    }

    /// The same time of day on another day.
    pub(crate) fn le(jour: Jour, secondes_du_jour: i32) -> Option<DateHeure> {
        // Seconds of a day fit in i8 pieces: < 24 h, < 60 min, < 60 s.
        let h = i8::try_from(secondes_du_jour / 3600).ok()?;
        let mi = i8::try_from(secondes_du_jour / 60 % 60).ok()?;
        let s = i8::try_from(secondes_du_jour % 60).ok()?;
        Self::avec_secondes(jour.annee, jour.mois, jour.jour, h, mi, s)
    }

    /// This wall time as jiff's civil date-time.
    pub fn civil(self) -> DateTime {
        self.0
    }

    /// The instant of this wall time in `tz`, the RFC 5545 way: a time that
    /// does not exist (clocks go forward) moves forward by the length of the
    /// gap; a time that happens twice (clocks go back) is the first, earlier,
    /// instant.
    pub fn instant(self, tz: &TimeZone) -> Option<Timestamp> {
        tz.to_ambiguous_timestamp(self.0).compatible().ok()
    }

    /// The wall time of `instant` in `tz`.
    pub fn de_instant(instant: Timestamp, tz: &TimeZone) -> DateHeure {
        // Instants here are whole seconds: starts have no sub-seconds and
        // durations are whole minutes.
        DateHeure(tz.to_datetime(instant))
    }

    /// The last wall time of a day (23:59:59).
    pub(crate) fn fin_du_jour(jour: Jour) -> Option<DateHeure> {
        Self::avec_secondes(jour.annee, jour.mois, jour.jour, 23, 59, 59)
    }

    /// Compact RFC 5545 form, `AAAAMMJJTHHMMSS`.
    pub(crate) fn compact(self) -> String {
        format!("{}T{:02}{:02}{:02}", self.jour().compact(), self.heure(), self.minute(), self.seconde())
    }
}

impl Jour {
    /// A calendar day, if it exists.
    pub fn new(annee: i16, mois: i8, jour: i8) -> Option<Jour> {
        let valide = (1..=9999).contains(&annee) && (1..=12).contains(&mois) && jour >= 1;
        (valide && jour <= jours_dans_mois(annee, mois)).then_some(Jour { annee, mois, jour })
    }

    /// Year.
    pub fn annee(self) -> i16 {
        self.annee
    }

    /// Month, 1–12.
    pub fn mois(self) -> i8 {
        self.mois
    }

    /// Day of the month, 1–31.
    pub fn jour(self) -> i8 {
        self.jour
    }

    /// Day of the week.
    pub fn jour_semaine(self) -> crate::rythme::JourSemaine {
        crate::rythme::JourSemaine::de_lundi_zero(lundi_zero(self.numero()))
    }

    /// Days since 1970-01-01.
    pub(crate) fn numero(self) -> i64 {
        numero_de_jour(i64::from(self.annee), i64::from(self.mois), i64::from(self.jour))
    }

    /// The day with that number (inverse of [`Jour::numero`]).
    pub(crate) fn de_numero(n: i64) -> Option<Jour> {
        let (a, m, j) = jour_de_numero(n);
        Jour::new(i16::try_from(a).ok()?, i8::try_from(m).ok()?, i8::try_from(j).ok()?)
    }

    /// Compact RFC 5545 form, `AAAAMMJJ`.
    pub(crate) fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.annee, self.mois, self.jour)
    }
}

impl Duree {
    /// A duration of so many minutes.
    pub fn minutes(minutes: u32) -> Duree {
        Duree { minutes }
    }

    /// Its length in minutes.
    pub fn en_minutes(self) -> u32 {
        self.minutes
    }

    pub(crate) fn signee(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.minutes))
    }
}

/// The time zones of French territories, metropolitan and overseas, in
/// one list: [`FUSEAUX`] and [`fuseau_francais`] (compiled in from jiff's
/// own copy of the IANA database by its `get!`, a few kilobytes instead of
/// the whole database).
macro_rules! fuseaux_francais {
    ($($nom:literal),+ $(,)?) => {
        /// The time zones of French territories: the only ones the browser
        /// build (without the `tzdb` feature) knows.
        pub const FUSEAUX: &[&str] = &[$($nom),+];

        /// The time zone named `nom` if it is one of [`FUSEAUX`].
        pub fn fuseau_francais(nom: &str) -> Option<TimeZone> {
            match nom {
                $($nom => Some(jiff::tz::get!($nom)),)+
                _ => None,
            }
        }
    };
}

fuseaux_francais!(
    "Europe/Paris",
    "America/Cayenne",
    "America/Guadeloupe",
    "America/Marigot",
    "America/Martinique",
    "America/Miquelon",
    "America/St_Barthelemy",
    "Indian/Kerguelen",
    "Indian/Mayotte",
    "Indian/Reunion",
    "Pacific/Gambier",
    "Pacific/Marquesas",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "Pacific/Wallis",
    "Antarctica/DumontDUrville",
);

/// The time zone named `fuseau`, from the compiled-in IANA database: all of
/// it with the `tzdb` feature (the relay), else only [`FUSEAUX`] (the
/// browser, whose app refuses other zones with a French error).
///
/// Names must be spelled exactly as in the database (`Europe/Paris`, not
/// `europe/paris`), so that two devices never store two spellings.
pub fn fuseau(nom: &str) -> Option<TimeZone> {
    #[cfg(feature = "tzdb")]
    {
        // The bundled database, explicitly: never the system's files,
        // whatever features other crates enable on jiff.
        static BASE: std::sync::OnceLock<TimeZoneDatabase> = std::sync::OnceLock::new();
        let tz = BASE.get_or_init(TimeZoneDatabase::bundled).get(nom).ok()?;
        (tz.iana_name() == Some(nom)).then_some(tz)
    }
    #[cfg(not(feature = "tzdb"))]
    fuseau_francais(nom)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub(crate) fn numero_de_jour(annee: i64, mois: i64, jour: i64) -> i64 {
    let a = if mois <= 2 { annee - 1 } else { annee };
    let ere = a.div_euclid(400);
    let yoe = a - ere * 400;
    let mp = (mois + 9) % 12;
    let doy = (153 * mp + 2) / 5 + jour - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    ere * 146_097 + doe - 719_468
}

/// Inverse of [`numero_de_jour`] (`civil_from_days`).
pub(crate) fn jour_de_numero(n: i64) -> (i64, i64, i64) {
    let z = n + 719_468;
    let ere = z.div_euclid(146_097);
    let doe = z - ere * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let jour = doy - (153 * mp + 2) / 5 + 1;
    let mois = if mp < 10 { mp + 3 } else { mp - 9 };
    let annee = yoe + ere * 400 + i64::from(mois <= 2);
    (annee, mois, jour)
}

/// Day of the week of a day number, 0 = Monday.
pub(crate) fn lundi_zero(numero: i64) -> u8 {
    // 1970-01-01 was a Thursday (3). rem_euclid(7) is in 0..7.
    u8::try_from((numero + 3).rem_euclid(7)).unwrap_or(0)
}

pub(crate) fn bissextile(annee: i16) -> bool {
    annee % 4 == 0 && (annee % 100 != 0 || annee % 400 == 0)
}

pub(crate) fn jours_dans_mois(annee: i16, mois: i8) -> i8 {
    match mois {
        2 if bissextile(annee) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads `n` ASCII digits at `at`.
fn chiffres(s: &[u8], at: usize, n: usize) -> Option<i32> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0i32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0')))
}

fn lire_jour(s: &[u8]) -> Option<Jour> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let a = i16::try_from(chiffres(s, 0, 4)?).ok()?;
    Jour::new(a, i8::try_from(chiffres(s, 5, 2)?).ok()?, i8::try_from(chiffres(s, 8, 2)?).ok()?)
}

impl FromStr for Jour {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Jour, FormatError> {
        lire_jour(s.as_bytes()).ok_or_else(|| FormatError::Jour(s.to_owned()))
    }
}

impl FromStr for DateHeure {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<DateHeure, FormatError> {
        let b = s.as_bytes();
        let erreur = || FormatError::DateHeure(s.to_owned());
        if !(b.len() == 16 || b.len() == 19) || b[10] != b'T' || b[13] != b':' {
            return Err(erreur());
        }
        let jour = lire_jour(&b[..10]).ok_or_else(erreur)?;
        let h = chiffres(b, 11, 2).ok_or_else(erreur)?;
        let mi = chiffres(b, 14, 2).ok_or_else(erreur)?;
        let sec = if b.len() == 19 {
            if b[16] != b':' {
                return Err(erreur());
            }
            chiffres(b, 17, 2).ok_or_else(erreur)?
        } else {
            0
        };
        if h > 23 || mi > 59 || sec > 59 {
            return Err(erreur());
        }
        DateHeure::le(jour, h * 3600 + mi * 60 + sec).ok_or_else(erreur)
    }
}

impl FromStr for Duree {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Duree, FormatError> {
        let erreur = || FormatError::Duree(s.to_owned());
        let reste = s.strip_prefix("PT").ok_or_else(erreur)?;
        let (heures, reste) = match reste.split_once('H') {
            Some((h, r)) => (Some(h), r),
            None => (None, reste),
        };
        let minutes = match reste {
            "" => None,
            r => Some(r.strip_suffix('M').ok_or_else(erreur)?),
        };
        if heures.is_none() && minutes.is_none() {
            return Err(erreur());
        }
        let nombre = |t: Option<&str>| -> Result<u32, FormatError> {
            match t {
                None => Ok(0),
                Some(t) if !t.is_empty() && t.len() <= 6 && t.bytes().all(|c| c.is_ascii_digit()) => {
                    t.parse().map_err(|_| erreur())
                }
                Some(_) => Err(erreur()),
            }
        };
        Ok(Duree { minutes: nombre(heures)? * 60 + nombre(minutes)? })
    }
}

impl fmt::Display for DateHeure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{:02}:{:02}:{:02}", self.jour(), self.heure(), self.minute(), self.seconde())
    }
}

impl fmt::Display for Jour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.annee, self.mois, self.jour)
    }
}

impl fmt::Display for Duree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m) = (self.minutes / 60, self.minutes % 60);
        match (h, m) {
            (0, m) => write!(f, "PT{m}M"),
            (h, 0) => write!(f, "PT{h}H"),
            (h, m) => write!(f, "PT{h}H{m}M"),
        }
    }
}

/// Serialised as their text form (`Display` and `FromStr`), so a string in
/// TypeScript too.
macro_rules! serde_par_texte {
    ($($t:ty),*) => {$(
        impl ts_rs::TS for $t {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;

            fn name(_: &ts_rs::Config) -> String {
                "string".to_owned()
            }

            fn inline(_: &ts_rs::Config) -> String {
                "string".to_owned()
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let texte = <String as serde::Deserialize>::deserialize(d)?;
                texte.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

pub(crate) use serde_par_texte;

serde_par_texte!(DateHeure, Jour, Duree);
