//! Experience sheets (issue 18) against the real relay, real websocket
//! clients and the real `essaim` binary: a published version stays what
//! it was while writing goes on; a sheet opens only to the organisers of
//! a territory that lists it and that it names (never to residents, by
//! `/sync` or chunk download); two territories share one only when both
//! consent; its pages, JSON and Markdown, and the national list the
//! relay's team admits sheets to.

use std::time::{SystemTime, UNIX_EPOCH};

use client::{Client, ClientOptions};
use serde_json::{Value, json};
use server::invitations::{Invitations, Role};
use sync_core::DocumentId;
use sync_core::agenda::{self, ContenuFiche, EditFiche, GenreDocument, Theme};
use sync_core::automerge::ReadDoc;
use tempfile::TempDir;

use crate::support::{Relay, WAIT, http_get, http_get_with, start_relay_with};

fn territory(data: &TempDir, nom: &str, public: bool) -> DocumentId {
    let visibilite = if public { agenda::VisibiliteTerritoire::Public } else { agenda::VisibiliteTerritoire::Prive };
    let profil = agenda::Profil { nom: nom.into(), visibilite, ..agenda::Profil::default() };
    server::create_territory(data.path(), profil).expect("territory created")
}

fn invite(data: &TempDir, doc: &DocumentId, role: Role, seed: u8) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    let invitations = Invitations::open(data.path()).expect("invitations");
    invitations.create(doc, role, None, None, now, [seed; 24]).expect("created").1
}

/// A client of `token` that has territory `territoire` loaded.
async fn connect(relay: &Relay, token: &str, territoire: &DocumentId) -> Client {
    let client =
        Client::connect(&format!("{}?token={token}", relay.url()), ClientOptions::default()).await.expect("connected");
    client.open(territoire).await.expect("open");
    client.wait_until(territoire, WAIT, |am| !am.get_heads().is_empty()).await.expect("the territory");
    client
}

/// Waits until the relay has what `de` holds of `doc`, and, for each of
/// `vers`, until it holds it too.
async fn propager(de: &Client, doc: &DocumentId, vers: &[&Client]) {
    let heads = de.heads(doc).await.expect("heads");
    de.wait_relay_has(doc, heads.clone(), WAIT).await.expect("the relay has it");
    for autre in vers {
        autre.open(doc).await.expect("open");
        let heads = heads.clone();
        autre
            .wait_until(doc, WAIT, move |am| heads.iter().all(|h| am.get_change_by_hash(h).is_some()))
            .await
            .expect("the other device has it");
    }
}

fn contenu(titre: &str, contexte: &str) -> ContenuFiche {
    ContenuFiche {
        titre: titre.into(),
        resume: "Un café où l'on répare.".into(),
        contexte: contexte.into(),
        conseils: "Commencer petit.".into(),
        portes_entree: vec![Theme::EconomieLocale],
        mesures_pacte: vec!["M05".into()],
        ..ContenuFiche::default()
    }
}

fn modifier(champ: &str, texte: &str) -> EditFiche {
    let champs = json!({ champ: texte });
    EditFiche::Modifier { champs: champs.as_object().expect("object").clone() }
}

/// `relecteur` reviews what `auteur` wrote, then `auteur` publishes; the
/// relay has the publication.
async fn relire_et_publier(auteur: &Client, relecteur: &Client, fiche: &DocumentId) {
    propager(auteur, fiche, &[relecteur]).await;
    relecteur.appliquer_fiche(fiche, Some("Zoé"), EditFiche::Relire).await.expect("reviewed");
    propager(relecteur, fiche, &[auteur]).await;
    auteur.appliquer_fiche(fiche, Some("Ana"), EditFiche::Publier).await.expect("published");
    propager(auteur, fiche, &[]).await;
}

/// An organiser's sheet in `territoire`, written by Ana, reviewed by Zoé,
/// published.
async fn fiche_publiee(ana: &Client, zoe: &Client, territoire: &DocumentId, c: ContenuFiche) -> DocumentId {
    let fiche = ana.creer_fiche(territoire, Some("Ana"), c).await.expect("sheet created");
    propager(ana, territoire, &[]).await;
    relire_et_publier(ana, zoe, &fiche).await;
    fiche
}

