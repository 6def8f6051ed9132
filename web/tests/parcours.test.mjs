// The whole journey of issue 14 in one run, through the app only, on a
// relay as deployed (`--creation ouverte`, no `--open`): an organiser
// creates a territory with its kind and commune, makes it public and
// publishes an action with a need, and it reaches `/territoires.json` and
// its calendar; the organiser creates a resident link in the app; a second
// browser opens it and reads the agenda with no edit control; the resident
// volunteers offline, goes online, and the organiser's device shows it.
// (That a resident's raw Automerge change is never applied is
// tests/it/volontaires.rs's.) Every wait is a condition with a timeout.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createAction,
  dataDirectory,
  device,
  docOf,
  fillCreation,
  makePublic,
  openApp,
  startRelay,
  until,
  waitSynced,
} from "./support.mjs";

test("from the app alone: create, publish, invite a resident, who volunteers offline and the organiser sees it", async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false, args: ["--creation", "ouverte"] });

  // The organiser: a territory with kind and commune, public, an action with a need.
  const organiser = await device();
  const orga = await openApp(organiser, relay.url);
  await fillCreation(orga, { nom: "Commune de Guenrouet", type: "Commune", insee: "44068" });
  await orga.getByRole("button", { name: "Créer le territoire" }).click();
  await orga.getByRole("heading", { level: 1, name: "Commune de Guenrouet" }).waitFor();
  const doc = docOf(orga);
  await orga.getByTestId("non-enregistre").waitFor({ state: "detached" });
  await makePublic(orga, doc);
  await createAction(orga, { titre: "Troc de plantes", rythme: "hebdo" });
  await orga.getByRole("link", { name: "Troc de plantes" }).first().click();
  const fiche = orga.url();
  await orga.getByRole("link", { name: "Modifier", exact: true }).click();
  await orga.getByText("Ajouter un besoin").click();
  await orga.getByLabel("Ce qu'il faut").fill("Quelqu'un pour tenir la table");
  await orga.getByRole("button", { name: "Ajouter le besoin" }).click();
  const besoinOrga = orga.getByTestId("besoin").filter({ hasText: "Quelqu'un pour tenir la table" });
  await besoinOrga.filter({ hasText: "Personne ne s'est encore proposé." }).waitFor();
  await waitSynced(orga);
  const listed = await until("the territory in /territoires.json", async () => {
    const body = await (await fetch(`${relay.url}/territoires.json`)).text();
    return body.includes(doc) && body;
  });
  assert.match(listed, /Commune de Guenrouet/);
  await until("the action in agenda.ics", async () => {
    const response = await fetch(`${relay.url}/t/${doc}/agenda.ics`);
    return response.status === 200 && /SUMMARY:Troc de plantes/.test(await response.text());
  });

  // A resident link, created in the app.
  await orga.goto(`${relay.url}/#/territoire/${doc}`);
  await orga.getByRole("link", { name: "Inviter" }).click();
  await orga.getByLabel("Rôle").selectOption("habitant");
  await orga.getByRole("button", { name: "Créer le lien" }).click();
  const lien = await orga.getByTestId("lien-invitation").inputValue();
  assert.match(lien, new RegExp(`/#/territoire/${doc}/invitation/habitant/[0-9a-f]{16}\\.[0-9a-f]{32}$`));

  // The resident reads the agenda, with no edit control.
  const resident = await device();
  const res = await openApp(resident, lien);
  await res.getByRole("heading", { level: 1, name: "Commune de Guenrouet" }).waitFor();
  await res.getByTestId("lecture-seule").waitFor();
  assert.equal(await res.getByRole("link", { name: "Nouvelle action" }).count(), 0);
  assert.equal(await res.getByRole("link", { name: "Inviter" }).count(), 0);
  await res.getByRole("link", { name: "Troc de plantes" }).first().click();
  const besoin = res.getByTestId("besoin").filter({ hasText: "Quelqu'un pour tenir la table" });
  await besoin.getByRole("button", { name: "Je me propose" }).waitFor();
  const boutons = (await res.getByRole("button").allInnerTexts()).filter((b) => b !== "Voir les suivants");
  assert.deepEqual(boutons, ["Je me propose"], "a resident sees edit controls");

  // Offline, the resident volunteers; online, the organiser sees it.
  await resident.setOffline(true);
  await besoin.getByLabel(/Votre nom/).fill("Awa");
  await besoin.getByLabel("Un mot pour les organisateurs (facultatif)").fill("Je viens à 10 h");
  await besoin.getByRole("button", { name: "Je me propose" }).click();
  await besoin.getByTestId("mon-volontariat").filter({ hasText: "En attente d'envoi" }).waitFor();
  await resident.setOffline(false);
  await besoin.getByTestId("mon-volontariat").filter({ hasText: "Confirmé" }).waitFor({ timeout: 30_000 });
  await orga.goto(fiche);
  await besoinOrga.getByTestId("volontaires").filter({ hasText: "Awa" }).filter({ hasText: "Je viens à 10 h" }).waitFor();
  await relay.stop();
});
