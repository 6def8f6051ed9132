// Creating a territory from the app, in a real Chromium against the real
// relay binary without `--open`: on an `ouverte` relay the territory is
// registered (also when created offline) and, once public, served by the
// feeds; on a `sur-candidature` relay the candidature made offline is sent
// when online, accepted with the CLI (the applicant becomes organiser) or
// refused (nothing public, the reason shown). Every wait is a condition
// with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkAxe,
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

test("ouverte relay without --open: a territory created with its kind and commune is registered, and once public its feeds serve it", async () => {
  const { data, essaim } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false, args: ["--creation", "ouverte"] });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  await checkAxe(page, "home screen, ouverte");
  // A code that is not a commune's: said at once (sync-core's rule), nothing created.
  await fillCreation(page, { nom: "Saint-Essaim-sur-Loire", type: "Commune", insee: "44109, 4410" });
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByText("code INSEE invalide : « 4410 »").waitFor();
  assert.equal(new URL(page.url()).hash.includes("territoire"), false);
  await fillCreation(page, { nom: "Saint-Essaim-sur-Loire", type: "Commune nouvelle", insee: "44109" });
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: "Saint-Essaim-sur-Loire" }).waitFor();
  const doc = docOf(page);
  // Registered: the device holds its organiser invitation, and syncs.
  await until("an organiser invitation held", () =>
    page.evaluate(async (doc) => {
      const territoires = await new Promise((resolve, reject) => {
        const open = indexedDB.open("essaim");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const read = open.result.transaction("territoires").objectStore("territoires").get(doc);
          read.onsuccess = () => (open.result.close(), resolve(read.result));
        };
      });
      return territoires?.role === "organisateur" && /^[0-9a-f]{16}\.[0-9a-f]{32}$/.test(territoires.invitation);
    }, doc),
  );
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();
  await makePublic(page, doc);
  await createAction(page, { titre: "Repair café de la Loire", rythme: "hebdo" });
  await waitSynced(page);

  const listed = await until("the territory in /territoires.json", async () => {
    const body = await (await fetch(`${relay.url}/territoires.json`)).text();
    return body.includes(doc) && body;
  });
  assert.match(listed, /Saint-Essaim-sur-Loire/);
  await until("the action in agenda.ics", async () => {
    const response = await fetch(`${relay.url}/t/${doc}/agenda.ics`);
    return response.status === 200 && (await response.text()).includes("Repair café de la Loire");
  });
  // `essaim invite` accepts it, like a territory of `essaim territory create`.
  assert.match(essaim("invite", "--territory", doc, "--role", "resident"), /^lien: .*\/invitation\/habitant\//m);
  // The profile has its kind and commune.
  const agenda = await (await fetch(`${relay.url}/t/${doc}/agenda.json`)).text();
  assert.ok(agenda.includes("Saint-Essaim-sur-Loire"), agenda.slice(0, 400));
  await relay.stop();
});

test("ouverte relay: a territory created offline registers when the network returns", async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false, args: ["--creation", "ouverte"] });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  await context.setOffline(true);
  await fillCreation(page, { nom: "Hameau hors ligne", type: "Commune", insee: "2A004" });
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: "Hameau hors ligne" }).waitFor();
  const doc = docOf(page);
  await page.getByTestId("non-enregistre").waitFor();
  // A reload keeps what waits.
  await page.reload();
  await page.getByTestId("non-enregistre").waitFor();
  await createAction(page, { titre: "Veillée du hameau" });

  await context.setOffline(false);
  await page.getByTestId("non-enregistre").waitFor({ state: "detached" });
  await waitSynced(page);
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();
  // The relay has it: once public, its agenda is served.
  await makePublic(page, doc);
  await waitSynced(page);
  await until("the offline action in agenda.ics", async () => {
    const response = await fetch(`${relay.url}/t/${doc}/agenda.ics`);
    return response.status === 200 && (await response.text()).includes("Veillée du hameau");
  });
  await relay.stop();
});

