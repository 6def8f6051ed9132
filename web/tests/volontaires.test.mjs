// A resident volunteers without write access to the document: on a relay
// without `--open`, "Je me propose" goes through the relay's HTTP API, kept
// on the device while offline (also across a reload), sent when online,
// and the organiser's device shows the name and the message; "Me retirer"
// takes it away again; a request the relay refuses is dropped and its
// reason shown. Run: node --test tests/volontaires.test.mjs

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, createAction, dataDirectory, device, openApp, startRelay, waitSynced } from "./support.mjs";

test("a resident volunteers offline, sends it once online, the organiser sees it, and the resident withdraws", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Plessé", "--kind", "commune", "--insee", "44128");
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (qui) => created.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);

  // The organiser creates an action with an open need.
  const orga = await openApp(await device(), lienDe("organisateurs"));
  await orga.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await createAction(orga, { titre: "Chantier du jardin partagé", chantier: true });
  await orga.getByRole("link", { name: "Chantier du jardin partagé" }).first().click();
  await orga.getByRole("link", { name: "Modifier", exact: true }).click();
  await orga.getByText("Ajouter un besoin").click();
  await orga.getByLabel("Ce qu'il faut").fill("Des bras pour bêcher");
  await orga.getByRole("button", { name: "Ajouter le besoin" }).click();
  const besoinOrga = orga.getByTestId("besoin").filter({ hasText: "Des bras pour bêcher" });
  await besoinOrga.filter({ hasText: "Personne ne s'est encore proposé." }).waitFor();
  await waitSynced(orga);

  // The resident reads it, with no edit control but "Je me propose".
  const resident = await device();
  const res = await openApp(resident, lienDe("habitants"));
  await res.getByRole("link", { name: "Chantier du jardin partagé" }).first().click();
  await res.getByRole("heading", { level: 1, name: "Chantier du jardin partagé" }).waitFor();
  const besoin = res.getByTestId("besoin").filter({ hasText: "Des bras pour bêcher" });
  await besoin.getByRole("button", { name: "Je me propose" }).waitFor();
  assert.deepEqual(await res.getByRole("button").allInnerTexts(), ["Je me propose"], "a resident sees edit controls");
  assert.equal(await res.getByText("Ajouter un besoin").count(), 0);
  await checkAxe(res, "fiche action, habitant");

  // Offline: the volunteering waits on the device, also across a reload.
  await resident.setOffline(true);
  await besoin.getByLabel(/Votre nom/).fill("Camille");
  await besoin.getByLabel("Un mot pour les organisateurs (facultatif)").fill("J'apporte une bêche");
  await besoin.getByRole("button", { name: "Je me propose" }).click();
  const mien = besoin.getByTestId("mon-volontariat");
  await mien.filter({ hasText: "Camille (vous)" }).filter({ hasText: "En attente d'envoi" }).waitFor();
  await res.reload();
  await mien.filter({ hasText: "En attente d'envoi" }).waitFor();
  assert.equal(await besoin.getByLabel(/Votre nom/).inputValue(), "Camille", "the name is remembered");

  // Online: sent, applied by the relay, synced back to both devices.
  await resident.setOffline(false);
  await mien.filter({ hasText: "Confirmé" }).waitFor({ timeout: 30_000 });
  const volontairesOrga = besoinOrga.getByTestId("volontaires");
  await volontairesOrga.filter({ hasText: "Camille" }).filter({ hasText: "« J'apporte une bêche »" }).waitFor();
  await besoinOrga.filter({ hasText: "1 volontaire" }).waitFor();

  // Withdrawn: gone on the organiser's device too.
  await mien.getByRole("button", { name: "Me retirer" }).click();
  await besoin.filter({ hasText: "Personne ne s'est encore proposé." }).waitFor();
  await besoinOrga.filter({ hasText: "Personne ne s'est encore proposé." }).waitFor();
  assert.equal(await mien.count(), 0);

  // Offline again, a second volunteering; meanwhile the organiser fills the
  // need: once online, the relay refuses it and the resident reads why.
  await resident.setOffline(true);
  await besoin.getByRole("button", { name: "Je me propose" }).click();
  await mien.filter({ hasText: "En attente d'envoi" }).waitFor();
  await orga.getByRole("link", { name: "Modifier", exact: true }).click();
  await orga.getByLabel(/^État du besoin/).selectOption("pourvu");
  await waitSynced(orga);
  await orga.getByRole("link", { name: "Retour à l'action" }).click();
  await resident.setOffline(false);
  await besoin.getByRole("alert").filter({ hasText: "Demande refusée par le relais : Ce besoin est déjà pourvu" }).waitFor({ timeout: 30_000 });
  assert.equal(await mien.count(), 0, "a refused request is dropped");
  await besoinOrga.filter({ hasText: "Personne ne s'est encore proposé." }).waitFor();
  await relay.stop();
});
