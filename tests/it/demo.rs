//! `essaim demo` end to end (issue 14, "a living first run"): the real
//! binary prints each demonstration territory's id and links and a second
//! run creates nothing; a relay without `--open` serves their feeds, which
//! the Python oracle of `flux_oracle.rs` expands to the JSON-LD's
//! occurrences, lists them in `/territoires.json` as demonstrations, and
//! lets an anonymous websocket client read them, never write them, while
//! a private territory stays closed; and whatever the date, each has a
//! rendez-vous that day and several that week.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use serde_json::{Value, json};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ROOT, ReadDoc};
use sync_core::flux;
use sync_core::rythme::jiff::civil::Date;
use sync_core::rythme::{Timestamp, fuseau};
use sync_core::{DocumentId, StorageKey, agenda};
use tempfile::TempDir;

use crate::access::cli;
use crate::flux_oracle::{Occurrence, differences, occurrences_json_ld};
use crate::support::{WAIT, http_get, python_oracle, start_relay_with, stored_rows};

/// What `essaim demo` printed: per territory, its id, name and the two
/// links' tokens.
fn printed(out: &str) -> Vec<(DocumentId, String, String, String)> {
    let mut territories = Vec::new();
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("territoire: ") else { continue };
        let (id, name) = rest.split_once('\t').unwrap_or_else(|| panic!("no name in {line:?}"));
        let doc: DocumentId = id.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        let mut token = |prefix: &str, role: &str| {
            let link = lines.next().and_then(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("{prefix} in {out}"));
            let expected = format!("https://essaim.example/#/territoire/{doc}/invitation/{role}/");
            link.strip_prefix(&expected).unwrap_or_else(|| panic!("{link} is not {expected}…")).to_owned()
        };
        let organiser = token("lien organisateurs: ", "organisateur");
        let resident = token("lien habitants: ", "habitant");
        territories.push((doc, name.to_owned(), organiser, resident));
    }
    territories
}

fn has_key(key: &'static str) -> impl Fn(&Automerge) -> bool + Send + Sync + 'static {
    move |am| am.get(ROOT, key).ok().flatten().is_some()
}

/// The feeds' `now`: the start of the current hour, as the relay takes it.
fn this_hour() -> Timestamp {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    Timestamp::from_millisecond(ms / 3_600_000 * 3_600_000).expect("in range")
}

/// A demonstration territory's three calendar feeds from the relay, all
/// rendered within one hour (the feeds' window moves by the hour), and
/// that hour.
async fn feeds(addr: std::net::SocketAddr, doc: &DocumentId) -> (String, String, Value, Timestamp) {
    for _ in 0..3 {
        let hour = this_hour();
        let get = |file: &'static str| async move {
            let (status, body) = http_get(addr, &format!("/t/{doc}/{file}")).await;
            assert_eq!(status, 200, "{file} of {doc}: {body}");
            body
        };
        let (ics, compat, json) = (get("agenda.ics").await, get("agenda-compat.ics").await, get("agenda.json").await);
        if this_hour() == hour {
            return (ics, compat, serde_json::from_str(&json).expect("JSON-LD"), hour);
        }
    }
    panic!("the hour changed three times in a row");
}