test("sur-candidature relay: a candidature made offline is sent when online; accepted with the CLI, the applicant becomes organiser; refused, nothing is public and the app says why", async () => {
  const { data, essaim } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false, args: ["--creation", "sur-candidature"] });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 2, name: "Proposer un territoire" }).waitFor();
  await checkAxe(page, "home screen, sur-candidature");

  // Offline: the browser's emulation, and requests to the creation API
  // aborted too.
  await context.setOffline(true);
  await context.route("**/territoires", (route) => route.abort("internetdisconnected"));
  await fillCreation(page, { nom: "Vallée en transition", type: "Intercommunalité (EPCI)", insee: "44109, 44020" });
  await page.getByLabel("Énergie", { exact: true }).check();
  await page.getByLabel("Colibris", { exact: true }).check();
  await page.getByLabel("Contact (courriel ou téléphone)").fill("vallee@example.org");
  await page.getByLabel("Motivation").fill("Douze associations veulent un agenda commun.");
  await page.getByRole("button", { name: "Envoyer la candidature" }).click();
  const item = page.getByTestId("creation").filter({ hasText: "Vallée en transition" });
  await item.filter({ hasText: "pas encore envoyée" }).waitFor();
  assert.equal(essaim("candidatures").trim(), "", "sent while offline");
  // Kept across a reload. (Nothing is asserted of the relay after it: the
  // reloaded document's first requests go through the service worker,
  // which Chromium's offline emulation and Playwright's routes do not
  // always cover, so a request may leave; a phone truly offline sends
  // nothing. Two clean-clone runs saw it.)
  await page.reload();
  await item.filter({ hasText: /pas encore envoyée|en attente de l'équipe du relais/ }).waitFor();

  await context.unroute("**/territoires");
  await context.setOffline(false);
  await item.filter({ hasText: "Candidature envoyée, en attente de l'équipe du relais" }).waitFor();
  const listed = essaim("candidatures").trim().split("\n");
  assert.equal(listed.length, 1, listed.join("\n"));
  const [id, , nom, type, insee, contact, motivation] = listed[0].split("\t");
  assert.deepEqual([nom, type, insee, contact, motivation], [
    "Vallée en transition",
    "Intercommunalité (EPCI)",
    "44109,44020",
    "vallee@example.org",
    "Douze associations veulent un agenda commun.",
  ]);
  assert.ok(!(await (await fetch(`${relay.url}/territoires.json`)).text()).includes("Vallée"), "public before acceptance");

  // Accepted: the app (polling on reload) becomes its organiser.
  const accepted = essaim("candidature", "accept", id, "--public");
  const doc = accepted.match(/^territoire: (\S+)$/m)[1];
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Vallée en transition" }).waitFor();
  assert.equal(docOf(page), doc);
  await createAction(page, { titre: "Fête de la vallée" });
  await waitSynced(page);
  await until("the organiser's action in agenda.ics", async () => {
    const response = await fetch(`${relay.url}/t/${doc}/agenda.ics`);
    return response.status === 200 && (await response.text()).includes("Fête de la vallée");
  });

  // Refused: the reason is shown, and nothing is public.
  await page.goto(`${relay.url}/#/`);
  await fillCreation(page, { nom: "Royaume imaginaire", type: "Autre", insee: "" });
  await page.getByRole("button", { name: "Envoyer la candidature" }).click();
  const refused = page.getByTestId("creation").filter({ hasText: "Royaume imaginaire" });
  await refused.filter({ hasText: "en attente de l'équipe" }).waitFor();
  const other = essaim("candidatures").trim().split("\t")[0];
  essaim("candidature", "refuse", other, "--motif", "Ce relais n'accueille que des territoires réels.");
  await page.reload();
  await refused.filter({ hasText: "candidature refusée\u00a0: Ce relais n'accueille que des territoires réels." }).waitFor();
  const territoires = await (await fetch(`${relay.url}/territoires.json`)).text();
  assert.ok(!territoires.includes("Royaume"), territoires);
  assert.equal(essaim("candidatures").trim(), "");
  await refused.getByRole("button", { name: "Retirer" }).click();
  await refused.waitFor({ state: "detached" });
  await relay.stop();
});

test("fermee relay: no creation form, a sentence says why", async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false, args: ["--creation", "fermee"] });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByTestId("creation-fermee").waitFor();
  assert.equal(await page.getByLabel("Nom du territoire").count(), 0);
  await relay.stop();
});
