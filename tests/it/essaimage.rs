//! `essaim essaimer` (the real binary, in its own process) against a real
//! relay: a coordinator takes up territory A's public, published action as
//! a draft of territory B through `POST /t/{B}/essaimage`, which the hub
//! writes, so B's connected devices receive it; refusals come back with a
//! French message and write nothing into B; requests are limited per
//! invitation.

use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use serde_json::json;
use server::invitations::Role;
use sync_core::DocumentId;
use sync_core::agenda::{self, Action, Edit, Profil, Publication, VisibiliteTerritoire};
use sync_core::automerge::Automerge;
use sync_core::rythme::{DateHeure, Jour, JourSemaine, Timestamp, fuseau, jiff};
use tempfile::TempDir;

use crate::feeds::{action, organise, territory, token};
use crate::support::{Relay, WAIT, http_request, start_relay_with};

/// A closed relay (no `--open`) on `data`.
async fn closed_relay(data: TempDir) -> Relay {
    start_relay_with(data, |config| config.open = false).await
}

/// What `essaim essaimer` did: exit status, stdout, stderr.
struct Sortie {
    reussi: bool,
    stdout: String,
    stderr: String,
}

/// Runs `essaim essaimer --depuis … --vers … [--a-partir-de …]` against
/// `relay`, the token in `ESSAIM_JETON` (none: unset).
async fn essaimer(
    relay: &Relay,
    depuis: &str,
    vers: &DocumentId,
    a_partir_de: Option<&str>,
    jeton: Option<&str>,
) -> Sortie {
    let mut command = tokio::process::Command::new(crate::crash::essaim_binary());
    command.args(["essaimer", "--depuis", depuis, "--vers", &vers.to_string()]);
    command.args(["--relais", &format!("http://{}", relay.addr)]);
    if let Some(jour) = a_partir_de {
        command.args(["--a-partir-de", jour]);
    }
    command.env_remove("ESSAIM_JETON").env_remove("ESSAIM_RELAIS");
    if let Some(jeton) = jeton {
        command.env("ESSAIM_JETON", jeton);
    }
    let output = tokio::time::timeout(WAIT, command.output()).await.expect("essaim ends in time").expect("run essaim");
    Sortie {
        reussi: output.status.success(),
        stdout: String::from_utf8(output.stdout).expect("utf-8"),
        stderr: String::from_utf8(output.stderr).expect("utf-8"),
    }
}

/// The new action's id from what `essaim essaimer` printed, after checking
/// the page line.
fn nouvelle_action(relay: &Relay, vers: &DocumentId, sortie: &Sortie) -> String {
    assert!(sortie.reussi, "essaim essaimer failed: {}", sortie.stderr);
    let mut lignes = sortie.stdout.lines();
    let id = lignes.next().and_then(|l| l.strip_prefix("action: ")).expect("an action line").to_owned();
    assert!(agenda::identifiant_valide(&id), "{id}");
    assert_eq!(lignes.next(), Some(format!("page: http://{}/t/{vers}/", relay.addr).as_str()), "{}", sortie.stdout);
    id
}

/// The essaimage API itself: (status, body).
async fn poster(relay: &Relay, vers: &str, jeton: Option<&str>, corps: &str) -> (u16, String) {
    let (status, _, body) = http_request(relay.addr, "POST", &format!("/t/{vers}/essaimage"), jeton, corps).await;
    (status, body)
}

async fn connect(relay: &Relay, token: &str) -> Client {
    Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default()).await.expect("connects")
}

/// An action of territory `doc` as its organisers' devices read it.
fn action_de(am: &Automerge, id: &str) -> Option<Action> {
    agenda::lire(am).actions.get(id).cloned()
}

fn changes(am: &Automerge) -> usize {
    am.get_changes(&[]).len()
}

/// A public, published weekly action (Wednesdays 18:30, like
/// `feeds::action`) saved as a draft: not offered to other territories.
fn brouillon(id: &str) -> Edit {
    let mut edit = action(id, "Atelier en préparation", "public");
    if let Edit::Creer { valeur, .. } = &mut edit {
        valeur["publication"] = json!("brouillon");
    }
    edit
}

