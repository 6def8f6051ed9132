// The app's look and shell (issue 15), in Chromium against the relay
// binary seeded with `essaim demo`, on a 320 px wide screen: every screen
// passes axe-core (no serious or critical violation) in light and dark
// modes, scrolls not sideways, and its navigation and main actions are
// touch targets of 44 px at least; the bottom navigation marks the current
// place (aria-current); a new screen opens at the top with the focus on
// its title; leaving a territory from "Moi" forgets it on the device.
//
// Run by scripts/test.sh after scripts/build-web.sh and the relay's build.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, device, openApp, startRelay, storedTerritories, until, waitNameStored } from "./support.mjs";

const LARGEUR = 320;
/** WCAG 2.5.5's 44 CSS px (`--cible`), half a pixel for rounding. */
const CIBLE = 43.5;

/**
 * A relay seeded with `essaim demo`, and the first demonstration
 * territory: its id, its name, and its invitation links' routes.
 */
function relaisDeDemonstration() {
  const { data, essaim } = dataDirectory();
  const sortie = essaim("demo");
  const [, doc, nom] = sortie.match(/^territoire: (\S+)\t(.+)$/m);
  const route = (role) => sortie.match(new RegExp(`^lien ${role}: \\S*?(#/territoire/${doc}/invitation/\\S+)$`, "m"))[1];
  return { data, doc, nom, organisateur: route("organisateurs"), habitant: route("habitants") };
}

/** What the screen `ecran` must hold: axe in both modes, no sideways scroll, 44 px targets. */
async function inspecter(page, ecran) {
  for (const [mode, nom] of [
    ["light", "clair"],
    ["dark", "sombre"],
  ]) {
    await page.emulateMedia({ colorScheme: mode });
    await checkAxe(page, `${ecran} (${nom})`);
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
        .map(({ e, r }) => `${(e.textContent ?? "").trim() || e.getAttribute("aria-label")} (${Math.round(r.width)}×${Math.round(r.height)})`),
    CIBLE,
  );
  assert.deepEqual(petites, [], `${ecran}: touch targets under 44 px`);
}

/** The bottom navigation's current place. */
async function courant(page) {
  const nav = page.getByRole("navigation", { name: "Navigation principale" });
  const courants = nav.locator('[aria-current="page"]');
  await until("one current place", async () => (await courants.count()) === 1);
  return courants.getAttribute("data-testid");
}

/** Whether the focus is on the screen's `h1`. */
const focusSurTitre = (page) => page.evaluate(() => document.activeElement?.tagName === "H1");

