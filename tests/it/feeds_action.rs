//! One action as a calendar of its own, `GET /t/{id}/actions/{action}.ics`,
//! and one of its occurrences with `?occurrence=`: what the app's "Ajouter à
//! mon calendrier" links point to. Read back with Python's icalendar (the
//! flux oracle); the same access rules as the feeds (a private territory
//! needs its token, a non-public action is 404); hostile ids and origins
//! refused before any work, without a panic.

use serde_json::json;
use server::invitations::Role;
use tempfile::TempDir;

use crate::feeds::{action, organise, territory, token};
use crate::support::{http_get, http_get_with, python_oracle, start_relay_with};

/// The occurrences Python's icalendar and recurring-ical-events read in
/// `ics` during December 2026: [uid base, start UTC, end UTC, cancelled].
fn lues(ics: &str) -> Vec<(String, String, String, bool)> {
    let entree = json!({ "ics": ics, "compat": ics, "du": "2026-12-01T00:00:00Z", "au": "2027-01-01T00:00:00Z" });
    serde_json::from_value(python_oracle("flux_oracle.py", &entree)["ics"].clone()).expect("oracle list")
}

#[tokio::test]
async fn one_action_and_one_occurrence_as_calendars() {
    let data = TempDir::new().expect("temp dir");
    let public = territory(&data, "Commune ouverte", true);
    let private = territory(&data, "Quartier discret", false);
    let organiser_public = token(&data, &public, Role::Organisateur, 1);
    let organiser_private = token(&data, &private, Role::Organisateur, 2);
    let resident_private = token(&data, &private, Role::Habitant, 3);
    let relay = start_relay_with(data, |config| config.open = false).await;
    organise(
        &relay,
        &organiser_public,
        &public,
        vec![action("a1", "Repair café public", "public"), action("a2", "Réunion interne", "membres")],
    )
    .await;
    organise(&relay, &organiser_private, &private, vec![action("b1", "Atelier du quartier", "public")]).await;

    // The series: its rule, read by icalendar as the five Wednesdays of
    // December 2026 (18 h 30 in Paris is 17:30 UTC).
    let (status, head, serie) = http_get_with(relay.addr, &format!("/t/{public}/actions/a1.ics"), &[]).await;
    assert_eq!(status, 200, "{serie}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/calendar"), "{head}");
    assert!(serie.contains("RRULE:FREQ=WEEKLY") && !serie.contains("Réunion interne") && !serie.contains("VALARM"));
    let occurrences = lues(&serie);
    let debuts: Vec<&str> = occurrences.iter().map(|o| o.1.as_str()).collect();
    assert_eq!(
        debuts,
        [
            "2026-12-02T17:30:00Z",
            "2026-12-09T17:30:00Z",
            "2026-12-16T17:30:00Z",
            "2026-12-23T17:30:00Z",
            "2026-12-30T17:30:00Z"
        ]
    );
    assert!(occurrences.iter().all(|o| o.0 == format!("action-a1@{public}")));

    // One occurrence: one VEVENT, its local start in its zone.
    let chemin = format!("/t/{public}/actions/a1.ics?occurrence=2026-12-09T18%3A30%3A00");
    let (status, head, une) = http_get_with(relay.addr, &chemin, &[]).await;
    assert_eq!(status, 200, "{une}");
    assert_eq!(une.matches("BEGIN:VEVENT").count(), 1, "{une}");
    assert!(une.contains("DTSTART;TZID=Europe/Paris:20261209T183000\r\n") && une.contains("TZID:Europe/Paris\r\n"));
    assert!(une.contains(&format!("UID:action-a1-20261209T183000@{public}\r\n")), "{une}");
    assert_eq!(
        lues(&une),
        [(format!("action-a1@{public}"), "2026-12-09T17:30:00Z".into(), "2026-12-09T19:30:00Z".into(), false)]
    );
    // Conditional request: 304.
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: ").or_else(|| l.strip_prefix("ETag: ")))
        .expect("an ETag")
        .to_owned();
    let (status, _, body) = http_get_with(relay.addr, &chemin, &[("If-None-Match", &etag)]).await;
    assert_eq!((status, body.as_str()), (304, ""));
    // Another occurrence is another ETag.
    let (_, autre, _) =
        http_get_with(relay.addr, &format!("/t/{public}/actions/a1.ics?occurrence=2026-12-16T18:30:00"), &[]).await;
    assert!(!autre.contains(&etag), "{autre}");

    // Not public, unknown, not an occurrence: the feeds' 404.
    let (_, absent) = http_get(relay.addr, &format!("/t/{private}/agenda.ics")).await;
    for chemin in [
        format!("/t/{public}/actions/a2.ics"),
        format!("/t/{public}/actions/inconnue.ics"),
        format!("/t/{public}/actions/a1.ics?occurrence=2026-12-10T18:30:00"),
        format!("/t/{public}/actions/a1"),
    ] {
        let (status, body) = http_get(relay.addr, &chemin).await;
        assert_eq!((status, &body), (404, &absent), "{chemin}");
    }

    // Hostile ids and origins: refused, 404 or 400, never a panic.
    let long = "a".repeat(65);
    let origine_longue = "2026-12-09T18:30:00".repeat(50);
    for (chemin, attendu) in [
        (format!("/t/{public}/actions/{long}.ics"), 404),
        (format!("/t/{public}/actions/..%2F..%2Fagenda.ics"), 404),
        (format!("/t/{public}/actions/%2E%2E.ics"), 404),
        (format!("/t/{public}/actions/%FF%00%C3.ics"), 400),
        (format!("/t/{public}/actions/a1%0D%0AX-Evil:1.ics"), 404),
        (format!("/t/{public}/actions/a1.ics?occurrence=%FF%FE"), 400),
        (format!("/t/{public}/actions/a1.ics?occurrence=..%2F..%2Fetc"), 400),
        (format!("/t/{public}/actions/a1.ics?occurrence={origine_longue}"), 400),
        (format!("/t/{public}/actions/a1.ics?occurrence=2026-12-09T18:30:00%0D%0ABEGIN:VEVENT"), 400),
        (format!("/t/..%2F{public}/actions/a1.ics"), 404),
        ("/t/x/actions/a1.ics".to_owned(), 404),
    ] {
        let (status, body) = http_get(relay.addr, &chemin).await;
        assert_eq!(status, attendu, "{chemin}: {body}");
    }

    // A private territory: 404 without a token (or another territory's),
    // exactly like a missing one; 200 with a resident's.
    for query in [String::new(), format!("?token={organiser_public}")] {
        let (status, body) = http_get(relay.addr, &format!("/t/{private}/actions/b1.ics{query}")).await;
        assert_eq!((status, &body), (404, &absent), "{query}");
    }
    let chemin = format!("/t/{private}/actions/b1.ics?token={resident_private}&occurrence=2026-12-09T18:30:00");
    let (status, head, body) = http_get_with(relay.addr, &chemin, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Atelier du quartier") && head.to_ascii_lowercase().contains("cache-control: private"));

    let (status, _) = http_get(relay.addr, "/healthz").await;
    assert_eq!(status, 200, "the relay still answers");
}
