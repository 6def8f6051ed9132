// The action's page and its edit screen (issue 15), on a real relay in
// Chromium at 390 px: the summary before needs and rendez-vous, the map
// link, the next 3 rendez-vous then "Voir les suivants", cancelling one
// behind a confirmation with an undo, the edit screen (a highlight of the
// year too) and deleting, the
// screen at its top after saving, French date and time fields, and axe in
// light and dark. Run: node --test tests/action.test.mjs

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, createAction, createTerritory, dateFr, device, freshRelay, isoDate, openApp, until } from "./support.mjs";

async function organiser() {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  await page.setViewportSize({ width: 390, height: 740 });
  const lien = await createTerritory(page, "Pays de Retz");
  return { page, lien };
}

/** `window.scrollY` once the screen has painted twice. */
const scrollApresRendu = (page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(scrollY)))));

const top = (locator) => locator.evaluate((e) => e.getBoundingClientRect().top + scrollY);

test("a new action, saved from the bottom of the form: the agenda opens at its top; its page shows the summary first, a map link, 3 rendez-vous then more", async () => {
  const { page } = await organiser();
  await createAction(page, { titre: "Atelier de fin de semaine", jours: 3 });
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill("Repair café");
  await page.getByLabel("Réemploi", { exact: false }).first().check();
  await page.getByLabel("Date du premier rendez-vous").fill(dateFr(1));
  await page.getByLabel("Heure de début").fill("18 h 30");
  await page.getByLabel("Rythme").selectOption("hebdo");
  await page.getByLabel("Jusqu'au").fill(dateFr(85));
  await page.getByLabel("Lieu").fill("Salle des fêtes");
  await page.getByLabel("Adresse (facultatif)").fill("2 place de l'Église, 44320 Frossay");
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: "Repair café" }).first().waitFor();
  assert.equal(await scrollApresRendu(page), 0, "the agenda opened scrolled");

  await page.getByRole("link", { name: "Repair café" }).first().click();
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  // Summary: when, where, state, themes, before the needs, before the rendez-vous.
  await page.getByTestId("phrase-rythme").filter({ hasText: "Chaque semaine" }).waitFor();
  await page.getByTestId("themes").filter({ hasText: "Déchets et réemploi" }).waitFor();
  const [quand, ou, etat, besoins, prochains] = await Promise.all(
    [
      page.getByTestId("phrase-rythme"),
      page.getByTestId("ou"),
      page.getByTestId("etat"),
      page.getByRole("heading", { name: "Besoins et volontaires" }),
      page.getByRole("heading", { name: "Prochains rendez-vous" }),
    ].map(top),
  );
  assert.ok(quand < ou && ou < etat && etat < besoins && besoins < prochains, `order: ${[quand, ou, etat, besoins, prochains]}`);
  const carte = page.getByRole("link", { name: "Voir sur une carte (OpenStreetMap)" });
  assert.equal(
    await carte.getAttribute("href"),
    `https://www.openstreetmap.org/search?query=${encodeURIComponent("2 place de l'Église, 44320 Frossay")}`,
  );
  assert.equal(await carte.getAttribute("target"), "_blank");

  // 3 rendez-vous, then 10 more per tap, up to the 90 days' horizon (13 weeks).
  const occurrences = page.getByTestId("occurrence");
  assert.equal(await occurrences.count(), 3);
  await page.getByRole("button", { name: "Voir les suivants" }).click();
  await until("13 rendez-vous shown", async () => (await occurrences.count()) === 13);
  await page.getByRole("button", { name: "Voir les suivants" }).waitFor({ state: "detached" });
  // Every organiser's gesture is folded behind "Gérer ce rendez-vous".
  assert.equal(await page.getByRole("button", { name: /Annuler ce rendez-vous/ }).count(), 0);
});

