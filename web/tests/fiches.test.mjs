// Experience sheets (issue 18), on a real relay in Chromium: two
// organisers of one territory write a sheet offline, in one section and in
// two others, and every paragraph survives their reunion, with no
// conflict shown for the long texts (a title renamed on both shows both
// values, settled in one tap); a paragraph arriving while one types joins
// what is being typed; « Relire » is refused to the last author with the
// reason in French, then another organiser reviews and publishes; an edit
// after publication shows in « Modifications depuis la version publiée »;
// a territory proposes the sheet to another, whose organiser accepts it
// from the link and writes in it; a resident reads the published sheets
// (not a draft, nor what was written since publication; the public page
// neither), still reads one offline after a reload, and reads why it was
// withdrawn; an organiser of another territory takes up a sheet's public
// actions as drafts (« S'inspirer de cette fiche »). The list, editor and
// reading screens pass axe in light and dark and fit 320 px.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkAxe,
  createAction,
  createTerritory,
  dataDirectory,
  device,
  freshRelay,
  makePublic,
  openApp,
  startRelay,
  until,
  waitSynced,
} from "./support.mjs";

const LARGEUR = 320;
const CIBLE = 43.5;

/** A relay with territories `noms`, created by the CLI: each one's id and links. */
async function relaisAvec(...noms) {
  const { data, essaim } = dataDirectory();
  const sorties = noms.map((nom) => essaim("territory", "create", "--name", nom, "--kind", "commune", "--insee", "44128"));
  const relay = await startRelay(data, 0, { open: false });
  const territoires = sorties.map((sortie) => {
    const lien = (qui) => sortie.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
    return { doc: lien("organisateurs").match(/#\/territoire\/([^/]+)/)[1], organisateur: lien("organisateurs"), habitant: lien("habitants") };
  });
  return { relay, territoires };
}

/** A device that joined with `lien`, on the territory named `nom`. */
async function rejoindre(lien, nom) {
  const contexte = await device();
  const page = await openApp(contexte, lien);
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  return { contexte, page };
}

/** The territory's sheets, from its page in the « Territoire » tab. */
async function ouvrirFiches(page) {
  await page.getByTestId("nav-territoire").click();
  await page.getByTestId("lien-fiches").click();
  await page.getByRole("heading", { level: 1, name: "Fiches d'expérience" }).waitFor();
}

async function nommer(page, nom) {
  const carte = page.getByTestId("mon-nom");
  await carte.getByLabel("Votre nom ou prénom").fill(nom);
  await carte.getByRole("button", { name: "Enregistrer mon nom" }).click();
  await carte.waitFor({ state: "detached" });
}

/** Appends a paragraph to the section labelled `section`, then leaves the field (which saves it). */
async function ecrire(page, section, paragraphe) {
  const champ = page.getByLabel(section, { exact: true });
  const avant = await champ.inputValue();
  await champ.fill(avant ? `${avant}\n\n${paragraphe}` : paragraphe);
  // Leaving the field saves it at once (the editor's blur handler).
  await champ.blur();
}

/** Waits until the section's field holds every paragraph, each intact. */
async function contient(page, section, paragraphes) {
  const champ = page.getByLabel(section, { exact: true });
  await until(`« ${section} » holds every paragraph`, async () => {
    const texte = await champ.inputValue();
    return paragraphes.every((p) => texte.includes(p)) || Promise.reject(new Error(JSON.stringify(texte)));
  });
}

/** Answers the open confirmation dialog with `bouton`. */
async function confirmer(page, bouton) {
  await page.getByRole("dialog").getByRole("button", { name: bouton }).click();
  await page.getByRole("dialog").waitFor({ state: "detached" });
}

/** axe in light and dark, no sideways scroll at 320 px, 44 px targets. */
async function inspecter(page, ecran) {
  await page.setViewportSize({ width: LARGEUR, height: 720 });
  for (const mode of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: mode });
    await checkAxe(page, `${ecran} (${mode})`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  const largeur = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(largeur <= LARGEUR, `${ecran}: ${largeur} px wide on a ${LARGEUR} px screen`);
  const petites = await page.evaluate(
    (cible) =>
      [...document.querySelectorAll("nav a, header a, main button, main a.bouton, main .carte-lien, dialog button")]
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => ({ e, r: e.getBoundingClientRect() }))
        .filter(({ r }) => r.height < cible || r.width < cible)
        .map(({ e, r }) => `${(e.textContent ?? "").trim()} (${Math.round(r.width)}×${Math.round(r.height)})`),
    CIBLE,
  );
  assert.deepEqual(petites, [], `${ecran}: touch targets under 44 px`);
}

test("two organisers write a sheet offline, every paragraph stays; review by another, publish, changes since", async () => {
  const { relay, territoires } = await relaisAvec("Commune de Plessé");
  const [plesse] = territoires;
  const a = await rejoindre(plesse.organisateur, "Commune de Plessé");
  const b = await rejoindre(plesse.organisateur, "Commune de Plessé");

  // Alice starts a sheet: its title, then the editor.
  await ouvrirFiches(a.page);
  await nommer(a.page, "Alice");
  await a.page.getByTestId("nouvelle-fiche").getByText("Nouvelle fiche").click();
  await a.page.getByLabel("Titre de la fiche").fill("Un repair café à la médiathèque");
  await a.page.getByRole("button", { name: "Créer la fiche" }).click();
  await a.page.getByRole("heading", { level: 1, name: "Un repair café à la médiathèque" }).waitFor();
  await a.page.getByTestId("etat-fiche").filter({ hasText: "Brouillon" }).waitFor();
  const adresse = a.page.url();
  await inspecter(a.page, "éditeur de fiche");
  await ecrire(a.page, "Contexte", "La médiathèque cherchait à accueillir d'autres publics le samedi.");
  await waitSynced(a.page);

  // Bruno finds it in the list, with its state in words.
  await ouvrirFiches(b.page);
  await nommer(b.page, "Bruno");
  const carte = b.page.getByTestId("fiche").filter({ hasText: "Un repair café à la médiathèque" });
  await carte.getByTestId("etat-fiche").filter({ hasText: "Brouillon" }).waitFor();
  await inspecter(b.page, "liste des fiches, organisateur");
  await carte.getByRole("link", { name: "Un repair café à la médiathèque" }).click();
  await contient(b.page, "Contexte", ["accueillir d'autres publics"]);

  // Both offline: a paragraph each in « Contexte », one each in another section.
  const P = {
    a1: "Alice : trois bénévoles bricoleurs se sont proposés dès la première réunion publique.",
    a2: "Alice : quarante objets réparés en six mois, surtout des lampes et des grille-pain.",
    b1: "Bruno : la mairie a prêté la salle et assuré le matériel électrique.",
    b2: "Bruno : commencer petit, un samedi par mois, et tenir un cahier des réparations.",
  };
  await a.contexte.setOffline(true);
  await b.contexte.setOffline(true);
  await ecrire(a.page, "Contexte", P.a1);
  await ecrire(a.page, "Résultats", P.a2);
  await ecrire(b.page, "Contexte", P.b1);
  await ecrire(b.page, "Conseils", P.b2);
  // And each renames the sheet: a short field, whose two values show.
  for (const [page, titre] of [
    [a.page, "Le repair café de la médiathèque"],
    [b.page, "Un repair café le samedi"],
  ]) {
    await page.getByLabel("Titre", { exact: true }).fill(titre);
    await page.getByLabel("Titre", { exact: true }).blur();
    await page.getByRole("heading", { level: 1, name: titre }).waitFor();
  }
  await a.page.getByTestId("en-attente").filter({ hasText: "en attente" }).filter({ hasNotText: "aucune" }).waitFor();
  await a.contexte.setOffline(false);
  await b.contexte.setOffline(false);
  await waitSynced(a.page);
  await waitSynced(b.page);
  for (const page of [a.page, b.page]) {
    await contient(page, "Contexte", ["accueillir d'autres publics", P.a1, P.b1]);
    await contient(page, "Résultats", [P.a2]);
    await contient(page, "Conseils", [P.b2]);
    const conflit = page.getByTestId("conflit");
    await conflit.filter({ hasText: "Modifications simultanées : Titre" }).waitFor();
    assert.equal(await conflit.count(), 1, "no conflict for the long texts, one for the title");
  }
  await a.page.getByTestId("conflit").getByRole("button", { name: "Garder « Un repair café le samedi »" }).click();
  for (const page of [a.page, b.page]) {
    await page.getByRole("heading", { level: 1, name: "Un repair café le samedi" }).waitFor();
    await page.getByTestId("conflit").waitFor({ state: "detached" });
  }

  // Online, Alice types in « Conseils » while Bruno's paragraph arrives
  // there: it shows in her field at once and her typing goes on around it.
  const conseilsA = a.page.getByLabel("Conseils", { exact: true });
  await conseilsA.focus();
  await a.page.keyboard.press("Control+End");
  await a.page.keyboard.type(" Prévoir un café.");
  await contient(b.page, "Conseils", ["Prévoir un café."]);
  await ecrire(b.page, "Conseils", "Bruno : afficher les dates à la médiathèque.");
  await contient(a.page, "Conseils", ["Prévoir un café.", "Bruno : afficher les dates à la médiathèque."]);
  await a.page.keyboard.type(" Et des gâteaux.");
  await conseilsA.blur();
  const conseils = [P.b2, "Prévoir un café. Et des gâteaux.", "Bruno : afficher les dates à la médiathèque."];
  await contient(a.page, "Conseils", conseils);
  await contient(b.page, "Conseils", conseils);

  // Alice writes last: her « Relire » is refused, with the reason.
  await ecrire(a.page, "Difficultés", "Trouver des pièces détachées.");
  await waitSynced(a.page);
  await contient(b.page, "Difficultés", ["Trouver des pièces détachées."]);
  await a.page.getByTestId("fiche-etat").getByText("Vous avez écrit la dernière modification").waitFor();
  await a.page.getByRole("button", { name: "Relire" }).click();
  await confirmer(a.page, "J'ai relu la fiche");
  await a.page
    .getByTestId("refus-fiche")
    .filter({ hasText: "la relecture revient à un autre organisateur que le dernier auteur" })
    .waitFor();
  await a.page.getByTestId("etat-fiche").filter({ hasText: "Brouillon" }).waitFor();

  // Bruno reviews and publishes.
  await b.page.getByRole("button", { name: "Relire" }).click();
  await confirmer(b.page, "J'ai relu la fiche");
  await b.page.getByTestId("etat-fiche").filter({ hasText: "Relue" }).waitFor();
  await b.page.getByRole("button", { name: "Publier" }).click();
  await confirmer(b.page, "Publier");
  await b.page.getByTestId("etat-fiche").filter({ hasText: "Publiée pour le territoire" }).waitFor();
  await b.page.getByTestId("versions").getByRole("link", { name: /^Version du / }).waitFor();
  await waitSynced(b.page);
  await a.page.getByTestId("etat-fiche").filter({ hasText: "Publiée pour le territoire" }).waitFor();

  // Alice writes on: the changes since the published version, word by word.
  await ecrire(a.page, "Résultats", "Un deuxième atelier ouvre à Blain.");
  const differences = a.page.getByTestId("differences");
  await differences.getByText("Modifications depuis la version publiée").click();
  const resultats = differences.getByTestId("difference").filter({ hasText: "Résultats" });
  await resultats.locator("ins").filter({ hasText: "Un deuxième atelier ouvre à Blain." }).waitFor();
  await resultats.getByText("6 mots ajoutés").waitFor();
  await inspecter(a.page, "éditeur de fiche publiée, modifications ouvertes");
  await waitSynced(a.page);

  // Kept across a reload on this device.
  await a.page.goto(adresse);
  await contient(a.page, "Résultats", [P.a2, "Un deuxième atelier ouvre à Blain."]);
});

test("a territory proposes its sheet to another, whose organiser accepts it from the link and writes in it", async () => {
  const { territoires } = await relaisAvec("Commune de Plessé", "Commune de Blain");
  const [plesse, blain] = territoires;
  const a = await rejoindre(plesse.organisateur, "Commune de Plessé");
  const b = await rejoindre(blain.organisateur, "Commune de Blain");

  await ouvrirFiches(a.page);
  await a.page.getByTestId("nouvelle-fiche").getByText("Nouvelle fiche").click();
  await a.page.getByLabel("Titre de la fiche").fill("Une épicerie solidaire");
  await a.page.getByRole("button", { name: "Créer la fiche" }).click();
  await a.page.getByRole("heading", { level: 1, name: "Une épicerie solidaire" }).waitFor();
  await ecrire(a.page, "Contexte", "Des familles faisaient trente kilomètres pour leurs courses.");

  // Proposed to Blain by its page's link; the link to send names the sheet.
  const proposer = a.page.getByTestId("proposer-fiche");
  await proposer.getByLabel("Territoire").fill(`${new URL(a.page.url()).origin}/t/${blain.doc}/`);
  await proposer.getByRole("button", { name: "Proposer la fiche" }).click();
  const lien = await proposer.getByLabel("Fiche d'expérience « Une épicerie solidaire » proposée à votre territoire").inputValue();
  assert.match(lien, new RegExp(`#/fiches/accepter/[^/]+/${blain.doc}$`));
  await waitSynced(a.page);

  // Plessé's organiser cannot accept it for Blain.
  await a.page.goto(lien);
  await a.page.getByTestId("accepter-impossible").filter({ hasText: "n'organise pas le territoire" }).waitFor();

  // Blain's organiser accepts; the sheet opens there and Blain writes in it.
  await b.page.goto(lien);
  await b.page.getByTestId("accepter-fiche").getByText("Commune de Blain").first().waitFor();
  await b.page.getByRole("button", { name: "Accepter" }).click();
  await b.page.getByRole("heading", { level: 1, name: "Une épicerie solidaire" }).waitFor();
  await contient(b.page, "Contexte", ["trente kilomètres"]);
  await ecrire(b.page, "Conseils", "Blain : s'appuyer sur le CCAS dès le début.");
  await waitSynced(b.page);

  // Back on Plessé's device: Blain's paragraph arrived.
  await a.page.goto(`${new URL(lien).origin}/#/t/${plesse.doc}/fiches`);
  await a.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" }).getByRole("link").click();
  await contient(a.page, "Conseils", ["Blain : s'appuyer sur le CCAS dès le début."]);

  // And Blain's list shows it.
  await b.page.goto(`${new URL(lien).origin}/#/t/${blain.doc}/fiches`);
  await b.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" }).waitFor();
});

/** Organiser `a` writes a sheet titled `titre`, organiser `b` reviews and publishes it; returns its id. */
async function publier(a, b, titre, contexte) {
  await ouvrirFiches(a);
  await a.getByTestId("nouvelle-fiche").getByText("Nouvelle fiche").click();
  await a.getByLabel("Titre de la fiche").fill(titre);
  await a.getByRole("button", { name: "Créer la fiche" }).click();
  await a.getByRole("heading", { level: 1, name: titre }).waitFor();
  await ecrire(a, "Contexte", contexte);
  await waitSynced(a);
  const fiche = a.url().match(/fiches\/([^/?#]+)$/)[1];
  await b.goto(a.url());
  await contient(b, "Contexte", [contexte]);
  await b.getByRole("button", { name: "Relire" }).click();
  await confirmer(b, "J'ai relu la fiche");
  await b.getByRole("button", { name: "Publier" }).click();
  await confirmer(b, "Publier");
  await b.getByTestId("etat-fiche").filter({ hasText: "Publiée pour le territoire" }).waitFor();
  await waitSynced(b);
  return fiche;
}

test("a resident reads the published sheets, still reads one offline after a reload, and reads why it was withdrawn", async () => {
  const { relay, territoires } = await relaisAvec("Commune de Plessé");
  const [plesse] = territoires;
  const a = await rejoindre(plesse.organisateur, "Commune de Plessé");
  const b = await rejoindre(plesse.organisateur, "Commune de Plessé");
  const contexte = "Des familles faisaient trente kilomètres pour leurs courses.";
  await publier(a.page, b.page, "Une épicerie solidaire", contexte);
  // A draft, never shown to residents.
  await a.page.getByRole("link", { name: "Toutes les fiches" }).click();
  await a.page.getByTestId("nouvelle-fiche").getByText("Nouvelle fiche").click();
  await a.page.getByLabel("Titre de la fiche").fill("Un brouillon secret");
  await a.page.getByRole("button", { name: "Créer la fiche" }).click();
  await a.page.getByRole("heading", { level: 1, name: "Un brouillon secret" }).waitFor();
  await waitSynced(a.page);
  // Written after publication: neither residents nor the public page read it.
  await a.page.getByRole("link", { name: "Toutes les fiches" }).click();
  await a.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" }).getByRole("link").click();
  await ecrire(a.page, "Conseils", "Un ajout pas encore relu.");
  await waitSynced(a.page);
  const fiche = a.page.url().match(/fiches\/([^/?#]+)$/)[1];
  const jeton = plesse.habitant.match(/invitation\/habitant\/([^/?#]+)/)[1];
  const page = await a.page.request.get(`${relay.url}/t/${plesse.doc}/fiches/${fiche}/?token=${jeton}`);
  assert.equal(page.status(), 200);
  const html = await page.text();
  assert.ok(html.includes(contexte), "the public page shows the published text");
  assert.ok(!html.includes("Un ajout pas encore relu."), "and nothing written since");

  const r = await rejoindre(plesse.habitant, "Commune de Plessé");
  await ouvrirFiches(r.page);
  const carte = r.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" });
  await carte.waitFor();
  assert.equal(await r.page.getByText("Un brouillon secret").count(), 0, "no draft for a resident");
  assert.equal(await r.page.getByTestId("nouvelle-fiche").count(), 0, "no new sheet for a resident");
  await inspecter(r.page, "liste des fiches, habitant");
  await carte.getByRole("link", { name: "Une épicerie solidaire" }).click();
  await r.page.getByTestId("lecture-contexte").filter({ hasText: contexte }).waitFor();
  assert.equal(await r.page.getByText("Un ajout pas encore relu.").count(), 0, "only the published version");
  await r.page.getByTestId("fiche-lecture").getByRole("link", { name: "CC BY-SA 4.0" }).waitFor();
  await r.page.getByTestId("fiche-lecture").getByRole("link", { name: "Texte en Markdown" }).waitFor();
  await inspecter(r.page, "fiche publiée, habitant");

  // Offline, after a reload: the sheet as it was kept, saying from when.
  await r.contexte.setOffline(true);
  await r.page.reload();
  await r.page.getByTestId("lecture-contexte").filter({ hasText: contexte }).waitFor();
  await r.page.getByTestId("hors-ligne").filter({ hasText: "la fiche telle qu'elle était le" }).waitFor();
  await r.page.getByRole("link", { name: "Toutes les fiches du territoire" }).click();
  await r.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" }).waitFor();
  await r.page.getByTestId("hors-ligne").filter({ hasText: "la liste telle qu'elle était le" }).waitFor();
  // Withdrawn with a reason: online again, the resident reads why.
  await a.page.getByTestId("fiche-etat").getByLabel("Motif du retrait").fill("Le local a fermé, la fiche sera réécrite.");
  await a.page.getByTestId("fiche-etat").getByRole("button", { name: "Retirer" }).click();
  await confirmer(a.page, "Retirer la fiche");
  await a.page.getByTestId("etat-fiche").filter({ hasText: "Retirée" }).waitFor();
  await waitSynced(a.page);
  await r.contexte.setOffline(false);
  await r.page.getByTestId("fiche").filter({ hasText: "Une épicerie solidaire" }).getByRole("link").click();
  await r.page.getByRole("heading", { level: 1, name: "Fiche retirée" }).waitFor();
  await r.page.getByRole("alert").filter({ hasText: "Le local a fermé, la fiche sera réécrite." }).waitFor();
});

test("« S'inspirer de cette fiche »: an organiser of another territory takes up its public actions as drafts", async () => {
  const { relay } = await freshRelay();
  const un = await device();
  const a = await openApp(un, relay.url);
  const lienA = await createTerritory(a, "Val d'Essaim");
  // Public: its sheets' and actions' pages are anyone's to read.
  await makePublic(a, lienA.split("/").pop());
  await createAction(a, { titre: "Repair café", rythme: "hebdo" });
  await a.getByRole("link", { name: "Repair café" }).first().click();
  await a.getByRole("link", { name: "Modifier", exact: true }).click();
  await a.getByLabel("Publication").selectOption({ label: "Publiée" });
  await a.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await a.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();

  // The sheet tells of the repair café; another organiser publishes it.
  await ouvrirFiches(a);
  await a.getByTestId("nouvelle-fiche").getByText("Nouvelle fiche").click();
  await a.getByLabel("Titre de la fiche").fill("Un repair café");
  await a.getByRole("button", { name: "Créer la fiche" }).click();
  await a.getByRole("heading", { level: 1, name: "Un repair café" }).waitFor();
  await ecrire(a, "Contexte", "Des objets jetés faute de savoir les réparer.");
  await a.getByTestId("fiche-classement").getByText("Classement et liens").click();
  await a.getByTestId("fiche-classement").getByLabel("Repair café").check();
  await a.getByTestId("fiche-classement").getByText("1 action").waitFor();
  await waitSynced(a);
  const adresse = a.url();
  const deux = await openApp(await device(), lienA);
  await deux.getByRole("heading", { level: 1, name: "Val d'Essaim" }).waitFor();
  await deux.goto(adresse);
  await contient(deux, "Contexte", ["Des objets jetés"]);
  await deux.getByRole("button", { name: "Relire" }).click();
  await confirmer(deux, "J'ai relu la fiche");
  await deux.getByRole("button", { name: "Publier" }).click();
  await confirmer(deux, "Publier");
  await deux.getByTestId("etat-fiche").filter({ hasText: "Publiée pour le territoire" }).waitFor();
  await waitSynced(deux);

  // An organiser of Saint-Paul reads it and takes its action up there.
  const b = await openApp(await device(), relay.url);
  const lienB = await createTerritory(b, "Saint-Paul en transition");
  await waitSynced(b);
  await b.goto(adresse);
  await b.getByTestId("lecture-contexte").filter({ hasText: "Des objets jetés" }).waitFor();
  const inspirer = b.getByTestId("inspirer");
  await inspirer.getByLabel("Territoire").selectOption({ label: "Saint-Paul en transition" });
  await inspirer.getByRole("button", { name: "S'inspirer de cette fiche" }).click();
  await inspirer.getByTestId("brouillons-inspires").filter({ hasText: "1 brouillon créé dans votre territoire" }).waitFor();
  await checkAxe(b, "s'inspirer d'une fiche");
  await inspirer.getByRole("link", { name: "Repair café" }).click();
  await b.waitForURL(new RegExp(`${lienB.split("#")[1]}/action/[^/]+$`));
  await b.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await b.getByTestId("publication").filter({ hasText: "Brouillon" }).waitFor();
});
