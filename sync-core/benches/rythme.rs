//! Expanding one year of a territory's agenda: 500 actions, 100 of them
//! recurring (weekly, fortnightly, monthly by rank and by day, yearly, daily),
//! spread over several time zones, with exclusions, pauses and exceptions.
//!
//! Run: `cargo bench -p sync-core --bench rythme`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sync_core::rythme::{DateHeure, Duree, EtatOccurrence, Exception, Pause, Regle, Rythme, Timestamp};

const REGLES: [&str; 10] = [
    "FREQ=WEEKLY;BYDAY=WE;UNTIL=20270630",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=40",
    "FREQ=MONTHLY;BYDAY=1SA;UNTIL=20270630",
    "FREQ=MONTHLY;BYDAY=1TU,3TU;COUNT=30",
    "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231",
    "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=24",
    "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20271231",
    "FREQ=YEARLY;BYMONTH=5;BYDAY=-1SA;COUNT=5",
    "FREQ=DAILY;UNTIL=20260630",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231",
];
const FUSEAUX: [&str; 4] = ["Europe/Paris", "Indian/Reunion", "America/Cayenne", "Pacific/Noumea"];

fn territoire() -> Vec<Rythme> {
    let debut = |s: &str| -> DateHeure { s.parse().expect("valid local time") };
    let mut actions = Vec::with_capacity(500);
    for i in 0..500usize {
        let fuseau = FUSEAUX[i % FUSEAUX.len()].to_owned();
        let mut r = Rythme::ponctuel(debut("2026-03-04T18:30:00"), Duree::minutes(120));
        r.fuseau = fuseau;
        if i % 5 == 0 {
            let regle: Regle = REGLES[(i / 5) % REGLES.len()].parse().expect("valid rule");
            // A start that is the rule's first occurrence is not needed to
            // expand; it only matters for validation.
            r.regle = Some(regle);
            r.debut = debut("2026-01-02T18:30:00");
            r.exclusions.push(debut("2026-04-01T18:30:00"));
            r.pauses.push(Pause {
                du: "2026-07-14".parse().expect("day"),
                au: "2026-08-20".parse().expect("day"),
                motif: None,
            });
            r.exceptions.insert(
                "2026-05-06T18:30:00".to_owned(),
                Exception { etat: Some(EtatOccurrence::Annule), ..Exception::default() },
            );
            r.exceptions.insert(
                "2026-09-02T18:30:00".to_owned(),
                Exception { debut: Some(debut("2026-09-03T19:00:00")), ..Exception::default() },
            );
        } else {
            let jour = 1 + (i % 28);
            let mois = 1 + (i % 12);
            r.debut = debut(&format!("2026-{mois:02}-{jour:02}T10:00:00"));
        }
        actions.push(r);
    }
    actions
}

fn expand_year(c: &mut Criterion) {
    let actions = territoire();
    let du: Timestamp = "2026-01-01T00:00:00Z".parse().expect("instant");
    let au: Timestamp = "2027-01-01T00:00:00Z".parse().expect("instant");
    let total: usize = actions.iter().map(|r| r.occurrences(du, au).expect("valid zone").len()).sum();
    println!("one year of 500 actions (100 recurring): {total} occurrences");
    c.bench_function("rythme: one year, 500 actions, 100 recurring", |b| {
        b.iter(|| {
            let n: usize =
                actions.iter().map(|r| r.occurrences(black_box(du), black_box(au)).map_or(0, |o| o.len())).sum();
            black_box(n)
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = expand_year
}
criterion_main!(benches);