test("every screen: axe in light and dark, 320 px wide, 44 px targets, the bottom navigation", async () => {
  const demo = relaisDeDemonstration();
  const relay = await startRelay(demo.data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.setViewportSize({ width: LARGEUR, height: 640 });

  await page.getByRole("heading", { level: 1, name: "Vos territoires" }).waitFor();
  await inspecter(page, "accueil");
  await page.getByRole("button", { name: "Découvrir un territoire de démonstration" }).click();
  await page.getByRole("region", { name: "Découvrir Essaim" }).getByRole("button").first().waitFor();
  await inspecter(page, "accueil, démonstrations");

  // An organiser of the demonstration territory, from its link.
  await page.goto(`${relay.url}/${demo.organisateur}`);
  await page.getByRole("heading", { level: 1, name: demo.nom }).waitFor();
  await waitNameStored(page, demo.doc);
  await page.getByTestId("entete-territoire").filter({ hasText: demo.nom }).waitFor();
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();
  assert.equal(await courant(page), "nav-agenda");
  await inspecter(page, "agenda");

  await page.locator(`main a[href^="#/territoire/${demo.doc}/action/"]`).first().click();
  await page.locator("main h1").waitFor();
  assert.equal(await courant(page), "nav-agenda", "an action belongs to the agenda");
  await inspecter(page, "action");

  await page.goto(`${relay.url}/#/territoire/${demo.doc}/nouvelle-action`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  await inspecter(page, "nouvelle action");

  await page.goto(`${relay.url}/#/territoire/${demo.doc}/inviter`);
  await page.getByTestId("liste-invitations").waitFor();
  await inspecter(page, "invitations");

  await page.getByTestId("nav-territoire").click();
  await page.getByRole("heading", { level: 2, name: "Feuille de route" }).waitFor();
  assert.equal(await courant(page), "nav-territoire");
  await inspecter(page, "territoire");

  await page.getByTestId("lien-acteurs").click();
  await page.getByTestId("quatre-fantastiques").waitFor();
  await page.getByTestId("acteur").first().waitFor();
  assert.equal(await courant(page), "nav-territoire", "the actors belong to the territory");
  await inspecter(page, "acteurs");
  await page.goto(`${relay.url}/#/territoire/${demo.doc}/decisions`);
  await page.getByTestId("decision").first().waitFor();
  await inspecter(page, "décisions");
  await page.goto(`${relay.url}/#/territoire/${demo.doc}/historique`);
  await page.getByTestId("historique").first().waitFor();
  await inspecter(page, "historique");
  await page.goto(`${relay.url}/#/territoire/${demo.doc}/gouvernance`);
  await page.getByTestId("instance").first().waitFor();
  await inspecter(page, "gouvernance");
  await page.goto(`${relay.url}/#/territoire/${demo.doc}/engagements`);
  await page.getByRole("heading", { level: 1, name: "Engagements" }).waitFor();
  await inspecter(page, "engagements");
  await page.goto(`${relay.url}/#/t/${demo.doc}/fiches`);
  await page.getByTestId("fiche").first().waitFor();
  assert.equal(await courant(page), "nav-territoire", "the sheets belong to the territory");
  await inspecter(page, "fiches d'expérience");
  await page.getByTestId("fiche").filter({ hasText: "Publiée" }).getByRole("link").click();
  await page.getByTestId("fiche-editeur").waitFor();
  await page.getByTestId("differences").getByText("Modifications depuis la version publiée").click();
  await inspecter(page, "fiche d'expérience, éditeur");

  await page.getByTestId("nav-decouvrir").click();
  await page.getByRole("heading", { level: 1, name: "Découvrir" }).waitFor();
  await page.getByTestId("territoire-public").first().waitFor();
  assert.equal(await courant(page), "nav-decouvrir");
  await inspecter(page, "découvrir");

  await page.getByTestId("nav-moi").click();
  await page.getByRole("heading", { level: 1, name: "Moi" }).waitFor();
  await page.getByTestId("mon-territoire").filter({ hasText: demo.nom }).waitFor();
  assert.equal(await courant(page), "nav-moi");
  await inspecter(page, "moi");

  // Another link for the same territory: the question, in a dialog.
  await page.goto(`${relay.url}/${demo.habitant}`);
  const question = page.getByRole("dialog", { name: "Remplacer votre invitation ?" });
  await question.waitFor();
  await inspecter(page, "rejoindre, question");
  await question.getByRole("button", { name: "Garder mon invitation actuelle" }).click();
  await page.getByRole("heading", { level: 1, name: demo.nom }).waitFor();
});

test("a new screen opens at the top, the focus on its title", async () => {
  const demo = relaisDeDemonstration();
  const relay = await startRelay(demo.data, 0, { open: false });
  const page = await openApp(await device(), relay.url);
  await page.setViewportSize({ width: LARGEUR, height: 640 });
  await page.goto(`${relay.url}/${demo.habitant}`);
  await page.getByRole("heading", { level: 1, name: demo.nom }).waitFor();
  await page.locator(`main a[href^="#/territoire/${demo.doc}/action/"]`).first().waitFor();

  // Down the agenda, then to Moi: at the top, the focus on « Moi ».
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await until("the agenda scrolled down", () => page.evaluate(() => window.scrollY > 200));
  await page.getByTestId("nav-moi").click();
  await page.getByRole("heading", { level: 1, name: "Moi" }).waitFor();
  await until("Moi at the top, its title focused", async () => (await page.evaluate(() => window.scrollY)) === 0 && (await focusSurTitre(page)));

  // Back to the agenda, by the navigation: its title too, once shown.
  await page.getByTestId("nav-agenda").click();
  await until("the agenda's title focused", async () => {
    const focus = await page.evaluate(() => (document.activeElement?.tagName === "H1" ? document.activeElement.textContent : ""));
    return focus === demo.nom && (await page.evaluate(() => window.scrollY)) === 0;
  });

  // An action near the bottom of the agenda opens at its top.
  const actions = page.locator(`main a[href^="#/territoire/${demo.doc}/action/"]`);
  const derniere = actions.last();
  const titre = (await derniere.innerText()).trim();
  await derniere.scrollIntoViewIfNeeded();
  assert.ok((await page.evaluate(() => window.scrollY)) > 0, "the last action is below the fold");
  await derniere.click();
  await page.getByRole("heading", { level: 1, name: titre }).waitFor();
  await until("the action at the top, its title focused", async () => (await page.evaluate(() => window.scrollY)) === 0 && (await focusSurTitre(page)));
});

test("leaving a territory from Moi forgets it on this device, after a confirmation", async () => {
  const demo = relaisDeDemonstration();
  const relay = await startRelay(demo.data, 0, { open: false });
  const page = await openApp(await device(), relay.url);
  await page.goto(`${relay.url}/${demo.organisateur}`);
  await page.getByRole("heading", { level: 1, name: demo.nom }).waitFor();
  await waitNameStored(page, demo.doc);
  await page.getByTestId("nav-moi").click();
  const carte = page.getByTestId("mon-territoire").filter({ hasText: demo.nom });
  /** How many storage entries of the territory IndexedDB holds. */
  const resteDe = () =>
    page.evaluate(
      (doc) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open("essaim");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const keys = open.result.transaction("kv").objectStore("kv").getAllKeys();
            keys.onsuccess = () => (open.result.close(), resolve(keys.result.filter((k) => String(k).includes(doc)).length));
          };
        }),
      demo.doc,
    );
  await carte.filter({ hasText: "Organisateur" }).waitFor();

  assert.ok((await resteDe()) > 0, "the territory is stored here");

  // Changing one's mind changes nothing.
  await carte.getByRole("button", { name: "Quitter ce territoire" }).click();
  const dialogue = page.getByRole("dialog", { name: `Quitter « ${demo.nom} » ?` });
  await dialogue.waitFor();
  await checkAxe(page, "moi, quitter");
  await dialogue.getByRole("button", { name: "Ne rien changer" }).click();
  await dialogue.waitFor({ state: "detached" });
  assert.equal(await carte.count(), 1);
  assert.ok((await storedTerritories(page)).some((t) => t.doc === demo.doc));

  // Confirmed: the page reloads without it; nothing of it stays stored.
  const rechargee = page.waitForEvent("load");
  await carte.getByRole("button", { name: "Quitter ce territoire" }).click();
  await dialogue.getByRole("button", { name: "Quitter le territoire" }).click();
  await rechargee;
  await page.getByRole("heading", { level: 1, name: "Moi" }).waitFor();
  await page.getByText("Aucun territoire sur cet appareil.").waitFor();
  assert.equal(await resteDe(), 0, "no storage entry of the territory");
  assert.deepEqual(await storedTerritories(page), []);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Moi" }).waitFor();
  await page.getByText("Aucun territoire sur cet appareil.").waitFor();
  assert.equal(await resteDe(), 0, "still nothing after a reload");
  await page.getByRole("link", { name: "Essaim" }).click();
  await page.getByRole("heading", { level: 1, name: "Vos territoires" }).waitFor();
  assert.equal(await page.getByRole("link", { name: demo.nom }).count(), 0, "not among the territories");
});
