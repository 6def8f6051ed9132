//! The rhythm engine against an independent oracle: python-dateutil's
//! `rrule` for the local times, Python's `zoneinfo` (pinned `tzdata`) for the
//! instants. See `rythme_oracle.py` for the oracle's side and its DST notes.
//!
//! Rules are generated deterministically (xorshift, fixed seed) over every
//! supported part, DST days, month ends, leap years and several zones. Both
//! sides expand each one over the same window; every occurrence must match:
//! original local start, effective local start and UTC instant.
//!
//! Needs `python3` with python-dateutil and tzdata, installed by
//! `scripts/setup.sh` in `target/rythme-oracle-venv`. Without them the test
//! fails, with a message saying so; it never skips.

use serde_json::{Value, json};
use sync_core::rythme::jiff::Span;
use sync_core::rythme::{
    DateHeure, Duree, Frequence, Jour, JourRegle, JourSemaine, Jusqu, Pause, Regle, Rythme, Timestamp,
};

use crate::support::python_oracle;

const SEED: u64 = 0x5EED_2026_E55A_1A11;
const CAS: usize = 400;
const DU: &str = "2024-01-01T00:00:00Z";
const AU: &str = "2031-01-01T00:00:00Z";
const FUSEAUX: [&str; 9] = [
    "Europe/Paris",
    "Indian/Reunion",
    "America/Cayenne",
    "America/Martinique",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

struct Alea(u64);

impl Alea {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn sous(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn entre(&mut self, a: i64, b: i64) -> i64 {
        a + i64::try_from(self.sous(u64::try_from(b - a + 1).expect("a <= b"))).expect("small")
    }

    fn pile(&mut self, pourcent: u64) -> bool {
        self.sous(100) < pourcent
    }

    fn choix<T: Copy>(&mut self, v: &[T]) -> T {
        v[usize::try_from(self.sous(v.len() as u64)).expect("small")]
    }
}

fn n8(x: i64) -> i8 {
    i8::try_from(x).expect("small")
}

/// A day near a DST change (last Sundays of March and October, the US and
/// southern-hemisphere ones), a month end, 29 February, or any day.
fn jour(a: &mut Alea) -> Jour {
    let annee = i16::try_from(a.entre(2024, 2029)).expect("year");
    let (mois, jour) = match a.sous(6) {
        0 => (3, a.entre(24, 31)),
        1 => (10, a.entre(24, 31)),
        2 => (a.choix(&[3, 4, 9, 11]), a.entre(1, 14)),
        3 => (2, a.entre(27, 29)),
        4 => (a.entre(1, 12), a.entre(28, 31)),
        _ => (a.entre(1, 12), a.entre(1, 31)),
    };
    (0..4).find_map(|recul| Jour::new(annee, n8(mois), n8(jour - recul))).expect("one of four consecutive days exists")
}

fn date_heure(a: &mut Alea) -> DateHeure {
    let j = jour(a);
    // Times in the DST gaps and folds of the zones above, midnight, and
    // ordinary evening rendez-vous.
    let (h, m) = a.choix(&[(2, 30), (2, 0), (1, 30), (2, 15), (3, 0), (0, 0), (18, 30), (23, 45), (12, 0)]);
    DateHeure::new(j.annee(), j.mois(), j.jour(), h, m).expect("valid time")
}

fn jours_semaine(a: &mut Alea) -> Vec<JourSemaine> {
    let mut v: Vec<JourSemaine> = JourSemaine::TOUS.into_iter().filter(|_| a.pile(30)).collect();
    if v.is_empty() {
        v.push(a.choix(&JourSemaine::TOUS));
    }
    v
}

fn par_jour_ordinal(a: &mut Alea) -> Vec<JourRegle> {
    // Ranked or plain, never both (refused by the subset).
    let classes = a.pile(85);
    let n = a.entre(1, 2);
    let mut v: Vec<JourRegle> = Vec::new();
    for _ in 0..n {
        let rang = if classes { Some(n8(a.choix(&[1, 2, 3, 4, 5, -1]))) } else { None };
        let j = JourRegle { jour: a.choix(&JourSemaine::TOUS), rang };
        if !v.contains(&j) {
            v.push(j);
        }
    }
    v
}

fn mois(a: &mut Alea, max: usize) -> Vec<i8> {
    let mut v: Vec<i8> = (1..=12).filter(|_| a.pile(25)).collect();
    v.truncate(max);
    if v.is_empty() {
        v.push(n8(a.entre(1, 12)));
    }
    v
}

fn jours_du_mois(a: &mut Alea) -> Vec<i8> {
    let mut v = vec![n8(a.choix(&[1, 15, 28, 29, 30, 31, -1]))];
    if a.pile(30) {
        let d = n8(a.entre(1, 31));
        if !v.contains(&d) {
            v.push(d);
        }
    }
    v
}

fn regle(a: &mut Alea) -> Regle {
    let freq = a.choix(&[Frequence::Quotidienne, Frequence::Hebdomadaire, Frequence::Mensuelle, Frequence::Annuelle]);
    let mut r = Regle::nouvelle(freq);
    r.interval = match a.sous(10) {
        0..=5 => 1,
        6..=8 => u8::try_from(a.entre(2, 5)).expect("small"),
        _ => u8::try_from(a.entre(6, 52)).expect("small"),
    };
    match freq {
        Frequence::Quotidienne => {}
        Frequence::Hebdomadaire => {
            if a.pile(80) {
                r.par_jour = jours_semaine(a).into_iter().map(|jour| JourRegle { jour, rang: None }).collect();
            }
        }
        Frequence::Mensuelle | Frequence::Annuelle => {
            let annuelle = freq == Frequence::Annuelle;
            if annuelle || a.pile(25) {
                r.par_mois = mois(a, if annuelle { 3 } else { 6 });
            }
            match a.sous(3) {
                0 => r.par_jour = par_jour_ordinal(a),
                1 => r.par_jour_du_mois = jours_du_mois(a),
                _ => {}
            }
        }
    }
    match a.sous(5) {
        0 | 1 => r.nombre = Some(u32::try_from(a.entre(1, 60)).expect("small")),
        2 => r.jusqu_au = Some(Jusqu::Jour(jour(a))),
        3 => {
            r.jusqu_au = Some(if a.pile(50) {
                Jusqu::Locale(date_heure(a))
            } else {
                Jusqu::Utc(instant(&format!("{}Z", date_heure(a))))
            });
        }
        _ => {}
    }
    r
}

fn instant(s: &str) -> Timestamp {
    s.parse().expect("valid instant")
}

fn cas(a: &mut Alea) -> Rythme {
    let debut = date_heure(a);
    let mut r = Rythme::ponctuel(debut, Duree::minutes(u32::try_from(a.entre(15, 240)).expect("small")));
    r.fuseau = a.choix(&FUSEAUX).to_owned();
    if a.pile(95) {
        let regle = regle(a);
        regle.valider().expect("the generator makes rules inside the subset");
        r.regle = Some(regle);
    }
    if a.pile(30) {
        // Exclusions on the start's time of day: some hit an occurrence.
        for _ in 0..a.entre(1, 4) {
            let j = jour(a);
            let x = DateHeure::new(j.annee(), j.mois(), j.jour(), debut.heure(), debut.minute()).expect("valid");
            r.exclusions.push(x);
        }
        r.exclusions.push(debut);
    }
    if a.pile(20) {
        r.ajouts = (0..a.entre(1, 3)).map(|_| date_heure(a)).collect();
    }
    if a.pile(20) {
        let du = jour(a);
        let premier = DateHeure::new(du.annee(), du.mois(), du.jour(), 0, 0).expect("valid").civil().date();
        let dernier = premier.checked_add(Span::new().days(a.entre(0, 60))).expect("in range");
        let au = Jour::new(dernier.year(), dernier.month(), dernier.day()).expect("valid");
        r.pauses.push(Pause { du, au, motif: None });
    }
    r
}

#[test]
fn the_engine_agrees_with_python_dateutil_and_zoneinfo() {
    let mut a = Alea(SEED);
    let (du, au) = (instant(DU), instant(AU));
    let rythmes: Vec<Rythme> = (0..CAS).map(|_| cas(&mut a)).collect();
    let entree: Vec<Value> = rythmes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "id": i.to_string(),
                "fuseau": r.fuseau,
                "debut": r.debut.to_string(),
                "regle": r.regle.as_ref().map(ToString::to_string),
                "ajouts": r.ajouts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "exclusions": r.exclusions.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "pauses": r.pauses.iter().map(|p| [p.du.to_string(), p.au.to_string()]).collect::<Vec<_>>(),
                "du": DU,
                "au": AU,
            })
        })
        .collect();

    let attendu = python_oracle("rythme_oracle.py", &json!({ "cas": entree }));

    let mut ecarts = Vec::new();
    let (mut compares, mut regles_vides) = (0usize, 0usize);
    for (i, r) in rythmes.iter().enumerate() {
        let nous: Vec<[String; 3]> = r
            .occurrences(du, au)
            .expect("valid zone")
            .iter()
            .map(|o| [o.origine.to_string(), o.debut.to_string(), o.debut_utc.to_string()])
            .collect();
        let eux: Vec<[String; 3]> =
            serde_json::from_value(attendu["resultats"][i.to_string()].clone()).expect("oracle result per case");
        compares += eux.len();
        regles_vides += usize::from(eux.is_empty());
        if nous != eux {
            let premier = nous.iter().zip(&eux).position(|(x, y)| x != y).unwrap_or(nous.len().min(eux.len()));
            ecarts.push(format!(
                "case {i}: {} {} RRULE:{} ajouts={:?} exclusions={:?} pauses={:?}\n  \
                 first difference at #{premier}: engine {:?} / oracle {:?} ({} vs {} occurrences)",
                r.fuseau,
                r.debut,
                r.regle.as_ref().map(ToString::to_string).unwrap_or_default(),
                r.ajouts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                r.exclusions.iter().map(ToString::to_string).collect::<Vec<_>>(),
                r.pauses,
                nous.get(premier),
                eux.get(premier),
                nous.len(),
                eux.len()
            ));
        }
    }
    println!("rythme oracle: {CAS} rhythms, {compares} occurrences compared, {regles_vides} with none in the window");
    assert!(compares > 5_000, "the generator should produce plenty of occurrences, got {compares}");
    assert!(
        ecarts.is_empty(),
        "{} of {CAS} rhythms differ from the oracle:\n{}",
        ecarts.len(),
        ecarts[..ecarts.len().min(8)].join("\n")
    );
}
