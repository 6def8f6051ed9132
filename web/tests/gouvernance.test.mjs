// « Gouvernance » and « Engagements » (issue 17), on a real relay in
// Chromium: an organiser writes who decides what and how, creates a body
// meeting every month with two members, commits to a Pacte measure and
// names a supporting network; the body's meetings are in the agenda; the
// public page shows the rules, the body, its next meeting, the commitment
// and the network, never the members.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ajouterActeur, checkAxe, createTerritory, dateFr, device, freshRelay, makePublic, openApp, until, waitSynced } from "./support.mjs";

test("an organiser sets the shared governance and the commitments; the public page shows them, never the members", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  const doc = (await createTerritory(page, "Val d'Essaim")).split("/").pop();
  await makePublic(page, doc);

  // Two actors, to be members.
  await page.goto(`${relay.url}/#/territoire/${doc}/acteurs`);
  await ajouterActeur(page, "MEMBRE-ELUE", "Élu");
  await ajouterActeur(page, "MEMBRE-ASSO", "Association");

  // The rules, and a body meeting monthly.
  await page.goto(`${relay.url}/#/territoire/${doc}/gouvernance`);
  await page.getByRole("heading", { level: 1, name: "Gouvernance" }).waitFor();
  await page.getByText("Écrire les règles de décision").click();
  await page.getByLabel("Vos règles de décision").fill("Le comité de pilotage décide par consentement.");
  await page.getByRole("button", { name: "Enregistrer les règles" }).click();
  await page.getByTestId("comment-cest-decide").filter({ hasText: "par consentement" }).waitFor();
  const nouvelle = page.getByTestId("nouvelle-instance");
  await nouvelle.getByText("Nouvelle instance").click();
  await nouvelle.getByLabel("Nom de l'instance").fill("Comité de pilotage");
  await nouvelle.getByLabel("Date du premier rendez-vous").fill(dateFr(3));
  await nouvelle.getByLabel("Heure de début").fill("18 h 30");
  await nouvelle.getByLabel("Rythme").selectOption({ index: 3 });
  await nouvelle.getByLabel("Jusqu'au").fill(dateFr(200));
  await nouvelle.getByRole("button", { name: "Créer l'instance" }).click();
  const copil = page.getByTestId("instance").filter({ hasText: "Comité de pilotage" });
  await copil.getByTestId("prochaines-reunions").waitFor();
  for (const membre of ["MEMBRE-ELUE", "MEMBRE-ASSO"]) {
    await copil.getByLabel("Ajouter un membre à « Comité de pilotage »").selectOption({ label: membre });
    await copil.getByRole("button", { name: "Ajouter le membre" }).click();
    await copil.getByTestId("membres").filter({ hasText: membre }).waitFor();
  }
  await checkAxe(page, "gouvernance");

  // Commitments and networks.
  await page.goto(`${relay.url}/#/territoire/${doc}/engagements`);
  await page.getByLabel("Mesure du Pacte").selectOption("M05");
  await page.getByLabel("Niveau d'engagement").selectOption("2");
  await page.getByRole("button", { name: "Ajouter l'engagement" }).click();
  await page.getByTestId("engagements").filter({ hasText: "Mesure 5, niveau 2" }).waitFor();
  await page.getByLabel("Réseau", { exact: true }).selectOption({ label: "Colibris" });
  await page.getByRole("button", { name: "Ajouter le réseau" }).click();
  await page.getByTestId("reseaux").filter({ hasText: "Colibris" }).waitFor();
  await checkAxe(page, "engagements");
  await waitSynced(page);

  // The body's meetings are in the agenda.
  await page.goto(`${relay.url}/#/territoire/${doc}`);
  await page.getByText("Comité de pilotage").first().waitFor();

  // The public page: rules, body with its next meeting, commitment, network; no member.
  const publique = await until("the public page shows the governance", async () => {
    const texte = await (await fetch(`${relay.url}/t/${doc}/`)).text();
    return texte.includes("Prochaine réunion") && texte.includes("Colibris") ? texte : undefined;
  });
  assert.match(publique, /Qui décide quoi, et comment<\/h3>\n<p>Le comité de pilotage décide par consentement\.<\/p>/);
  assert.match(publique, /<strong>Comité de pilotage<\/strong> \(comité de pilotage\)/);
  assert.match(publique, /mesure 5 \(niveau 2\)/);
  assert.ok(!publique.includes("MEMBRE-ELUE") && !publique.includes("MEMBRE-ASSO"), "never the members");
});
