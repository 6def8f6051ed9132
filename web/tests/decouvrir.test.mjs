// « Découvrir » (issue 16), on a real relay in Chromium: the public
// territories of the relay (its demonstrations and a public one, never a
// private one) with their départements and upcoming rendez-vous, narrowed
// by an entry door or a département (on the map too), still listed and
// drawn offline after a reload, a demonstration opening in the app; the
// relay's `/territoires/` with the same map, one link per département.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, device, openApp, startRelay } from "./support.mjs";

test("Découvrir lists the relay's public territories, filters them, and works offline after one visit", async () => {
  const { data, essaim } = dataDirectory();
  const demos = [...essaim("demo").matchAll(/^territoire: (\S+)\t(.+)$/gm)].map((m) => m[2].trim());
  essaim("territory", "create", "--name", "QUARTIER-PRIVE");
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);

  await page.getByTestId("nav-decouvrir").click();
  await page.getByRole("heading", { level: 1, name: "Découvrir" }).waitFor();
  const cartes = page.getByTestId("territoire-public");
  await cartes.first().waitFor();
  const noms = await cartes.getByRole("heading", { level: 3 }).allInnerTexts();
  assert.deepEqual([...noms].sort(), [...demos].sort(), "the public territories, and only them");
  const premiere = await cartes.first().innerText();
  assert.match(premiere, /\d+\u00a0rendez-vous dans les 30 prochains jours/);
  assert.match(premiere, /Territoire de démonstration/);
  await checkAxe(page, "découvrir");

  // A département keeps its territories only.
  const options = await page.locator("#decouvrir-departement option").evaluateAll((o) => o.map((x) => x.value).filter(Boolean));
  assert.ok(options.length >= 2, `départements: ${options}`);
  await page.locator("#decouvrir-departement").selectOption(options[0]);
  await page.getByRole("heading", { level: 2, name: /^1\s+territoire$/ }).waitFor();
  await page.locator("#decouvrir-departement").selectOption("");
  await page.locator("#decouvrir-theme").selectOption("numerique_communs");
  await page.getByRole("heading", { level: 2, name: /^0\s+territoire$/ }).waitFor();
  await page.locator("#decouvrir-theme").selectOption("");

  // The map: every département a link named with its count; one with a
  // territory narrows the list to it, one without says so.
  const carte = page.getByTestId("carte-departements");
  await carte.waitFor();
  assert.equal(await carte.getByRole("link").count(), 108, "96 metropolitan, 12 overseas");
  const avec = carte.getByRole("link", { name: /\(\w+\)\s+: [1-9]\d*\s+territoires?$/ });
  assert.equal(await avec.count(), options.length, "the départements with a territory");
  await avec.first().click();
  await page.waitForURL(/#\/decouvrir\/departement\/\w+$/);
  await page.getByRole("heading", { level: 2, name: /^1\s+territoire$/ }).waitFor();
  await carte.getByRole("link", { name: /^Corse-du-Sud \(2A\)\s+: 0\s+territoire$/ }).click();
  await page.getByRole("heading", { level: 2, name: /^0\s+territoire$/ }).waitFor();
  assert.equal(await page.locator("#decouvrir-departement").inputValue(), "2A");
  await checkAxe(page, "découvrir, carte");
  await page.goto(`${relay.url}/#/decouvrir`);

  // Offline, after a reload: the list kept, said to be from today, and the map.
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId("annuaire-hors-ligne").filter({ hasText: /Hors ligne\s+: la liste du/ }).waitFor();
  assert.equal(await cartes.count(), demos.length);
  assert.equal(await carte.getByRole("link").count(), 108, "the map, from the service worker's cache");

  // A demonstration opens in the app, read-only.
  await context.setOffline(false);
  await cartes.first().getByRole("button", { name: "Ouvrir son agenda" }).click();
  await page.getByRole("heading", { level: 1, name: noms[0] }).waitFor();
  await page.getByTestId("lecture-seule").waitFor();
});

test("the relay's directory draws a map of départements, each a link to its filter named with its count", async () => {
  const { data, essaim } = dataDirectory();
  essaim("demo");
  essaim("territory", "create", "--name", "QUARTIER-PRIVE");
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await context.newPage();
  await page.goto(`${relay.url}/territoires/`);
  await page.getByRole("heading", { level: 1, name: "Territoires en transition" }).waitFor();
  assert.equal(await page.locator("script").count(), 0, "no script");
  const carte = page.getByRole("group", { name: "Carte des départements" });
  assert.equal(await carte.getByRole("link").count(), 108, "96 metropolitan, 12 overseas");
  // The same counts as the text list, never colour alone.
  const liste = await page.locator("#departements ~ ul li").allInnerTexts();
  assert.ok(liste.length >= 2, `${liste}`);
  for (const ligne of liste) {
    const [, nom, n] = ligne.match(/^(.+\(\w+\))\s+: (\d+)/);
    await carte.getByRole("link", { name: new RegExp(`^${nom.replace(/[()]/g, "\\$&")}\\s+: ${n}\\s+territoires?$`) }).waitFor();
  }
  assert.match(await page.locator("figcaption").innerText(), /CC BY 4\.0.*Natural Earth/s);
  await checkAxe(page, "annuaire, carte");
  // A département's link narrows the directory to it.
  await carte.getByRole("link", { name: /^Jura \(39\)/ }).click();
  await page.waitForURL(/\/territoires\/\?departement=39$/);
  await page.getByRole("heading", { level: 2, name: /^1\s+territoire$/ }).waitFor();
  assert.equal(await page.getByText("QUARTIER-PRIVE").count(), 0, "never a private territory");
  // The territory's page, the national agenda and an action's page pass
  // the same checks.
  await page.getByRole("link", { name: /Communauté de communes du Val de Loue/ }).first().click();
  await page.getByRole("heading", { level: 1, name: /Val de Loue/ }).waitFor();
  await checkAxe(page, "page du territoire");
  await page.locator("#reguliers ~ ul a, #reguliers + ul a").first().click();
  await page.getByRole("heading", { level: 2, name: "Ajouter à mon calendrier" }).waitFor();
  assert.equal(await page.locator("script").count(), 0, "no script");
  await checkAxe(page, "page d'une action");
  await page.goto(`${relay.url}/agenda/`);
  await checkAxe(page, "agenda national");
});