#[tokio::test]
async fn demo_prints_links_runs_once_and_anyone_reads_it_on_a_closed_relay() {
    let data = TempDir::new().expect("temp dir");
    let args = ["demo", "--territoires", "4", "--url", "https://essaim.example"];
    let out = cli(data.path(), &args);
    let made = printed(&out);
    assert_eq!(made.len(), 4, "{out}");
    assert!(made[3].1.contains("Sainte-Rose"), "the fourth is overseas: {}", made[3].1);
    let rows = stored_rows(data.path());
    let listed = cli(data.path(), &["territory", "list"]);

    // A second run creates nothing, says so and names them.
    let again = cli(data.path(), &args);
    assert!(again.contains("aucun créé"), "{again}");
    for (doc, name, ..) in &made {
        assert!(again.contains(&format!("territoire: {doc}\t{name}")), "{again}");
    }
    assert_eq!(stored_rows(data.path()), rows, "a second run wrote documents");
    assert_eq!(cli(data.path(), &["territory", "list"]), listed);
    for (doc, ..) in &made {
        let line = listed.lines().find(|l| l.starts_with(&doc.to_string())).unwrap_or_else(|| panic!("{listed}"));
        assert!(line.ends_with("\ttrue\ttrue"), "public demonstration: {line:?}");
    }
    assert!(listed.contains("\tintercommunalite_epci\t") && listed.contains("\tquartier\t"), "{listed}");

    let private = server::create_territory(
        data.path(),
        agenda::Profil { nom: "Commune privée".into(), ..agenda::Profil::default() },
    )
    .expect("private territory");
    let relay = start_relay_with(data, |config| config.open = false).await;

    // `/territoires.json` marks them.
    let (status, body) = http_get(relay.addr, "/territoires.json").await;
    assert_eq!(status, 200, "{body}");
    let national: Value = serde_json::from_str(&body).expect("JSON");
    let entries = national["territoires"].as_array().expect("list");
    let marked: BTreeSet<String> = entries
        .iter()
        .filter(|t| t["demonstration"] == json!(true))
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect();
    let demo_ids: BTreeSet<String> = made.iter().map(|(doc, ..)| doc.to_string()).collect();
    assert_eq!(marked, demo_ids, "{body}");
    assert!(!body.contains(&private.to_string()));

    // Each one's feeds: recurrences, exclusions and overrides, which an
    // independent reader expands to the JSON-LD's occurrences.
    for (doc, ..) in &made {
        let (ics, compat, ld, now) = feeds(relay.addr, doc).await;
        for part in ["RRULE:", "EXDATE;", "RECURRENCE-ID;"] {
            assert!(ics.contains(part), "no {part} in the agenda.ics of {doc}");
        }
        let (du, au) = flux::fenetre(now);
        let entree = json!({ "ics": ics, "compat": compat, "du": du.to_string(), "au": au.to_string() });
        let eux = python_oracle("flux_oracle.py", &entree);
        let nous = occurrences_json_ld(&ld, du, au);
        let lire = |cle: &str| -> BTreeSet<Occurrence> {
            serde_json::from_value::<Vec<Occurrence>>(eux[cle].clone()).expect("oracle list").into_iter().collect()
        };
        let ecarts: Vec<String> =
            ["ics", "ics_vtimezone", "compat"].iter().filter_map(|cle| differences(cle, &nous, &lire(cle))).collect();
        assert!(ecarts.is_empty(), "{doc}: the feeds disagree with the JSON-LD:\n{}", ecarts.join("\n"));
        assert!(nous.iter().any(|o| o.3), "{doc}: a cancelled occurrence");
        let now_text = now.to_string();
        assert!(nous.iter().any(|o| o.1 >= now_text), "{doc}: occurrences");
    }

    // Anyone reads a demonstration territory, without a token, on a relay
    // without `--open`; their changes go nowhere.
    let (demo, _, organiser_token, _) = &made[0];
    let anonymous = Client::connect(&relay.url(), ClientOptions::default()).await.expect("anonymous enters");
    anonymous.open(demo).await.expect("open");
    anonymous.wait_until(demo, WAIT, has_key("profil")).await.expect("the anonymous client reads the territory");
    anonymous.change(demo, |tx| tx.put(ROOT, "ecrit_par_anonyme", "oui").map(|_| ())).await.expect("local change");
    // A private territory stays closed to them.
    anonymous.open(&private).await.expect("open");
    anonymous.wait_unavailable(&private, WAIT).await.expect("a private territory is unavailable");
    let seen = anonymous.query(move |v| v.repo.document(&private).map(|d| d.get_heads().len())).await;
    assert!(matches!(seen, Ok(None) | Ok(Some(0))), "the anonymous client got some of a private territory: {seen:?}");

    // An organiser's later change reaches a second anonymous reader, the
    // anonymous change never does.
    let url = format!("{}?token={organiser_token}", relay.url());
    let organiser = Client::connect(&url, ClientOptions::default()).await.expect("organiser");
    organiser.open(demo).await.expect("open");
    organiser.wait_until(demo, WAIT, has_key("profil")).await.expect("organiser reads");
    organiser.change(demo, |tx| tx.put(ROOT, "apres", 1).map(|_| ())).await.expect("change");
    let heads = organiser.heads(demo).await.expect("heads");
    organiser.wait_relay_has(demo, heads, WAIT).await.expect("the relay took the organiser's change");
    let second = Client::connect(&relay.url(), ClientOptions::default()).await.expect("second anonymous client");
    second.open(demo).await.expect("open");
    second.wait_until(demo, WAIT, has_key("apres")).await.expect("the organiser's change arrives");
    for client in [&organiser, &second] {
        let leaked = client.read(demo, |am| am.get(ROOT, "ecrit_par_anonyme").ok().flatten().is_some()).await;
        assert_eq!(leaked.expect("read"), Some(false), "an anonymous change was relayed");
    }
    let data = relay.stop().await;
    assert!(stored_rows(data.path()).keys().all(|k| !k.contains("ecrit_par_anonyme")));
}

/// The rendez-vous of a demonstration territory from `date` for `days`
/// local days, in its own time zone, read back from the relay's SQLite.
fn rendez_vous(data: &std::path::Path, doc: &DocumentId, date: Date, days: i64) -> usize {
    let prefix = format!("{doc}/");
    let entries: Vec<(StorageKey, Vec<u8>)> = stored_rows(data)
        .into_iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .filter_map(|(key, value)| Some((StorageKey::from_text(&key)?, value)))
        .collect();
    let lu = agenda::lire(&sync_core::load_chunks(doc, entries));
    let zone = fuseau(&lu.profil.as_ref().expect("profile").fuseau).expect("zone");
    let at = |d: Date| d.to_zoned_datetime(zone.clone()).expect("in range").timestamp();
    let end = date.checked_add(sync_core::rythme::jiff::Span::new().days(days)).expect("in range");
    lu.rendez_vous(at(date), at(end)).len()
}

#[test]
fn a_rendez_vous_today_and_several_this_week_whatever_the_date() {
    // A Monday, a Sunday, New Year's Day, a leap day, and mid-August in
    // the summer pause.
    for date in ["2026-03-02", "2026-03-08", "2027-01-01", "2028-02-29", "2026-08-15"] {
        let day: Date = date.parse().expect("date");
        let data = TempDir::new().expect("temp dir");
        let outcome = server::demo::seed(&server::Storage::Sqlite(data.path().to_owned()), day, 4, 0).expect("seeded");
        let server::demo::Outcome::Created(made) = outcome else { panic!("nothing created on an empty directory") };
        assert_eq!(made.len(), 4);
        for t in made {
            let today = rendez_vous(data.path(), &t.doc, day, 1);
            let week = rendez_vous(data.path(), &t.doc, day, 7);
            assert!(today >= 1, "{date}, {}: {today} rendez-vous that day", t.name);
            assert!(week >= 5, "{date}, {}: {week} rendez-vous that week", t.name);
        }
    }
}
