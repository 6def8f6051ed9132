// « Acteurs » and the organisers' notebook (issue 17), on a real relay
// without `--open`, in Chromium: an organiser adds actors offline, the
// « 4 Fantastiques » summary says which family is missing, a contact goes
// into the notebook (made on first use, offline, synced once online);
// another organiser device reads the contact; a resident's device sees
// the public actors and never a contact, nor the notebook.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ajouterActeur, checkAxe, createAction, dataDirectory, device, openApp, startRelay, waitSynced } from "./support.mjs";

const EMAIL = "sentinelle-acteurs@example.org";

test("organisers keep the alliance of actors and their contacts out of residents' reach", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Plessé", "--kind", "commune", "--insee", "44128");
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (qui) => created.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
  const doc = lienDe("organisateurs").match(/#\/territoire\/([^/]+)/)[1];

  const orgaDevice = await device();
  const orga = await openApp(orgaDevice, lienDe("organisateurs"));
  await orga.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await createAction(orga, { titre: "Repair café" });
  await waitSynced(orga);
  await orga.goto(`${relay.url}/#/territoire/${doc}/acteurs`);
  await orga.getByRole("heading", { level: 1, name: "Acteurs" }).waitFor();
  const resume = orga.getByTestId("quatre-fantastiques");
  await resume.filter({ hasText: "Il manque encore" }).waitFor();

  // Offline: three families, then a contact (the notebook is made here).
  await orgaDevice.setOffline(true);
  await ajouterActeur(orga, "Mme la maire", "Élu");
  await ajouterActeur(orga, "Agent de la mairie", "Agent de collectivité");
  await ajouterActeur(orga, "Les Amis du Bocage", "Association");
  await resume.filter({ hasText: /Il manque encore\s*: état\./ }).waitFor();
  const maire = orga.getByTestId("acteur").filter({ hasText: "Mme la maire" });
  await maire.getByText(/Modifier/).click();
  await maire.getByLabel("E-mail").fill(EMAIL);
  await maire.getByLabel("Téléphone").fill("02 40 00 00 00");
  await maire.getByRole("button", { name: "Enregistrer", exact: true }).click();
  await maire.getByTestId("contact").filter({ hasText: EMAIL }).waitFor();
  // « Qui porte quoi »: the mayor carries the repair café.
  await maire.getByLabel("Porte l'action").selectOption({ label: "Repair café" });
  await maire.getByLabel("Avec le rôle").selectOption({ label: "Pilote" });
  await maire.getByRole("button", { name: "Enregistrer ce rôle" }).click();
  await maire.getByTestId("porte").filter({ hasText: "Repair café (pilote)" }).waitFor();
  await ajouterActeur(orga, "Sous-préfecture", "Représentant de l'État");
  await resume.filter({ hasText: "Les quatre familles sont réunies." }).waitFor();
  await checkAxe(orga, "acteurs, organisateur");

  // Kept across a reload, offline.
  await orga.reload();
  await orga.getByTestId("acteur").filter({ hasText: "Mme la maire" }).getByTestId("contact").filter({ hasText: EMAIL }).waitFor();

  // Online: the notebook reaches the relay; another organiser device reads it.
  await orgaDevice.setOffline(false);
  await waitSynced(orga);
  const autre = await openApp(await device(), lienDe("organisateurs"));
  await autre.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await autre.goto(`${relay.url}/#/territoire/${doc}/acteurs`);
  await autre.getByTestId("acteur").filter({ hasText: "Mme la maire" }).getByTestId("contact").filter({ hasText: EMAIL }).waitFor();

  // A resident: the actors, never a contact; the notebook never arrives.
  const residentDevice = await device();
  const res = await openApp(residentDevice, lienDe("habitants"));
  await res.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await res.goto(`${relay.url}/#/territoire/${doc}/acteurs`);
  await res.getByTestId("acteur").filter({ hasText: "Mme la maire" }).waitFor();
  await res.getByTestId("quatre-fantastiques").filter({ hasText: "Les quatre familles sont réunies." }).waitFor();
  assert.equal(await res.getByTestId("contact").count(), 0);
  assert.equal(await res.getByText(EMAIL).count(), 0);
  assert.equal(await res.getByTestId("nouvel-acteur").count(), 0, "no edit for a resident");
  await res.goto(`${relay.url}/#/territoire/${doc}`);
  await res.getByRole("link", { name: "Repair café" }).first().click();
  await res.getByTestId("porteurs").filter({ hasText: "Porté par Mme la maire (pilote)" }).waitFor();
  await res.goto(`${relay.url}/#/territoire/${doc}/acteurs`);
  await checkAxe(res, "acteurs, habitant");
  // Nothing of the notebook in the resident's storage: only the territory.
  const stocke = await res.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const ouverture = indexedDB.open("essaim");
        ouverture.onerror = () => reject(ouverture.error);
        ouverture.onsuccess = () => {
          const lecture = ouverture.result.transaction("kv").objectStore("kv").getAllKeys();
          lecture.onsuccess = () => resolve(lecture.result.map(String));
          lecture.onerror = () => reject(lecture.error);
        };
      }),
  );
  // Keys are `<document>/<kind>/<name>` (sync-core's StorageKey).
  const documents = new Set(stocke.filter((k) => k.split("/").length === 3).map((k) => k.split("/")[0]));
  assert.deepEqual([...documents], [doc], `the resident's device holds: ${[...documents]}`);
});