/// Today in time zone `nom`, as the relay reads it.
fn aujourdhui(nom: &str) -> Jour {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    let now = Timestamp::from_millisecond(ms).expect("a timestamp");
    DateHeure::de_instant(now, &fuseau(nom).expect("a known zone")).jour()
}

/// Checks the copy of A's `a1` in B: a draft inspired by A's action, on
/// Wednesdays at 18:30 in B's zone from `depuis` on (its first Wednesday
/// on or after that day).
fn verifier_copie(copie: &Action, a: &DocumentId, depuis: Jour, zone: &str) {
    assert_eq!(copie.titre, "Repair café");
    assert_eq!(copie.publication, Publication::Brouillon, "a copy is a draft");
    let provenance = copie.inspire_de.as_ref().expect("inspire_de");
    assert_eq!((provenance.territoire.as_str(), provenance.action.as_str()), (a.to_string().as_str(), "a1"));
    assert_eq!(provenance.territoire_nom, "Commune source");
    let rythme = copie.rythme.as_ref().expect("a rhythm");
    assert_eq!(rythme.fuseau, zone);
    let debut = rythme.debut;
    assert!(debut.jour() >= depuis, "starts {debut:?}, before {depuis}");
    assert_eq!(debut.jour().jour_semaine(), JourSemaine::Mercredi, "{debut:?}");
    let civil = |j: Jour| jiff::civil::date(j.annee(), j.mois(), j.jour());
    let ecart = (civil(debut.jour()) - civil(depuis)).get_days();
    assert!((0..7).contains(&ecart), "{debut:?} is not the first Wednesday from {depuis}");
    assert_eq!((debut.heure(), debut.minute()), (18, 30));
}