/// What every sheet page must be: French HTML, no script, the feeds'
/// policy.
fn page_conforme(head: &str, page: &str) {
    assert!(head.to_ascii_lowercase().contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-security-policy: default-src 'none'"), "{head}");
    assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"), "{page}");
    assert!(!page.to_lowercase().contains("<script"), "no script");
    assert_eq!(page.matches("<h1>").count(), 1, "one h1");
}

fn etag(head: &str) -> String {
    let ligne = head.lines().find(|l| l.to_ascii_lowercase().starts_with("etag:")).expect("an ETag");
    ligne[5..].trim().to_owned()
}

#[tokio::test]
async fn a_published_version_stays_what_it_was_while_writing_goes_on() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Val d'Essaim", true);
    let (t_ana, t_zoe) = (invite(&data, &a, Role::Organisateur, 1), invite(&data, &a, Role::Organisateur, 2));
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let zoe = connect(&relay, &t_zoe, &a).await;

    let fiche = fiche_publiee(&ana, &zoe, &a, contenu("Un café réparation", "Premier texte.")).await;
    let page = format!("/t/{a}/fiches/{fiche}/");
    let md = format!("/t/{a}/fiches/{fiche}.md");
    let (status, head, html1) = http_get_with(relay.addr, &page, &[]).await;
    assert_eq!(status, 200, "{html1}");
    page_conforme(&head, &html1);
    assert!(html1.contains("Premier texte.") && html1.contains("Val d&#39;Essaim"));
    let (status, md1) = http_get(relay.addr, &md).await;
    assert_eq!(status, 200, "{md1}");

    // Writing goes on: the published version does not move.
    ana.appliquer_fiche(&fiche, Some("Ana"), modifier("contexte", "Second texte.")).await.expect("edited");
    propager(&ana, &fiche, &[]).await;
    let (_, html) = http_get(relay.addr, &page).await;
    assert_eq!(html, html1, "the page of the published version changed with an edit");
    let (_, markdown) = http_get(relay.addr, &md).await;
    assert_eq!(markdown, md1, "the Markdown of the published version changed with an edit");
    let (status, liste) = http_get(relay.addr, &format!("/t/{a}/fiches.json")).await;
    assert_eq!(status, 200, "{liste}");
    let liste: Value = serde_json::from_str(&liste).expect("json");
    assert_eq!(liste["nom"], "Val d'Essaim");
    assert_eq!(liste["fiches"][0]["adresse"], format!("/t/{a}/fiches/{fiche}/"));

    // Reviewed and published again: the new text shows, both versions list.
    relire_et_publier(&ana, &zoe, &fiche).await;
    let (_, html2) = http_get(relay.addr, &page).await;
    assert_ne!(html2, html1);
    assert!(html2.contains("Second texte.") && !html2.contains("Premier texte."));
    let (_, md2) = http_get(relay.addr, &md).await;
    assert_ne!(md2, md1);
    let (status, json) = http_get(relay.addr, &format!("/t/{a}/fiches/{fiche}.json")).await;
    assert_eq!(status, 200, "{json}");
    let json: Value = serde_json::from_str(&json).expect("json");
    let versions: Vec<String> =
        json["versions"].as_array().expect("versions").iter().map(|v| v["id"].as_str().expect("id").into()).collect();
    assert_eq!(versions.len(), 2, "{json}");
    assert_eq!(json["id"], fiche.to_string());
    assert_eq!(json["territoire"], a.to_string());
    assert_eq!(json["nationale"], false);
    assert!(html2.contains(&format!("?version={}", versions[0])), "earlier versions are links");
    let (status, ancienne) = http_get(relay.addr, &format!("{page}?version={}", versions[0])).await;
    assert_eq!(status, 200);
    assert!(ancienne.contains("Premier texte.") && !ancienne.contains("Second texte."));
    for inconnue in ["0000000000000000", "../x", &"a".repeat(65)] {
        let (status, _) = http_get(relay.addr, &format!("{page}?version={inconnue}")).await;
        assert_eq!(status, 404, "{inconnue}");
    }
    // The same version: 304; the ETag of the first version no longer matches.
    let (_, head2, _) = http_get_with(relay.addr, &page, &[]).await;
    let (etag1, etag2) = (etag(&head), etag(&head2));
    assert_ne!(etag1, etag2);
    let (status, _, _) = http_get_with(relay.addr, &page, &[("If-None-Match", &etag1)]).await;
    assert_eq!(status, 200);
    let (status, _, _) = http_get_with(relay.addr, &page, &[("If-None-Match", &etag2)]).await;
    assert_eq!(status, 304);
    relay.stop().await;
}