test("cancelling a rendez-vous asks first, shows it cancelled on the page and in the agenda, and 'Annuler l'annulation' restores it", async () => {
  const { page } = await organiser();
  await createAction(page, { titre: "AMAP du mardi", rythme: "hebdo" });
  await page.getByRole("link", { name: "AMAP du mardi" }).first().click();
  const premier = page.getByTestId("occurrence").first();
  const date = await premier.getByTestId("date-occurrence").innerText();

  // Declined: nothing changes.
  await premier.getByText("Gérer ce rendez-vous").click();
  await premier.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  const confirmation = page.getByTestId("confirmation");
  await confirmation.filter({ hasText: `Annuler le rendez-vous du ${date}` }).waitFor();
  await confirmation.getByRole("button", { name: "Ne rien changer" }).click();
  await confirmation.waitFor({ state: "detached" });
  assert.equal(await premier.getAttribute("data-etat"), "programme");
  assert.equal(await page.getByTestId("annonce").count(), 0);

  // Confirmed: cancelled, here and in the agenda.
  await premier.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await confirmation.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await page.getByTestId("occurrence").first().and(page.locator("[data-etat=annule]")).waitFor();
  await premier.filter({ hasText: "annulé" }).waitFor();
  const annonce = page.getByTestId("annonce");
  await annonce.filter({ hasText: `Rendez-vous du ${date} annulé` }).waitFor();
  await page.getByRole("link", { name: "Retour à l'agenda" }).click();
  await page.getByRole("listitem").filter({ hasText: "AMAP du mardi" }).filter({ hasText: "annulé" }).first().waitFor();
  await page.goBack();

  // Undone from the page's status message.
  await page.getByRole("heading", { level: 1, name: "AMAP du mardi" }).waitFor();
  await premier.getByText("Gérer ce rendez-vous").click();
  await premier.getByRole("button", { name: "Rétablir ce rendez-vous" }).click();
  await premier.and(page.locator("[data-etat=programme]")).waitFor();
  // Again, then the undo of the status message.
  await premier.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await confirmation.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await premier.and(page.locator("[data-etat=annule]")).waitFor();
  await annonce.getByRole("button", { name: "Annuler l'annulation" }).click();
  await premier.and(page.locator("[data-etat=programme]")).waitFor();
  await page.getByRole("link", { name: "Retour à l'agenda" }).click();
  await page.getByRole("link", { name: "AMAP du mardi" }).first().waitFor();
  assert.equal(await page.getByRole("listitem").filter({ hasText: "AMAP du mardi" }).filter({ hasText: "annulé" }).count(), 0);
});