#[tokio::test]
async fn a_coordinator_takes_up_a_public_action_through_the_relay_and_refusals_write_nothing() {
    // Built first: the build must not hold up the relay's runtime.
    crate::crash::essaim_binary();
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Commune source", true);
    let b = territory(&data, "Quartier cible", false);
    let c = territory(&data, "Village discret", false);
    let organisateur_a = token(&data, &a, Role::Organisateur, 1);
    let organisateur_b = token(&data, &b, Role::Organisateur, 2);
    let habitant_b = token(&data, &b, Role::Habitant, 3);
    let organisateur_c = token(&data, &c, Role::Organisateur, 4);
    let relay = closed_relay(data).await;
    organise(
        &relay,
        &organisateur_a,
        &a,
        vec![action("a1", "Repair café", "public"), brouillon("a2"), action("a3", "Réunion interne", "membres")],
    )
    .await;
    organise(&relay, &organisateur_c, &c, vec![action("c1", "Atelier caché", "public")]).await;

    // B's organiser device, connected throughout: it must receive the copy.
    let appareil = connect(&relay, &organisateur_b).await;
    appareil.open(&b).await.expect("open");
    appareil.wait_until(&b, WAIT, |am| agenda::lire(am).profil.is_some()).await.expect("B loaded");
    let avant = appareil.read(&b, changes).await.expect("read").expect("loaded");

    // Refusals through the CLI: a French message, a non-zero exit.
    let depuis_a1 = format!("{a}/a1");
    let refus = [
        (
            Some(habitant_b.as_str()),
            "le relais refuse (403)\u{a0}: Seuls les organisateurs d'un territoire peuvent y reprendre une action.",
        ),
        (None, "jeton manquant\u{a0}: --jeton ou ESSAIM_JETON, une invitation d'organisateur du territoire --vers"),
        (
            Some(organisateur_a.as_str()),
            "le relais refuse (401)\u{a0}: jeton inconnu, ou qui n'est pas une invitation du territoire --vers",
        ),
    ];
    for (jeton, message) in refus {
        let sortie = essaimer(&relay, &depuis_a1, &b, Some("2027-03-01"), jeton).await;
        assert!(!sortie.reussi && sortie.stdout.is_empty(), "{jeton:?}: {}", sortie.stdout);
        assert!(sortie.stderr.contains(message), "{jeton:?}: {}", sortie.stderr);
    }
    let sortie = essaimer(&relay, &format!("{c}/c1"), &b, None, Some(&organisateur_b)).await;
    assert!(!sortie.reussi);
    assert!(
        sortie.stderr.contains("le relais refuse (404)\u{a0}: aucun agenda public à cette adresse"),
        "{}",
        sortie.stderr
    );
    let sortie = essaimer(&relay, &depuis_a1, &b, Some("2027-02-30"), Some(&organisateur_b)).await;
    assert!(!sortie.reussi);
    assert!(
        sortie.stderr.contains("(400)\u{a0}: Date invalide\u{a0}: «\u{a0}a_partir_de\u{a0}» s'écrit AAAA-MM-JJ."),
        "{}",
        sortie.stderr
    );
    let sortie = essaimer(&relay, &depuis_a1, &b, None, Some("0123456789abcdef.pas-un-secret")).await;
    assert!(!sortie.reussi);
    assert!(sortie.stderr.contains("(401)\u{a0}: jeton inconnu"), "{}", sortie.stderr);

    // The API's refusals, status and body.
    let feed_404 = "aucun agenda public à cette adresse\n";
    let corps = |depuis: &str, jour: Option<&str>| match jour {
        Some(jour) => json!({ "depuis": depuis, "a_partir_de": jour }).to_string(),
        None => json!({ "depuis": depuis }).to_string(),
    };
    let inconnu = DocumentId::from_bytes(&[7; 16]).expect("id");
    let b_texte = b.to_string();
    let cas: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        (
            &b_texte,
            Some(&habitant_b),
            corps(&depuis_a1, None),
            403,
            "Seuls les organisateurs d'un territoire peuvent y reprendre une action.\n",
        ),
        (&b_texte, None, corps(&depuis_a1, None), 401, "an invitation token is required: ?token=…\n"),
        ("pas-un-territoire", Some(&organisateur_b), corps(&depuis_a1, None), 401, "unknown invitation\n"),
        // A private territory, a draft, an action for members only, an
        // unknown action or territory: the feeds' own 404.
        (&b_texte, Some(&organisateur_b), corps(&format!("{c}/c1"), None), 404, feed_404),
        (&b_texte, Some(&organisateur_b), corps(&format!("{a}/a2"), None), 404, feed_404),
        (&b_texte, Some(&organisateur_b), corps(&format!("{a}/a3"), None), 404, feed_404),
        (&b_texte, Some(&organisateur_b), corps(&format!("{a}/a9"), None), 404, feed_404),
        (&b_texte, Some(&organisateur_b), corps(&format!("{inconnu}/a1"), None), 404, feed_404),
        (
            &b_texte,
            Some(&organisateur_b),
            corps(&depuis_a1, Some("01/03/2027")),
            400,
            "Date invalide\u{a0}: «\u{a0}a_partir_de\u{a0}» s'écrit AAAA-MM-JJ.\n",
        ),
        (
            &b_texte,
            Some(&organisateur_b),
            corps(&format!("{a}"), None),
            400,
            "«\u{a0}depuis\u{a0}» doit être <territoire>/<action>\u{a0}: l'identifiant d'un territoire, puis celui d'une de ses actions.\n",
        ),
        (
            &b_texte,
            Some(&organisateur_b),
            corps(&format!("{a}/../a1"), None),
            400,
            "«\u{a0}depuis\u{a0}» doit être <territoire>/<action>\u{a0}: l'identifiant d'un territoire, puis celui d'une de ses actions.\n",
        ),
        (
            &b_texte,
            Some(&organisateur_b),
            corps(&format!("{b}/a1"), None),
            400,
            "Une action se reprend dans un autre territoire que le sien.\n",
        ),
        (
            &b_texte,
            Some(&organisateur_b),
            json!({ "depuis": depuis_a1, "vers": b_texte }).to_string(),
            400,
            "Demande illisible\u{a0}: un objet JSON {\"depuis\": \"<territoire>/<action>\", \"a_partir_de\"?: \"AAAA-MM-JJ\"} est attendu.\n",
        ),
        (
            &b_texte,
            Some(&organisateur_b),
            format!("{{\"depuis\": \"{}\"}}", "x".repeat(5_000)),
            413,
            "Demande trop grande\u{a0}: 4 Kio au plus\n",
        ),
    ];
    for (vers, jeton, corps, status, texte) in &cas {
        let (s, t) = poster(&relay, vers, *jeton, corps).await;
        assert_eq!((s, t.as_str()), (*status, *texte), "{vers} {jeton:?} {corps}");
    }
    // Refused by the core, in the hub: no Wednesday left in year 9999.
    let (s, t) = poster(&relay, &b_texte, Some(&organisateur_b), &corps(&depuis_a1, Some("9999-12-31"))).await;
    assert_eq!(s, 400, "{t}");
    assert!(t.starts_with("Reprise impossible\u{a0}: "), "{t}");

    // Then the real thing, through the CLI.
    let sortie = essaimer(&relay, &depuis_a1, &b, Some("2027-03-01"), Some(&organisateur_b)).await;
    let id = nouvelle_action(&relay, &b, &sortie);
    let attendu = id.clone();
    appareil
        .wait_until(&b, WAIT, move |am| action_de(am, &attendu).is_some())
        .await
        .expect("B's connected device receives the copy");
    let copie = appareil.read(&b, move |am| action_de(am, &id)).await.expect("read").expect("loaded").expect("copy");
    verifier_copie(&copie, &a, Jour::new(2027, 3, 1).expect("day"), "Europe/Paris");
    let apres = appareil.read(&b, changes).await.expect("read").expect("loaded");
    assert_eq!(apres, avant + 1, "a refusal wrote something into B, or the copy took more than one change");
    // Written by the relay on the coordinator's behalf: the invitation's id.
    let invitation = organisateur_b.split_once('.').expect("<id>.<secret>").0;
    assert_eq!(copie.suivi.modifie_par.as_deref(), Some(invitation));
    relay.stop().await;
}