#[tokio::test]
async fn a_sheet_opens_to_its_territorys_organisers_only_and_answers_410_once_withdrawn() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A", true);
    let b = territory(&data, "Territoire B", true);
    let (t_ana, t_zoe) = (invite(&data, &a, Role::Organisateur, 3), invite(&data, &a, Role::Organisateur, 4));
    let resident = invite(&data, &a, Role::Habitant, 5);
    let t_bob = invite(&data, &b, Role::Organisateur, 6);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let zoe = connect(&relay, &t_zoe, &a).await;
    let fiche = fiche_publiee(&ana, &zoe, &a, contenu("Fiche d'accès", "Texte.")).await;

    // A resident, another territory's organiser: unavailable, nothing
    // reaches them; no chunk download either, whatever the token.
    let habitant = connect(&relay, &resident, &a).await;
    habitant.open(&fiche).await.expect("open");
    habitant.wait_unavailable(&fiche, WAIT).await.expect("a resident never opens a sheet");
    let bob = connect(&relay, &t_bob, &b).await;
    bob.open(&fiche).await.expect("open");
    bob.wait_unavailable(&fiche, WAIT).await.expect("an organiser of a territory that does not list it");
    for client in [&habitant, &bob] {
        let heads = client.heads(&fiche).await.expect("heads");
        assert!(heads.is_empty(), "the sheet reached someone");
    }
    for token in [&resident, &t_ana, &t_bob] {
        let (status, _) = http_get(relay.addr, &format!("/d/{fiche}/chunks?token={token}")).await;
        assert_eq!(status, 404, "chunks serve territories only");
    }
    let (status, _) = http_get(relay.addr, &format!("/d/{fiche}/chunks")).await;
    assert_ne!(status, 200);
    // Not B's: its pages do not show it.
    let (status, _) = http_get(relay.addr, &format!("/t/{b}/fiches/{fiche}/")).await;
    assert_eq!(status, 404);
    let (status, liste) = http_get(relay.addr, &format!("/t/{b}/fiches.json")).await;
    assert_eq!(status, 200);
    assert!(!liste.contains(&fiche.to_string()));

    // Withdrawn: 410 everywhere, with when and why; off the list.
    ana.appliquer_fiche(&fiche, Some("Ana"), EditFiche::Retirer { motif: "Chiffres à revoir".into() })
        .await
        .expect("withdrawn");
    propager(&ana, &fiche, &[]).await;
    let (status, head, page) = http_get_with(relay.addr, &format!("/t/{a}/fiches/{fiche}/"), &[]).await;
    assert_eq!(status, 410, "{page}");
    page_conforme(&head, &page);
    assert!(page.contains("Cette fiche a été retirée le ") && page.contains("Chiffres à revoir"), "{page}");
    let (status, json) = http_get(relay.addr, &format!("/t/{a}/fiches/{fiche}.json")).await;
    assert_eq!(status, 410);
    let json: Value = serde_json::from_str(&json).expect("json");
    assert!(json["erreur"].as_str().expect("erreur").contains("Chiffres à revoir"));
    let (status, md) = http_get(relay.addr, &format!("/t/{a}/fiches/{fiche}.md")).await;
    assert_eq!(status, 410);
    assert!(md.contains("Cette fiche a été retirée le ") && !md.contains("Texte."));
    let (_, liste) = http_get(relay.addr, &format!("/t/{a}/fiches.json")).await;
    assert!(!liste.contains(&fiche.to_string()), "a withdrawn sheet leaves the list");

    // Never published, unknown, malformed: the feeds' 404.
    let brouillon = ana.creer_fiche(&a, Some("Ana"), contenu("Brouillon", "x")).await.expect("draft");
    propager(&ana, &brouillon, &[]).await;
    propager(&ana, &a, &[]).await;
    for path in [
        format!("/t/{a}/fiches/{brouillon}/"),
        format!("/t/{a}/fiches/{brouillon}.json"),
        format!("/t/{a}/fiches/{}/", DocumentId::from_bytes(&[9; 16]).expect("id")),
        format!("/t/{a}/fiches/pas-un-id/"),
        format!("/t/{a}/fiches/{fiche}.txt"),
    ] {
        let (status, _) = http_get(relay.addr, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn two_territories_share_a_sheet_only_when_both_consent() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A", true);
    let b = territory(&data, "Territoire B", true);
    let t_ana = invite(&data, &a, Role::Organisateur, 7);
    let t_bob = invite(&data, &b, Role::Organisateur, 8);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let bob = connect(&relay, &t_bob, &b).await;

    let fiche = ana.creer_fiche(&a, Some("Ana"), contenu("Partagée", "De A.")).await.expect("created");
    let seule = ana.creer_fiche(&a, Some("Ana"), contenu("Seule", "De A seulement.")).await.expect("created");
    propager(&ana, &a, &[]).await;
    propager(&ana, &fiche, &[]).await;
    propager(&ana, &seule, &[]).await;
    let lister =
        |doc: &DocumentId| agenda::Edit::AttacherDocument { document: doc.to_string(), genre: GenreDocument::Fiche };

    // B lists a sheet A never proposed: nothing opens.
    bob.apply(&b, lister(&seule)).await.expect("listed in B");
    propager(&bob, &b, &[]).await;
    let bob1 = connect(&relay, &t_bob, &b).await;
    bob1.open(&seule).await.expect("open");
    bob1.wait_unavailable(&seule, WAIT).await.expect("B's listing alone opens nothing");

    // A proposes B, B has not listed it: nothing opens.
    ana.appliquer_fiche(&fiche, Some("Ana"), EditFiche::Proposer { depuis: a.to_string(), territoire: b.to_string() })
        .await
        .expect("proposed");
    propager(&ana, &fiche, &[]).await;
    let bob2 = connect(&relay, &t_bob, &b).await;
    bob2.open(&fiche).await.expect("open");
    bob2.wait_unavailable(&fiche, WAIT).await.expect("A's proposal alone opens nothing");
    for (client, doc) in [(&bob1, &seule), (&bob2, &fiche)] {
        assert!(client.heads(doc).await.expect("heads").is_empty(), "a sheet reached B without consent");
    }

    // Both: B's organisers open it, and each side sees the other's edits.
    bob.apply(&b, lister(&fiche)).await.expect("listed in B");
    propager(&bob, &b, &[]).await;
    let bob3 = connect(&relay, &t_bob, &b).await;
    bob3.open(&fiche).await.expect("open");
    bob3.wait_until(&fiche, WAIT, |am| agenda::lire_fiche(am).contenu.contexte == "De A.").await.expect("B opens it");
    bob3.appliquer_fiche(&fiche, Some("Bob"), modifier("conseils", "Conseil de B.")).await.expect("B edits");
    ana.appliquer_fiche(&fiche, Some("Ana"), modifier("contexte", "De A, encore.")).await.expect("A edits");
    propager(&bob3, &fiche, &[]).await;
    propager(&ana, &fiche, &[]).await;
    let vu = |contexte: &'static str, conseils: &'static str| {
        move |am: &sync_core::automerge::Automerge| {
            let c = agenda::lire_fiche(am).contenu;
            c.contexte == contexte && c.conseils == conseils
        }
    };
    ana.wait_until(&fiche, WAIT, vu("De A, encore.", "Conseil de B.")).await.expect("A sees B's edit");
    bob3.wait_until(&fiche, WAIT, vu("De A, encore.", "Conseil de B.")).await.expect("B sees A's edit");
    // B's listing of the unproposed sheet still opens nothing.
    let bob4 = connect(&relay, &t_bob, &b).await;
    bob4.open(&seule).await.expect("open");
    bob4.wait_unavailable(&seule, WAIT).await.expect("still closed");
    relay.stop().await;
}

#[tokio::test]
async fn a_listing_opens_a_sheet_the_relay_had_not_loaded_to_a_device_already_waiting() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A", true);
    let b = territory(&data, "Territoire B", true);
    let t_ana = invite(&data, &a, Role::Organisateur, 15);
    let t_bob = invite(&data, &b, Role::Organisateur, 16);
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let fiche = ana.creer_fiche(&a, Some("Ana"), contenu("Proposée", "De A.")).await.expect("created");
    propager(&ana, &a, &[]).await;
    let proposer = EditFiche::Proposer { depuis: a.to_string(), territoire: b.to_string() };
    ana.appliquer_fiche(&fiche, Some("Ana"), proposer).await.expect("proposed");
    propager(&ana, &fiche, &[]).await;
    drop(ana);
    // A restart: the relay holds the sheet on disk only.
    let data = relay.stop().await;
    let relay = start_relay_with(data, |config| config.open = false).await;
    let bob = connect(&relay, &t_bob, &b).await;
    bob.open(&fiche).await.expect("open");
    bob.wait_unavailable(&fiche, WAIT).await.expect("not listed by B yet");
    // B lists it: the relay loads the sheet, sees it names B, and syncs it
    // to the device that asked before.
    let lister = agenda::Edit::AttacherDocument { document: fiche.to_string(), genre: GenreDocument::Fiche };
    bob.apply(&b, lister).await.expect("listed in B");
    propager(&bob, &b, &[]).await;
    bob.wait_until(&fiche, WAIT, |am| agenda::lire_fiche(am).contenu.titre == "Proposée")
        .await
        .expect("the waiting device receives the sheet once B lists it");
    relay.stop().await;
}