test("the edit screen saves and returns to the page at its top; deleting asks first and removes the action from the agenda", async () => {
  const { page } = await organiser();
  await createAction(page, { titre: "Chantier participatif", rythme: "mensuel" });
  await page.getByRole("link", { name: "Chantier participatif" }).first().click();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Modifier l'action" }).waitFor();
  await page.getByLabel("Titre").fill("Chantier du four à pain");
  await page.getByLabel("Adresse").fill("Le Bourg, 44320 Frossay");
  await page.getByLabel("Temps fort de l'année (festival, grande journée)").check();
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await page.getByRole("heading", { level: 1, name: "Chantier du four à pain" }).waitFor();
  assert.equal(await scrollApresRendu(page), 0, "the page opened scrolled");
  await page.getByTestId("adresse").filter({ hasText: "Le Bourg, 44320 Frossay" }).waitFor();
  // A highlight of the year (the national agenda lists those first).
  await page.getByTestId("temps-fort").filter({ hasText: "Temps fort de l'année" }).waitFor();

  // Deleting: declined, nothing; confirmed, gone from the agenda, said so.
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByRole("button", { name: "Supprimer l'action" }).click();
  const confirmation = page.getByTestId("confirmation-suppression");
  await confirmation.filter({ hasText: "Supprimer « Chantier du four à pain »" }).waitFor();
  await confirmation.getByRole("button", { name: "Ne rien changer" }).click();
  await page.getByRole("link", { name: "Retour à l'action" }).click();
  await page.getByRole("heading", { level: 1, name: "Chantier du four à pain" }).waitFor();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByRole("button", { name: "Supprimer l'action" }).click();
  await confirmation.getByRole("button", { name: "Supprimer l'action" }).click();
  await page.getByTestId("annonce").filter({ hasText: "Action « Chantier du four à pain » supprimée." }).waitFor();
  await page.getByRole("link", { name: "Nouvelle action" }).waitFor();
  assert.match(page.url(), /#\/territoire\/[^/]+$/);
  assert.equal(await page.getByRole("link", { name: "Chantier du four à pain" }).count(), 0);
});

test("date and time fields take French input, say the day in words, and refuse a day that does not exist", async () => {
  const { page } = await organiser();
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill("Troc de graines");
  const date = page.getByLabel("Date du premier rendez-vous");
  const enLettres = page.getByTestId("date-en-lettres");
  const [a, m, j] = isoDate(10).split("-");
  for (const saisie of [`${+j}/${+m}/${a}`, `${j}/${m}/${a}`, `${+j} ${+m} ${a}`]) {
    await date.fill(saisie);
    await enLettres.filter({ hasText: /^(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+/ }).waitFor();
  }
  const lu = await enLettres.innerText();
  await date.fill("31/02/2027");
  await date.blur();
  await page.getByText("Cette date n'existe pas\u00a0: écrivez-la jj/mm/aaaa, par exemple 6/12/2026.").waitFor();
  assert.equal(await date.getAttribute("aria-invalid"), "true");
  assert.equal(await enLettres.innerText(), "");
  await date.fill(`${+j} ${+m} ${a}`);
  await enLettres.filter({ hasText: lu }).waitFor();

  const heure = page.getByLabel("Heure de début");
  await heure.fill("25 h");
  await heure.blur();
  await page.getByText(/^Heure non reconnue/).waitFor();
  for (const saisie of ["18h30", "18:30", "18 h 30"]) {
    await heure.fill(saisie);
    await page.getByText(/^Heure non reconnue/).waitFor({ state: "detached" });
  }
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: "Troc de graines" }).first().click();
  await page.getByTestId("phrase-rythme").filter({ hasText: `${lu}` }).filter({ hasText: /18\sh\s30/ }).waitFor();
});

test("the page and the edit screen pass axe-core in light and dark", async () => {
  const { page } = await organiser();
  await createAction(page, { titre: "Balade botanique", rythme: "hebdo", themes: ["Mobilité"] });
  await page.getByRole("link", { name: "Balade botanique" }).first().click();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByText("Ajouter un besoin").click();
  await page.getByLabel("Ce qu'il faut").fill("Une loupe");
  await page.getByRole("button", { name: "Ajouter le besoin" }).click();
  await page.getByTestId("besoin").filter({ hasText: "Une loupe" }).waitFor();
  for (const mode of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: mode });
    await checkAxe(page, `page d'action (${mode})`);
    await page.getByText("Gérer ce rendez-vous").first().click();
    await page.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
    await checkAxe(page, `confirmation (${mode})`);
    await page.getByTestId("confirmation").getByRole("button", { name: "Annuler ce rendez-vous" }).click();
    await page.getByTestId("annonce").waitFor();
    await checkAxe(page, `annulation et annonce (${mode})`);
    await page.getByRole("button", { name: "Annuler l'annulation" }).click();
    await page.getByText("Gérer ce rendez-vous").first().click();
    await page.getByRole("link", { name: "Modifier", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Modifier l'action" }).waitFor();
    for (const details of await page.locator("details").all()) await details.evaluate((d) => (d.open = true));
    await checkAxe(page, `modifier l'action (${mode})`);
    await page.getByRole("link", { name: "Retour à l'action" }).click();
    await page.getByRole("heading", { level: 1, name: "Balade botanique" }).waitFor();
  }
});