#[tokio::test]
async fn a_territory_not_in_memory_is_loaded_and_its_rhythm_starts_today_in_its_zone() {
    crate::crash::essaim_binary();
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Commune source", true);
    let zone = "America/Martinique";
    let profil = Profil {
        nom: "Commune d'outre-mer".into(),
        fuseau: zone.into(),
        visibilite: VisibiliteTerritoire::Public,
        ..Profil::default()
    };
    let b = server::create_territory(data.path(), profil).expect("territory");
    let organisateur_a = token(&data, &a, Role::Organisateur, 1);
    let organisateur_b = token(&data, &b, Role::Organisateur, 2);
    let relay = closed_relay(data).await;
    organise(&relay, &organisateur_a, &a, vec![action("a1", "Repair café", "public")]).await;
    // A restart: B is in no one's memory, and the request loads it.
    let relay = closed_relay(relay.stop().await).await;

    let jour = aujourdhui(zone);
    let sortie = essaimer(&relay, &format!("{a}/a1"), &b, None, Some(&organisateur_b)).await;
    let id = nouvelle_action(&relay, &b, &sortie);
    // Answered once durable: a device opening B now finds it.
    let appareil = connect(&relay, &organisateur_b).await;
    appareil.open(&b).await.expect("open");
    let attendu = id.clone();
    appareil.wait_until(&b, WAIT, move |am| action_de(am, &attendu).is_some()).await.expect("the copy is in B");
    let copie = appareil.read(&b, move |am| action_de(am, &id)).await.expect("read").expect("loaded").expect("copy");
    // The relay's today may be a day later if midnight passed meanwhile.
    verifier_copie(&copie, &a, jour, zone);
    relay.stop().await;
}

#[tokio::test]
async fn essaimages_are_limited_per_invitation() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Commune source", true);
    let b = territory(&data, "Quartier cible", true);
    let depensier = token(&data, &b, Role::Organisateur, 2);
    let autre = token(&data, &b, Role::Organisateur, 3);
    let relay = closed_relay(data).await;
    let b = b.to_string();
    // Every request past the door counts, refused or not.
    let date_invalide = json!({ "depuis": format!("{a}/a1"), "a_partir_de": "demain" }).to_string();
    for _ in 0..60 {
        assert_eq!(poster(&relay, &b, Some(&depensier), &date_invalide).await.0, 400);
    }
    let (status, head, text) =
        http_request(relay.addr, "POST", &format!("/t/{b}/essaimage"), Some(&depensier), &date_invalide).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.starts_with("Trop de demandes avec cette invitation\u{a0}: réessayez dans "), "{text}");
    let retry = head.lines().find_map(|l| l.strip_prefix("retry-after: ")).and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s > 3_500 && s <= 3_600), "{head}");
    // Another invitation has its own count.
    assert_eq!(poster(&relay, &b, Some(&autre), &date_invalide).await.0, 400);
    relay.stop().await;
}