/// The front matter's fields and each section's text, read back from the
/// Markdown as a consumer would.
fn relire_markdown(md: &str) -> (serde_json::Map<String, Value>, Vec<(String, String)>) {
    let reste = md.strip_prefix("---\n").expect("front matter opens the file");
    let (entete, corps) = reste.split_once("\n---\n").expect("front matter closes");
    let mut champs = serde_json::Map::new();
    for ligne in entete.lines() {
        let (cle, valeur) = ligne.split_once(": ").expect("key: value");
        champs.insert(cle.into(), serde_json::from_str(valeur).expect("a JSON (YAML) value"));
    }
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for ligne in corps.split('\n') {
        match ligne.strip_prefix("## ") {
            Some(titre) => sections.push((titre.into(), Vec::new())),
            None => {
                if let Some((_, lignes)) = sections.last_mut() {
                    lignes.push(sync_core::flux::ligne_lue(ligne));
                }
            }
        }
    }
    let sections = sections
        .into_iter()
        .map(|(titre, mut lignes)| {
            lignes.remove(0);
            lignes.pop();
            (titre, lignes.join("\n"))
        })
        .collect();
    (champs, sections)
}

#[tokio::test]
async fn the_markdown_reads_back_and_the_pages_are_the_feeds_pages() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire <A>", true);
    let (t_ana, t_zoe) = (invite(&data, &a, Role::Organisateur, 9), invite(&data, &a, Role::Organisateur, 10));
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let zoe = connect(&relay, &t_zoe, &a).await;
    let mut c = contenu("Titre « avec » <balise>", "# Pas un titre\n---\nfin\n\n## ni celui-ci");
    c.ce_qui_a_ete_fait = "\\ une barre\n===\n  # indenté".into();
    let fiche = fiche_publiee(&ana, &zoe, &a, c.clone()).await;

    let (status, head, md) = http_get_with(relay.addr, &format!("/t/{a}/fiches/{fiche}.md"), &[]).await;
    assert_eq!(status, 200, "{md}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/markdown; charset=utf-8"), "{head}");
    let (champs, sections) = relire_markdown(&md);
    assert_eq!(champs["titre"], c.titre);
    assert_eq!(champs["resume"], c.resume);
    assert_eq!(champs["licence"], "CC BY-SA 4.0");
    assert_eq!(champs["licence_url"], "https://creativecommons.org/licenses/by-sa/4.0/deed.fr");
    assert_eq!(champs["territoires"], json!([a.to_string()]));
    assert_eq!(champs["portes_entree"], json!(["economie_locale"]));
    assert_eq!(champs["mesures_pacte"], json!(["M05"]));
    assert_eq!(champs["auteurs"], json!(["Ana"]), "the review is no writing");
    assert!(champs["version"].as_str().is_some_and(|v| v.len() == 10), "an ISO date");
    assert!(champs["source"].as_str().expect("source").contains(&format!("/t/{a}/fiches/{fiche}/?version=")));
    assert_eq!(
        sections,
        vec![
            ("Contexte".to_owned(), c.contexte.clone()),
            ("Ce qui a été fait".to_owned(), c.ce_qui_a_ete_fait.clone()),
            ("Conseils".to_owned(), c.conseils.clone()),
        ]
    );

    for path in [format!("/t/{a}/fiches/{fiche}/"), format!("/t/{a}/fiches/")] {
        let (status, head, page) = http_get_with(relay.addr, &path, &[]).await;
        assert_eq!(status, 200, "{path}: {page}");
        page_conforme(&head, &page);
        assert!(page.contains("Territoire &lt;A&gt;") && !page.contains("<A>") && !page.contains("<balise>"));
        assert!(page.contains("Titre « avec » &lt;balise&gt;"), "{page}");
    }
    // Compressed as the feeds are.
    let (status, head, _) =
        http_get_with(relay.addr, &format!("/t/{a}/fiches/{fiche}/"), &[("Accept-Encoding", "br")]).await;
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-encoding: br"), "{head}");

    // A full sheet (every section 1,500 characters, in lines) is a few
    // kilobytes, fewer compressed.
    let mots = ["réparer", "habitants", "samedi", "atelier", "vélos", "mairie", "quartier", "récupérer", "partager"];
    let texte: String = (0..23usize)
        .map(|i| {
            let m = |k: usize| mots[(i * 7 + k * 5) % mots.len()];
            format!("{i}. Les {} du {} ont pu {} {} {} fois avec la {}.\n", m(1), m(2), m(3), m(4), i * 3 + 1, m(5))
        })
        .collect();
    let pleine = ContenuFiche {
        ce_qui_a_ete_fait: texte.clone(),
        resultats: texte.clone(),
        difficultes: texte.clone(),
        ..contenu("Une fiche complète", &texte)
    };
    let pleine = fiche_publiee(&ana, &zoe, &a, ContenuFiche { conseils: texte, ..pleine }).await;
    let page = format!("/t/{a}/fiches/{pleine}/");
    let (_, _, brut) = crate::support::http_get_bytes(relay.addr, &page, &[]).await;
    let (_, head, br) = crate::support::http_get_bytes(relay.addr, &page, &[("Accept-Encoding", "br")]).await;
    assert!(head.to_ascii_lowercase().contains("content-encoding: br"));
    let (_, _, md) = crate::support::http_get_bytes(relay.addr, &format!("/t/{a}/fiches/{pleine}.md"), &[]).await;
    eprintln!("fiche pleine\u{a0}: page {} octets ({} en brotli), Markdown {} octets", brut.len(), br.len(), md.len());
    assert!(brut.len() < 16_000 && br.len() < 4_000, "{} / {}", brut.len(), br.len());
    relay.stop().await;
}

