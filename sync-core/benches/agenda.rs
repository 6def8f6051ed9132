//! Reading a territory's agenda: the read model of a document with 500
//! actions (400 chantiers, 100 weekly rendez-vous), then its rendez-vous of
//! the next month; and the read model brought up to date after one edit
//! (`LectureAgenda::suivre`), what the PWA pays when the document changes
//! instead of the whole read, so it bounds the time from an edit to a
//! screen.
//!
//! Run: `cargo bench -p sync-core --bench agenda`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sync_core::agenda::{Collection, Edit, LectureAgenda, Profil};
use sync_core::automerge::ActorId;
use sync_core::rythme::Timestamp;
use sync_core::{Config, DocumentId, Repo, UnixMillis};

fn territoire() -> (Repo, DocumentId) {
    let config = Config::new("bench".parse().expect("peer id"), ActorId::from([7u8; 16]), "session".into());
    let (mut repo, _) = Repo::start(config, None, [1; 16]).expect("start");
    let profil = Profil { nom: "Val d'Essaim".into(), ..Profil::default() };
    let (doc, _) = repo.create_territory(UnixMillis(0), &[3; 16], "auteur", profil).expect("territory");
    for i in 0..500 {
        let mut valeur =
            json!({ "titre": format!("Action {i}"), "portes_entree": ["energie"], "lieu": { "libelle": "Salle" } });
        if i % 5 == 0 {
            valeur["rythme"] = json!({ "debut": "2026-01-07T18:30:00", "duree": "PT2H",
                "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2027-06-30" } });
        }
        let edit = Edit::Creer { collection: Collection::Actions, id: format!("a{i}"), valeur };
        repo.apply(UnixMillis(i), &doc, "auteur", edit).expect("valid edit");
    }
    (repo, doc)
}

fn bench(c: &mut Criterion) {
    let (repo, doc) = territoire();
    c.bench_function("agenda of 500 actions", |b| b.iter(|| black_box(repo.agenda(&doc))));
    let agenda = repo.agenda(&doc).expect("loaded");
    let du: Timestamp = "2026-03-01T00:00:00Z".parse().expect("instant");
    let au: Timestamp = "2026-04-01T00:00:00Z".parse().expect("instant");
    c.bench_function("rendez-vous of a month, 500 actions", |b| b.iter(|| black_box(agenda.rendez_vous(du, au))));
    c.bench_function("agenda as JSON", |b| b.iter(|| black_box(serde_json::to_string(&agenda))));
    // One edit, then the read model brought up to date from it: what an
    // organiser's screen pays after each of their edits.
    let (mut repo, doc) = (repo, doc);
    let lecture = LectureAgenda::nouvelle(repo.document(&doc).expect("loaded"));
    let champs = serde_json::from_value(json!({ "titre": "Autre titre" })).expect("fields");
    let edit = Edit::Modifier { collection: Collection::Actions, id: "a7".into(), champs };
    repo.apply(UnixMillis(9_000), &doc, "auteur", edit).expect("valid edit");
    let am = repo.document(&doc).expect("loaded");
    c.bench_function("agenda of 500 actions followed after one edit", |b| {
        b.iter_batched(
            || lecture.clone(),
            |mut lecture| black_box(lecture.suivre(am)),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
