// « Décisions » (issue 17), on a real relay without `--open`, in Chromium:
// two organisers, each on a device that asked their name once, record a
// decision's fields offline on two devices; different fields merge, the
// same field shows both values with both names and is settled in one tap;
// « À revoir » appears on the other device once the review date has come;
// a resident reads the published decision, not the unpublished one, and no
// contact. Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, dateFr, device, openApp, startRelay, waitSynced } from "./support.mjs";

/** The decisions screen of `doc`, once its title shows. */
async function decisions(page, url, doc) {
  await page.goto(`${url}/#/territoire/${doc}/decisions`);
  await page.getByRole("heading", { level: 1, name: "Décisions" }).waitFor();
}

async function nommer(page, nom) {
  const carte = page.getByTestId("mon-nom");
  await carte.getByLabel("Votre nom ou prénom").fill(nom);
  await carte.getByRole("button", { name: "Enregistrer mon nom" }).click();
  // Answered, the question goes; the status message says it was kept.
  await carte.waitFor({ state: "detached" });
  await page.getByTestId("annonce").filter({ hasText: `Merci, ${nom}` }).waitFor();
}

/** Opens a decision's edit form and fills `champs` (label → value), then saves. */
async function modifier(page, titre, champs) {
  const carte = page.getByTestId("decision").filter({ hasText: titre });
  const details = carte.locator("details").first();
  if (!(await details.evaluate((d) => d.open))) await carte.getByText(`Modifier « ${titre} »`).click();
  for (const [label, valeur] of Object.entries(champs)) await details.getByLabel(label, { exact: true }).fill(valeur);
  await details.getByRole("button", { name: "Enregistrer", exact: true }).click();
}

test("two organisers record a decision offline: fields merge, a conflict shows both names, « À revoir », residents read it", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Plessé", "--kind", "commune", "--insee", "44128");
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (qui) => created.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
  const doc = lienDe("organisateurs").match(/#\/territoire\/([^/]+)/)[1];

  const deviceA = await device();
  const a = await openApp(deviceA, lienDe("organisateurs"));
  await a.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  const deviceB = await device();
  const b = await openApp(deviceB, lienDe("organisateurs"));
  await b.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();

  // Each device asks its person's name once.
  await decisions(a, relay.url, doc);
  await nommer(a, "Alice");
  await decisions(b, relay.url, doc);
  await nommer(b, "Bruno");

  // Alice records a published decision, and a draft.
  const nouvelle = a.getByTestId("nouvelle-decision");
  await nouvelle.getByText("Nouveau relevé de décision").click();
  await nouvelle.getByLabel("Sujet").fill("Jardin partagé");
  await nouvelle.getByLabel("Processus").selectOption({ label: "Consentement" });
  await nouvelle.getByLabel("Ce qui a été décidé").fill("On ouvre le jardin en mars");
  await nouvelle.getByLabel("Prise le").fill(dateFr(-10));
  await nouvelle.getByLabel(/Publiée/).check();
  await nouvelle.getByRole("button", { name: "Enregistrer la décision" }).click();
  await a.getByTestId("decision").filter({ hasText: "Jardin partagé" }).waitFor();
  // The form stays open, empty, for the next one.
  assert.equal(await nouvelle.getByLabel("Sujet").inputValue(), "");
  await nouvelle.getByLabel("Sujet").fill("Budget interne");
  await nouvelle.getByRole("button", { name: "Enregistrer la décision" }).click();
  await a.getByTestId("decision").filter({ hasText: "Budget interne" }).waitFor();
  await waitSynced(a);
  const jardinB = b.getByTestId("decision").filter({ hasText: "Jardin partagé" });
  await jardinB.waitFor();

  // Offline on both: different fields merge once both are back.
  await deviceA.setOffline(true);
  await deviceB.setOffline(true);
  await modifier(a, "Jardin partagé", { Contexte: "Demande de l'association des parents" });
  await modifier(b, "Jardin partagé", { "Objections et leur traitement": "Le bruit : horaires limités" });
  await deviceA.setOffline(false);
  await deviceB.setOffline(false);
  for (const page of [a, b]) {
    const carte = page.getByTestId("decision").filter({ hasText: "Jardin partagé" });
    await carte.getByTestId("contexte").filter({ hasText: "Demande de l'association des parents" }).waitFor();
    await carte.getByTestId("objections").filter({ hasText: "horaires limités" }).waitFor();
  }
  await waitSynced(a);
  await waitSynced(b);

  // Offline again, the same field: both values, both names, one tap.
  await deviceA.setOffline(true);
  await deviceB.setOffline(true);
  await modifier(a, "Jardin partagé", { "Ce qui a été décidé": "On ouvre le jardin en avril" });
  await modifier(b, "Jardin partagé", { "Ce qui a été décidé": "On ouvre le jardin en mai" });
  await deviceA.setOffline(false);
  await deviceB.setOffline(false);
  const conflitA = a.getByTestId("decision").filter({ hasText: "Jardin partagé" }).getByTestId("conflit");
  await conflitA.filter({ hasText: "par Alice" }).filter({ hasText: "par Bruno" }).waitFor();
  await checkAxe(a, "décisions, modifications simultanées");
  await conflitA.getByRole("button", { name: "Garder « On ouvre le jardin en mai »" }).click();
  for (const page of [a, b]) {
    const carte = page.getByTestId("decision").filter({ hasText: "Jardin partagé" });
    await carte.getByTestId("enonce").filter({ hasText: "On ouvre le jardin en mai" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=conflit]").length === 0);
  }

  // A review date that has come: « À revoir » on the other device too.
  await modifier(a, "Jardin partagé", { "À revoir le (facultatif)": dateFr(-1) });
  await a.getByTestId("decision").filter({ hasText: "Jardin partagé" }).getByTestId("a-revoir").waitFor();
  await jardinB.getByTestId("a-revoir").waitFor();
  await waitSynced(a);

  // The history says who did what, with names, on the other device.
  await b.goto(`${relay.url}/#/territoire/${doc}/historique`);
  const historique = b.getByTestId("historique");
  await historique.getByText(/Alice\s+a créé la décision\s+«\s+Jardin partagé\s+»/).waitFor();
  await historique.getByText(/Bruno\s+a modifié la décision\s+«\s+Jardin partagé\s+» \(objections\)/).waitFor();
  await checkAxe(b, "historique");

  // A resident reads the published decision only, and no contact.
  const r = await openApp(await device(), lienDe("habitants"));
  await r.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await decisions(r, relay.url, doc);
  const jardinR = r.getByTestId("decision").filter({ hasText: "Jardin partagé" });
  await jardinR.getByTestId("enonce").filter({ hasText: "On ouvre le jardin en mai" }).waitFor();
  await jardinR.getByTestId("a-revoir").waitFor();
  assert.equal(await r.getByTestId("decision").filter({ hasText: "Budget interne" }).count(), 0, "a draft is not shown");
  assert.equal(await r.getByTestId("nouvelle-decision").count(), 0);
  assert.equal(await r.getByTestId("mon-nom").count(), 0, "a resident is not asked a name here");
  await checkAxe(r, "décisions, habitant");
});