/// Runs the real `essaim` with `args` on `relay`'s data directory:
/// (success, stdout, stderr).
async fn essaim(relay: &Relay, args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(crate::crash::essaim_binary());
    command.args(args).arg("--data").arg(relay.data.path()).env_remove("ESSAIM_DATA");
    let output = tokio::time::timeout(WAIT, command.output()).await.expect("essaim ends in time").expect("run essaim");
    let texte = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (output.status.success(), texte(output.stdout), texte(output.stderr))
}

#[tokio::test]
async fn the_relays_team_admits_sheets_to_the_national_list() {
    let data = TempDir::new().expect("temp dir");
    let a = territory(&data, "Territoire A", true);
    let p = territory(&data, "Territoire privé", false);
    let (t_ana, t_zoe) = (invite(&data, &a, Role::Organisateur, 11), invite(&data, &a, Role::Organisateur, 12));
    let (t_pa, t_pz) = (invite(&data, &p, Role::Organisateur, 13), invite(&data, &p, Role::Organisateur, 14));
    let relay = start_relay_with(data, |config| config.open = false).await;
    let ana = connect(&relay, &t_ana, &a).await;
    let zoe = connect(&relay, &t_zoe, &a).await;
    let fiche = fiche_publiee(&ana, &zoe, &a, contenu("Nationale", "Texte national.")).await;
    let brouillon = ana.creer_fiche(&a, Some("Ana"), contenu("Brouillon", "x")).await.expect("draft");
    propager(&ana, &brouillon, &[]).await;
    propager(&ana, &a, &[]).await;
    let pa = connect(&relay, &t_pa, &p).await;
    let pz = connect(&relay, &t_pz, &p).await;
    let privee = fiche_publiee(&pa, &pz, &p, contenu("Privée", "y")).await;

    let (_, vide) = http_get(relay.addr, "/fiches.json").await;
    assert_eq!(serde_json::from_str::<Value>(&vide).expect("json")["fiches"], json!([]));

    // Refusals: French, nothing changes.
    let (a_s, p_s, f_s, b_s, pv_s) =
        (a.to_string(), p.to_string(), fiche.to_string(), brouillon.to_string(), privee.to_string());
    for (args, message) in [
        (vec!["fiche", "admettre", b_s.as_str(), "--territoire", a_s.as_str()], "n'est pas publiée"),
        (vec!["fiche", "admettre", pv_s.as_str(), "--territoire", p_s.as_str()], "n'est pas public"),
        (vec!["fiche", "admettre", f_s.as_str(), "--territoire", p_s.as_str()], "n'est pas public"),
        (vec!["fiche", "admettre", "pas-un-id", "--territoire", a_s.as_str()], "identifiant invalide"),
        (vec!["fiche", "retirer", f_s.as_str()], "n'est pas sur la liste nationale"),
    ] {
        let (ok, _, stderr) = essaim(&relay, &args).await;
        assert!(!ok && stderr.contains(message), "{args:?}: {stderr}");
    }
    let (ok, liste, _) = essaim(&relay, &["fiches"]).await;
    assert!(ok);
    assert!(!liste.contains("nationale"), "nothing admitted: {liste}");
    assert!(liste.contains(&format!("{fiche}\t{a}\tNationale\tPubliée pour le territoire\t-")), "{liste}");
    assert!(!liste.contains("Brouillon"), "drafts are not listed: {liste}");

    // Admitted while the relay runs: listed at once.
    let (ok, stdout, stderr) = essaim(&relay, &["fiche", "admettre", &f_s, "--territoire", &a_s]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("admise"), "{stdout}");
    let (status, json) = http_get(relay.addr, "/fiches.json").await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["fiches"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json["fiches"][0]["id"], f_s);
    assert_eq!(json["fiches"][0]["territoire"], a_s);
    assert_eq!(json["fiches"][0]["nationale"], true);
    let (status, head, page) = http_get_with(relay.addr, "/fiches/", &[]).await;
    assert_eq!(status, 200);
    page_conforme(&head, &page);
    assert!(page.contains(">Nationale</a> – Territoire A"), "{page}");
    let (_, page) = http_get(relay.addr, &format!("/t/{a}/fiches/{fiche}/")).await;
    assert!(page.contains("Publiée nationalement"));
    for (query, listed) in [
        ("?theme=economie_locale", true),
        ("?theme=alimentation_agriculture", false),
        ("?mesure=M05", true),
        ("?mesure=M06", false),
        ("?theme=economie_locale&mesure=M05", true),
        // The directory's criteria on the sheet's territory (a commune
        // with no INSEE code, in no network).
        ("?type=commune", true),
        ("?type=quartier", false),
        ("?reseau=colibris", false),
    ] {
        let (status, json) = http_get(relay.addr, &format!("/fiches.json{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(json.contains(&f_s), listed, "{query}: {json}");
        let (_, page) = http_get(relay.addr, &format!("/fiches/{query}")).await;
        assert_eq!(page.contains(">Nationale</a>"), listed, "{query}");
    }
    let longue = format!("?theme={}", "x".repeat(5000));
    for query in ["?theme=lune", "?mesure=M33", "?couleur=bleu", "?mesure=M05&mesure=M06", "?theme=%FF", &longue] {
        let (status, body) = http_get(relay.addr, &format!("/fiches.json{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains("filtre") || body.contains("valeur"), "{query}: {body}");
    }

    // Withdrawn by its authors: off the national list, 410 on its page.
    ana.appliquer_fiche(&fiche, Some("Ana"), EditFiche::Retirer { motif: "Obsolète".into() }).await.expect("withdrawn");
    propager(&ana, &fiche, &[]).await;
    let (_, json) = http_get(relay.addr, "/fiches.json").await;
    assert!(!json.contains(&f_s), "{json}");
    let (status, _) = http_get(relay.addr, &format!("/t/{a}/fiches/{fiche}/")).await;
    assert_eq!(status, 410);
    let (ok, _, stderr) = essaim(&relay, &["fiche", "admettre", &f_s, "--territoire", &a_s]).await;
    assert!(!ok && stderr.contains("retirée"), "{stderr}");
    let (ok, stdout, stderr) = essaim(&relay, &["fiche", "retirer", &f_s]).await;
    assert!(ok && stdout.contains("retirée de la liste nationale"), "{stderr}");
    relay.stop().await;
}
