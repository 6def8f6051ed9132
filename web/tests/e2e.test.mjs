// End-to-end tests of the PWA in a real Chromium (Debian's, driven by
// playwright-core), against the real relay binary serving the built app on
// 127.0.0.1. Each browser context has its own profile, so its own
// IndexedDB and service worker: one context is one device.
//
// Run by scripts/test.sh after scripts/build-web.sh and the relay's build.
// Every wait is a condition with a timeout; nothing sleeps.


import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  dateFr,
  until,
  startRelay,
  freshRelay,
  device,
  openApp,
  waitSynced,
  checkAxe,
  createTerritory,
  createAction,
  navigate,
  storedTerritories,
  waitNameStored,
  dataDirectory,
} from "./support.mjs";
test("an organiser's actions reach a resident, and offline edits survive reloads and reach everyone", async () => {
  const { data, relay } = await freshRelay();

  // 1. Online: the organiser creates a territory and actions.
  const organiser = await device();
  const orga = await openApp(organiser, relay.url);
  const lien = await createTerritory(orga, "Quartier des Tanneurs");
  await createAction(orga, { titre: "Repair café", rythme: "hebdo" });
  await createAction(orga, { titre: "Jardin partagé", chantier: true });
  await waitSynced(orga);

  const resident = await device();
  const res = await openApp(resident, lien);
  await res.getByRole("heading", { level: 1, name: "Quartier des Tanneurs" }).waitFor();
  await res.getByRole("link", { name: "Repair café" }).first().waitFor();
  await res.getByRole("link", { name: "Jardin partagé" }).waitFor();

  // 2. Offline: edits, a reload and a closed tab later, they are there.
  await organiser.setOffline(true);
  await orga.getByText("Hors ligne").waitFor();
  await createAction(orga, { titre: "Atelier vélo", jours: 3 });
  await orga.getByTestId("en-attente").filter({ hasText: /[1-9]\d* modifications? en attente/ }).waitFor();
  await orga.reload();
  await orga.getByRole("link", { name: "Atelier vélo" }).first().waitFor();
  await orga.close();
  const reopened = await organiser.newPage();
  await reopened.goto(lien);
  await reopened.getByRole("link", { name: "Atelier vélo" }).first().waitFor();
  assert.equal(await res.getByRole("link", { name: "Atelier vélo" }).count(), 0, "the resident saw an offline edit");

  // Back online: the resident sees it without doing anything.
  await organiser.setOffline(false);
  await waitSynced(reopened);
  await res.getByRole("link", { name: "Atelier vélo" }).first().waitFor();

  // 4. The relay restarts during use: the app reconnects by itself.
  await relay.stop();
  await reopened.getByText("Hors ligne").waitFor();
  await createAction(reopened, { titre: "Conseil de quartier", jours: 5 });
  const restarted = await startRelay(data, relay.port);
  await reopened.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor({ timeout: 45_000 });
  await waitSynced(reopened);
  await res.getByRole("link", { name: "Conseil de quartier" }).first().waitFor({ timeout: 45_000 });
  await restarted.stop();
});

test("two organisers edit one action offline: other fields merge, the same field is a conflict resolved in one tap", async () => {
  const { relay } = await freshRelay();
  const [alice, bob] = [await device(), await device()];
  const a = await openApp(alice, relay.url);
  const lien = await createTerritory(a, "Bourg-sur-Loire");
  await createAction(a, { titre: "Repair café", rythme: "hebdo" });
  await waitSynced(a);
  const b = await openApp(bob, lien);
  await b.getByRole("link", { name: "Repair café" }).first().click();
  await b.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await waitSynced(b);
  await a.getByRole("link", { name: "Repair café" }).first().click();

  // Both offline; both rename the action, and bob also sets its place.
  await alice.setOffline(true);
  await bob.setOffline(true);
  for (const page of [a, b]) await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await b.getByLabel("Lieu").fill("Salle des fêtes");
  for (const [page, titre] of [
    [a, "Repair café du samedi"],
    [b, "Café réparation"],
  ]) {
    await page.getByLabel("Titre").fill(titre);
    await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
    await page.getByRole("heading", { level: 1, name: titre }).waitFor();
  }
  await alice.setOffline(false);
  await bob.setOffline(false);
  await waitSynced(a);
  await waitSynced(b);

  // Each sees bob's place, and the conflict on the title with both values.
  for (const page of [a, b]) {
    await page.getByTestId("lieu").filter({ hasText: "Salle des fêtes" }).waitFor();
    await page.getByRole("button", { name: "Garder « Café réparation »" }).waitFor();
    await page.getByRole("button", { name: "Garder « Repair café du samedi »" }).waitFor();
  }
  await b.getByRole("button", { name: "Garder « Repair café du samedi »" }).click();
  for (const page of [a, b]) {
    await page.getByRole("heading", { level: 1, name: "Repair café du samedi" }).waitFor();
    await page.getByRole("button", { name: /^Garder/ }).first().waitFor({ state: "detached" });
  }
  await relay.stop();
});

test("every screen passes axe-core with no serious or critical violation", async () => {
  const { relay } = await freshRelay();
  const context = await device();
  const page = await openApp(context, relay.url);
  const check = (screen) => checkAxe(page, screen);
  await check("accueil");
  await createTerritory(page, "Les Hauts de Vienne");
  await createAction(page, { titre: "Atelier vélo", rythme: "mensuel" });
  await check("agenda");
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByText("Le titre est obligatoire.").waitFor();
  await check("nouvelle action, avec erreurs");
  await page.getByRole("link", { name: "Annuler" }).click();
  await page.getByRole("link", { name: "Atelier vélo" }).first().click();
  await page.getByRole("heading", { level: 1, name: "Atelier vélo" }).waitFor();
  await check("fiche action");
  for (const details of await page.locator("details").all()) await details.evaluate((d) => (d.open = true));
  await check("fiche action, tous les formulaires ouverts");
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Modifier l'action" }).waitFor();
  for (const details of await page.locator("details").all()) await details.evaluate((d) => (d.open = true));
  await check("modifier l'action, tous les formulaires ouverts");
  await page.getByRole("link", { name: "Retour à l'action" }).click();
  await page.getByRole("link", { name: "Retour à l'agenda" }).click();
  await page.getByRole("link", { name: "Profil et feuille de route" }).click();
  await page.getByRole("heading", { level: 2, name: "Feuille de route" }).waitFor();
  for (const details of await page.locator("details").all()) await details.evaluate((d) => (d.open = true));
  await check("profil et feuille de route");
  await relay.stop();
});

test("an action's sheet: its rhythm in French, one occurrence cancelled and restored, a pause", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  await createTerritory(page, "Val de Sèvre");
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill("Permanence vélo");
  await page.getByLabel("Date du premier rendez-vous").fill(dateFr(1));
  await page.getByLabel("Heure de début").fill("18 h 30");
  await page.getByLabel("Rythme").selectOption("hebdo");
  await page.getByLabel("Jusqu'au").fill(dateFr(1));
  await page.getByTestId("apercu-rythme").filter({ hasText: "Chaque semaine" }).waitFor();
  await page.getByLabel("Jusqu'au").fill(dateFr(60));
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: "Permanence vélo" }).first().click();
  await page.getByTestId("phrase-rythme").filter({ hasText: "Chaque semaine" }).waitFor();

  const first = page.getByTestId("occurrence").first();
  await first.getByText("Gérer ce rendez-vous").click();
  await first.getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await page.getByTestId("confirmation").getByRole("button", { name: "Annuler ce rendez-vous" }).click();
  await first.getByRole("button", { name: "Rétablir ce rendez-vous" }).click();
  await first.getByRole("button", { name: "Annuler ce rendez-vous" }).waitFor();
  // The status message stays until closed or the screen changes.
  await page.getByTestId("annonce").getByRole("button", { name: "Fermer ce message" }).click();
  await page.getByTestId("annonce").waitFor({ state: "detached" });

  // A pause that ends before it starts is refused, in French, next to the field.
  const toutes = async () => {
    const suivants = page.getByRole("button", { name: "Voir les suivants" });
    // Bounded; centred first so that the status message and the bottom bar,
    // both fixed at the bottom of the screen, do not cover it.
    for (let i = 0; i < 20 && (await suivants.count()) > 0; i++) {
      await suivants.evaluate((e) => e.scrollIntoView({ block: "center" }));
      await suivants.click();
    }
    assert.equal(await suivants.count(), 0, "« Voir les suivants » never ran out");
    return page.getByTestId("occurrence").count();
  };
  const before = await toutes();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByText("Mettre le rythme en pause").click();
  await page.getByLabel("Premier jour de la pause").fill(dateFr(20));
  await page.getByLabel("Dernier jour de la pause").fill(dateFr(10));
  await page.getByRole("button", { name: "Mettre en pause" }).click();
  await page.getByRole("alert").filter({ hasText: "La fin de la pause doit suivre son début." }).waitFor();
  assert.equal(await page.getByLabel("Dernier jour de la pause").getAttribute("aria-invalid"), "true");
  await page.getByLabel("Dernier jour de la pause").fill(dateFr(34));
  await page.getByRole("button", { name: "Mettre en pause" }).click();
  await page.getByRole("heading", { level: 1, name: "Permanence vélo" }).waitFor();
  await until("fewer rendez-vous after the pause", async () => (await toutes()) < before);
  await relay.stop();
});

test("an organiser's day: themes filter the agenda, fields and rhythm change, an occurrence moves, a need gets a volunteer", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  const lien = await createTerritory(page, "Pays de Redon");
  await createAction(page, { titre: "Atelier compost", rythme: "hebdo", themes: ["Déchets et réemploi"] });
  await createAction(page, { titre: "Balade à vélo", jours: 4, themes: ["Mobilité"] });

  // The theme filter narrows the agenda, and lives in the URL.
  await page.getByLabel("Thème", { exact: true }).selectOption("dechets_reemploi");
  await page.getByRole("link", { name: "Balade à vélo" }).waitFor({ state: "detached" });
  await page.getByRole("link", { name: "Atelier compost" }).first().waitFor();
  assert.match(page.url(), /\/theme\/dechets_reemploi$/);
  await page.getByLabel("Thème", { exact: true }).selectOption("");
  await page.getByRole("link", { name: "Balade à vélo" }).waitFor();

  // Fields: an online participation needs its link, said next to the field.
  await page.getByRole("link", { name: "Atelier compost" }).first().click();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByLabel("En bref").fill("Apprendre à composter ensemble");
  await page.getByLabel("État de l'action").selectOption("en_cours");
  await page.getByLabel("Participation", { exact: true }).selectOption("mixte");
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await page.getByText("Indiquez le lien de participation (https://…).").waitFor();
  assert.equal(await page.getByLabel("Lien de participation en ligne").getAttribute("aria-invalid"), "true");
  // Saving leaves the edit screen: still there, nothing was saved.
  await page.getByRole("heading", { level: 1, name: "Modifier l'action" }).waitFor();
  await page.getByLabel("Lien de participation en ligne").fill("https://visio.example.org/compost");
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await page.getByTestId("etat").filter({ hasText: "En cours" }).waitFor();
  await page.getByTestId("en-bref").filter({ hasText: "Apprendre à composter ensemble" }).waitFor();
  await page.getByTestId("participation").filter({ hasText: "Sur place et en ligne" }).waitFor();

  // The rhythm: every other week, said in French.
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByText("Changer le rythme").click();
  await page.getByRole("combobox", { name: "Rythme", exact: true }).selectOption("quinzaine");
  await page.getByTestId("apercu-rythme").filter({ hasText: "Tous les 15 jours" }).waitFor();
  await page.getByRole("button", { name: "Enregistrer le rythme" }).click();
  await page.getByTestId("phrase-rythme").filter({ hasText: "Tous les 15 jours" }).waitFor();

  // One occurrence moved to 20:00: shown as moved, with its first time.
  await page.getByText("Gérer ce rendez-vous").first().click();
  await page.getByText("Déplacer ce rendez-vous").first().click();
  await page.getByLabel("Nouvelle heure").first().fill("20:00");
  await page.getByRole("button", { name: "Déplacer", exact: true }).first().click();
  await page.getByText(/déplacé \(prévu .* à 18\sh\s30\)/).first().waitFor();
  await page.getByTestId("date-occurrence").filter({ hasText: /à 20\sh$/ }).waitFor();

  // A need, refused empty, then added; a volunteer; the need filled.
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByText("Ajouter un besoin").click();
  await page.getByRole("button", { name: "Ajouter le besoin" }).click();
  await page.getByText("Dites ce qu'il faut.").waitFor();
  await page.getByLabel("Ce qu'il faut").fill("Des bras pour retourner le compost");
  await page.getByLabel("Combien (facultatif)").fill("3");
  await page.getByRole("button", { name: "Ajouter le besoin" }).click();
  const besoin = page.getByTestId("besoin");
  await besoin.filter({ hasText: "Bénévoles : Des bras pour retourner le compost (3)" }).waitFor();
  await besoin.getByLabel(/^Votre nom/).fill("Camille");
  await besoin.getByRole("button", { name: "Je me propose" }).click();
  await besoin.filter({ hasText: "1 volontaire : Camille" }).waitFor();
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByLabel(/^État du besoin/).selectOption("pourvu");
  await page.getByRole("link", { name: "Retour à l'action" }).click();
  await besoin.filter({ hasText: "· pourvu" }).waitFor();
  await waitSynced(page);

  // Another device sees all of it.
  const other = await openApp(await device(), lien);
  await other.getByRole("link", { name: "Atelier compost" }).first().click();
  await other.getByTestId("besoin").filter({ hasText: "1 volontaire : Camille" }).waitFor();
  await other.getByTestId("phrase-rythme").filter({ hasText: "Tous les 15 jours" }).waitFor();
  await other.getByText(/déplacé \(prévu .* à 18\sh\s30\)/).first().waitFor();
  await relay.stop();
});

test("the territory's profile and roadmap, read and edited", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  await createTerritory(page, "Vallée de la Drôme");
  await page.getByRole("link", { name: "Profil et feuille de route" }).click();
  await page.getByTestId("horizon").filter({ hasText: "Pas encore d'horizon fixé." }).waitFor();

  await page.getByLabel("Type de territoire").selectOption("intercommunalite_epci");
  await page.getByLabel("Présentation").fill("Quinze communes engagées pour l'eau et l'alimentation.");
  await page.getByLabel("Énergie", { exact: true }).check();
  await page.getByLabel("Nom du territoire").fill("");
  await page.getByRole("button", { name: "Enregistrer le profil" }).click();
  await page.getByText("Le nom du territoire est obligatoire.").waitFor();
  await page.getByLabel("Nom du territoire").fill("Biovallée");
  await page.getByRole("button", { name: "Enregistrer le profil" }).click();
  await page.getByRole("heading", { level: 1, name: "Biovallée" }).waitFor();
  await page.getByTestId("themes-territoire").filter({ hasText: "Énergie" }).waitFor();
  await page.getByTestId("type-territoire").filter({ hasText: "Intercommunalité (EPCI)" }).waitFor();

  await page.getByText("Fixer l'horizon").click();
  await page.getByLabel("Première année").fill("2032");
  await page.getByLabel("Dernière année").fill("2026");
  await page.getByRole("button", { name: "Enregistrer l'horizon" }).click();
  await page.getByText("La dernière année doit suivre la première.").waitFor();
  await page.getByLabel("Première année").fill("2026");
  await page.getByLabel("Dernière année").fill("2032");
  await page.getByRole("button", { name: "Enregistrer l'horizon" }).click();
  await page.getByTestId("horizon").filter({ hasText: "Horizon : 2026 – 2032" }).waitFor();

  await page.getByText("Ajouter une phase").click();
  await page.getByLabel("Titre de la phase").fill("Diagnostic partagé");
  await page.getByLabel("Début (facultatif)").fill("15/01/2026");
  await page.getByLabel("Fin (facultatif)").fill("30/06/2026");
  await page.getByRole("button", { name: "Ajouter la phase" }).click();
  const phase = page.getByTestId("phase").filter({ hasText: "Diagnostic partagé" });
  await phase.filter({ hasText: "du jeudi 15 janvier au mardi 30 juin · à venir" }).waitFor();
  await phase.getByLabel(/^État de la phase/).selectOption("en_cours");
  await phase.filter({ hasText: "· en cours" }).waitFor();

  // All of it survives a reload.
  await waitSynced(page);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Biovallée" }).waitFor();
  await phase.filter({ hasText: "· en cours" }).waitFor();
  await page.getByTestId("horizon").filter({ hasText: "Horizon : 2026 – 2032" }).waitFor();
  await relay.stop();
});

test("invitation links: an organiser edits, a resident only reads, a revoked invitation says so", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Plessé", "--kind", "commune", "--insee", "44128");
  const doc = created.match(/^territoire: (\S+)$/m)[1];
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (texte, qui) => texte.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);

  const orga = await openApp(await device(), lienDe(created, "organisateurs"));
  await orga.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await createAction(orga, { titre: "Marché de producteurs", rythme: "hebdo" });
  await waitSynced(orga);

  const resident = await device();
  const res = await openApp(resident, lienDe(created, "habitants"));
  await res.getByRole("link", { name: "Marché de producteurs" }).first().waitFor();
  await res.getByTestId("lecture-seule").waitFor();
  assert.equal(await res.getByRole("link", { name: "Nouvelle action" }).count(), 0);
  await res.getByRole("link", { name: "Marché de producteurs" }).first().click();
  await res.getByRole("heading", { level: 1, name: "Marché de producteurs" }).waitFor();
  // "Voir les suivants" only reveals more dates; it edits nothing.
  assert.equal(await res.getByRole("button").filter({ hasNotText: "Voir les suivants" }).count(), 0, "a resident sees edit controls");
  assert.equal(await res.getByRole("link", { name: "Modifier", exact: true }).count(), 0, "a resident sees the edit link");
  await checkAxe(res, "fiche action, lecture seule");

  // The action, published by default, is in the territory's calendar feed
  // (a private territory: the resident's token is needed).
  const residentToken = lienDe(created, "habitants").split("/").pop();
  const feed = await fetch(`${relay.url}/t/${doc}/agenda.ics?token=${residentToken}`);
  assert.equal(feed.status, 200);
  assert.match(await feed.text(), /SUMMARY:Marché de producteurs/);
  assert.equal((await fetch(`${relay.url}/t/${doc}/agenda.ics`)).status, 404);

  // A second territory on the same devices: one connection carries both invitations.
  const second = essaim("territory", "create", "--name", "Quartier du Bourg", "--kind", "quartier");
  await orga.goto(lienDe(second, "organisateurs"));
  await orga.getByRole("heading", { level: 1, name: "Quartier du Bourg" }).waitFor();
  await res.goto(lienDe(second, "habitants"));
  await res.getByRole("heading", { level: 1, name: "Quartier du Bourg" }).waitFor();

  // The first invitation revoked: the app says so, and the second territory still syncs.
  const id = essaim("invites", "--territory", doc).split("\n").find((l) => l.includes("resident")).split("\t")[0];
  essaim("revoke", id);
  await res.getByTestId("invitation-refusee").filter({ hasText: "Votre invitation à «\u00a0Commune de Plessé\u00a0» a été révoquée." }).waitFor({ timeout: 30_000 });
  await createAction(orga, { titre: "Fête de quartier", jours: 3 });
  await res.getByRole("link", { name: "Fête de quartier" }).first().waitFor({ timeout: 30_000 });
  await relay.stop();
});

test("a broken link and a link to no territory say so plainly", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  await page.goto(`${relay.url}/#/territoire/pas-un-territoire`);
  await page.getByRole("alert").filter({ hasText: "Ce lien n'est pas valide" }).waitFor();
  // A well-formed id the relay does not know.
  await page.goto(`${relay.url}/#/territoire/2ZJgRGsi1yT7MjLkg7eMrNX9fNDz`);
  await page.getByRole("alert").filter({ hasText: "Ce territoire est introuvable" }).waitFor();
  // A hash that does not percent-decode (a truncated link): the home screen.
  await page.goto(`${relay.url}/#/territoire/%E0%A4`);
  await page.getByRole("heading", { level: 1, name: "Vos territoires" }).waitFor();
  await relay.stop();
});

test("a resident's first visit downloads the territory in chunks over HTTP, and an interrupted download resumes after a reload", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Guémené", "--kind", "commune");
  const doc = created.match(/^territoire: (\S+)$/m)[1];
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (qui) => created.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
  const orga = await openApp(await device(), lienDe("organisateurs"));
  await createAction(orga, { titre: "Troc de graines", rythme: "hebdo" });
  await waitSynced(orga);
  const isChunk = (url) => new URL(url, relay.url).pathname.startsWith(`/d/${doc}/chunks/`);

  // First visit: the listing, then the chunks, with the resident's token.
  // The websocket answers nothing until the download is stored.
  const resident = await device();
  const seen = [];
  let relayStore;
  resident.on("request", (r) => r.url().includes(`/d/${doc}/chunks`) && seen.push(new URL(r.url()).pathname));
  resident.on("response", (r) => {
    if (new URL(r.url()).pathname === `/d/${doc}/chunks`) relayStore = r.headers()["essaim-storage-id"];
  });
  let mocked;
  let relayed;
  let wsBytes = 0;
  let answered;
  const relayAnswered = new Promise((resolve) => (answered = resolve));
  const isSync = (m) => typeof m !== "string" && m.includes(Buffer.from("dsync"));
  await resident.routeWebSocket(/\/sync/, (ws) => {
    if (!relayed) return void (mocked = ws);
    const server = ws.connectToServer();
    ws.onMessage((m) => ((wsBytes += m.length), server.send(m)));
    server.onMessage((m) => ((wsBytes += m.length), ws.send(m), isSync(m) && answered()));
  });
  const res = await openApp(resident, lienDe("habitants"));
  await res.getByRole("link", { name: "Troc de graines" }).first().waitFor();
  assert.equal(seen[0], `/d/${doc}/chunks`, seen.join(" "));
  assert.ok(seen.some(isChunk), seen.join(" "));

  // Stored with the chunks, before any sync: a sync state with the relay
  // (its storage id from the listing), so the websocket sync costs little.
  // (This territory has a few changes, so its sync is small either way;
  // tests/it/chunks.rs measures a 10,000-change one.)
  assert.match(relayStore ?? "", /^[0-9a-f-]{36}$/);
  const keys = await res.evaluate(
    (doc) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("essaim");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const range = IDBKeyRange.bound(`${doc}/`, `${doc}0`, false, true);
          const read = open.result.transaction("kv").objectStore("kv").getAllKeys(range);
          read.onerror = () => reject(read.error);
          read.onsuccess = () => (open.result.close(), resolve(read.result));
        };
      }),
    doc,
  );
  assert.ok(keys.includes(`${doc}/sync-state/${relayStore}`), keys.join(" "));
  relayed = true;
  await mocked.close();
  await relayAnswered;
  console.log(`websocket after the download: ${wsBytes} bytes until the relay's sync answer`);
  assert.ok(wsBytes < 1_000, `${wsBytes} bytes`);

  // Another resident's download stops halfway: the first answer carries
  // half the chunk, then the link fails.
  const other = await device();
  const page = await other.newPage();
  let half;
  let cut;
  const interrupted = new Promise((resolve) => (cut = resolve));
  await page.route(isChunk, async (route) => {
    if (half !== undefined) {
      cut();
      return route.abort("connectionreset");
    }
    const whole = await (await route.fetch()).body();
    half = Math.floor(whole.length / 2);
    await route.fulfill({
      status: 206,
      headers: { "content-type": "application/octet-stream", "content-range": `bytes 0-${half - 1}/${whole.length}` },
      body: whole.subarray(0, half),
    });
  });
  await page.goto(lienDe("habitants"));
  await interrupted;
  await page.getByTestId("telechargement").filter({ hasText: /Téléchargement du territoire\s:\s\d+\u00a0%/ }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Troc de graines" }).count(), 0);

  // After a reload, the rest only: `Range: bytes=<half>-`, and the agenda.
  const resumed = [];
  page.on("response", async (r) => isChunk(r.url()) && r.status() === 206 && resumed.push((await r.request().allHeaders()).range));
  await page.unroute(isChunk);
  await page.reload();
  await page.getByRole("link", { name: "Troc de graines" }).first().waitFor();
  // (A retry of the old page may have come first, with the same range.)
  assert.ok(resumed.length > 0 && resumed.every((r) => r === `bytes=${half}-`), resumed.join(" "));
  await relay.stop();
});
// See: issue #12, item 19.
test("r12_19: with the service worker in control, a territory's page, its feeds and the relay's routes come from the relay, and only the app's own pages are the app, offline too", async () => {
  const { data, essaim } = dataDirectory();
  const created = essaim("territory", "create", "--name", "Commune de Saint-Nolff", "--kind", "commune", "--public");
  const doc = created.match(/^territoire: (\S+)$/m)[1];
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 1, name: "Vos territoires" }).waitFor();

  // The territory's HTML page: the relay's, not the app's shell.
  const { response } = await navigate(page, `${relay.url}/t/${doc}/`);
  assert.ok(response, "no answer for the territory's page");
  assert.equal(response.fromServiceWorker(), false, "the territory's page came from the service worker");
  await page.getByRole("heading", { level: 1, name: "Agenda – Commune de Saint-Nolff" }).waitFor();
  assert.equal(await page.locator("#app").count(), 0, "the app answered the territory's page");

  // A calendar subscription link: the calendar, not the app.
  for (const path of [`/t/${doc}/agenda.ics`, `/t/${doc}/agenda-compat.ics`, "/agenda.ics"]) {
    const opened = await navigate(page, `${relay.url}${path}`);
    assert.ok(opened.download, `${path} opened ${page.url()} (« ${await page.title()} ») instead of the calendar`);
    assert.match(readFileSync(await opened.download.path(), "utf8"), /^BEGIN:VCALENDAR\r\n/, path);
  }

  // Every other route of the relay: its own answer, whatever the status.
  for (const path of [
    `/t/${doc}/agenda.json`,
    "/agenda.json",
    "/territoires.json",
    "/healthz",
    "/invitation?token=0000000000000000.00000000000000000000000000000000",
    `/d/${doc}/chunks`,
    "/sync",
    "/t/pas-un-territoire/",
    "/une/page/inconnue",
  ]) {
    const opened = await navigate(page, `${relay.url}${path}`);
    if (opened.download) continue; // Saved as a file: not the app either.
    // An error status with an empty body is Chromium's own error page.
    if (!opened.response) assert.match(String(opened.error), /ERR_HTTP_RESPONSE_CODE_FAILURE/, path);
    else assert.equal(opened.response.fromServiceWorker(), false, `${path} came from the service worker`);
    assert.equal(await page.locator("#app").count(), 0, `${path} opened the app`);
  }

  // Offline: the relay's pages fail as the network fails; the app still opens at its own pages.
  await context.setOffline(true);
  // (Addresses not visited yet: the browser's HTTP cache has nothing for
  // them. Each in its own tab, closed after: an error page reloads itself.)
  for (const path of [`/t/${doc}/?hors-ligne`, `/t/${doc}/agenda.json?hors-ligne`, "/healthz?hors-ligne", "/t/autre/", "/t/"]) {
    const tab = await context.newPage();
    const opened = await navigate(tab, `${relay.url}${path}`);
    assert.equal(opened.response, null, `${path} answered offline (« ${await tab.title()} »)`);
    assert.match(String(opened.error), /ERR_INTERNET_DISCONNECTED/, path);
    await tab.close();
  }
  // A page visited online may come from the browser's HTTP cache: the relay's, never the app.
  const tab = await context.newPage();
  const visited = await navigate(tab, `${relay.url}/t/${doc}/`);
  if (visited.response) {
    assert.equal(visited.response.fromServiceWorker(), false);
    assert.equal(await tab.locator("#app").count(), 0, "the territory's page opened the app offline");
  }
  await tab.close();
  for (const path of ["/", "/index.html", "/?source=calendrier", `/#/territoire/${doc}`]) {
    const opened = await navigate(page, `${relay.url}${path}`);
    assert.ok(opened.response?.fromServiceWorker(), `${path}: ${opened.error}`);
    await page.locator("header .marque").filter({ hasText: "Essaim" }).waitFor();
  }
  await relay.stop();
});

// See: issue #12, item 20.
test("r12_20: an invitation link for a territory already joined with another invitation asks before replacing it; the same link or a new territory does not", async () => {
  const { data, essaim } = dataDirectory();
  const first = essaim("territory", "create", "--name", "Commune de Melle", "--kind", "commune");
  const second = essaim("territory", "create", "--name", "Quartier de la Croix", "--kind", "quartier");
  const doc = first.match(/^territoire: (\S+)$/m)[1];
  const relay = await startRelay(data, 0, { open: false });
  const lienDe = (texte, qui) => texte.match(new RegExp(`^lien${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
  const organiser = lienDe(first, " organisateurs");
  const resident = lienDe(first, " habitants");
  const otherOrganiser = lienDe(essaim("invite", "--territory", doc, "--role", "organiser"), "");
  const dialog = (page) => page.getByRole("dialog", { name: "Remplacer votre invitation ?" });
  const opened = (page) => page.waitForURL((url) => url.hash === `#/territoire/${doc}`);

  const page = await openApp(await device(), organiser);
  await page.getByRole("heading", { level: 1, name: "Commune de Melle" }).waitFor();
  await page.getByRole("link", { name: "Nouvelle action" }).waitFor();
  await waitNameStored(page, doc);
  const held = await storedTerritories(page);
  assert.equal(held.length, 1);
  assert.equal(held[0].role, "organisateur");

  // The same link again: nothing asked, nothing written.
  await page.goto(organiser);
  await opened(page);
  await page.getByRole("link", { name: "Nouvelle action" }).waitFor();
  assert.equal(await dialog(page).count(), 0, "the same link asked");
  assert.deepEqual(await storedTerritories(page), held);

  // A resident link for the same territory: asked, saying what changes; focus on « Garder ».
  await page.goto(resident);
  await dialog(page).waitFor();
  const texte = await dialog(page).innerText();
  assert.match(texte, /Ce lien vous donne le rôle habitant sur «\sCommune de Melle\s»\s: vous pourrez lire l'agenda, sans le modifier\./);
  assert.match(texte, /Vous y êtes aujourd'hui organisateur\./);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Garder mon invitation actuelle");
  await checkAxe(page, "remplacer une invitation");

  // « Garder »: the organiser role stays, IndexedDB unchanged, and edits still reach the relay.
  await dialog(page).getByRole("button", { name: "Garder mon invitation actuelle" }).click();
  await opened(page);
  await dialog(page).waitFor({ state: "detached" });
  assert.deepEqual(await storedTerritories(page), held);
  assert.equal(await page.getByTestId("lecture-seule").count(), 0);
  await createAction(page, { titre: "Disco soupe", jours: 3 });
  await waitSynced(page);

  // Échap keeps it too; so does refusing another organiser's link (same role, said so).
  await page.goto(resident);
  await dialog(page).waitFor();
  await page.keyboard.press("Escape");
  await opened(page);
  await page.goto(otherOrganiser);
  await dialog(page).filter({ hasText: "Ce lien est une autre invitation d'organisateur pour « Commune de Melle ». Votre rôle ne change pas" }).waitFor();
  await dialog(page).getByRole("button", { name: "Garder mon invitation actuelle" }).click();
  await opened(page);
  assert.deepEqual(await storedTerritories(page), held);

  // Another territory is added without asking.
  await page.goto(lienDe(second, " organisateurs"));
  await page.getByRole("heading", { level: 1, name: "Quartier de la Croix" }).waitFor();
  assert.equal(await dialog(page).count(), 0, "a new territory asked");
  assert.equal((await storedTerritories(page)).length, 2);

  // « Remplacer »: the resident's invitation replaces the organiser's, read only from now on.
  await page.goto(resident);
  await dialog(page).getByRole("button", { name: "Remplacer par ce lien" }).click();
  await opened(page);
  await page.getByTestId("lecture-seule").waitFor();
  await page.getByRole("link", { name: "Disco soupe" }).first().waitFor();
  assert.equal(await page.getByRole("link", { name: "Nouvelle action" }).count(), 0);
  const now = (await storedTerritories(page)).find((t) => t.doc === doc);
  assert.equal(now.role, "habitant");
  assert.equal(now.invitation, resident.split("/").pop());
  await relay.stop();
});

// The relay sends a Content-Security-Policy (issue #12, item 12); the app
// must run under the strictest one it can: no inline script or style.
test("the app runs under a strict Content-Security-Policy without a violation", async () => {
  const { relay } = await freshRelay();
  // A page fulfilled by the test (to add the header) has no address space
  // Chromium knows, so its Local Network Access checks would block the
  // websocket to 127.0.0.1: off for this device, they are not under test.
  const context = await device(["--disable-features=LocalNetworkAccessChecks"]);
  const policy =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; " +
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'";
  await context.route(`${relay.url}/`, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": policy } });
  });
  await context.addInitScript(() => {
    globalThis.violations = [];
    document.addEventListener("securitypolicyviolation", (e) => globalThis.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await openApp(context, relay.url);
  await createTerritory(page, "Pays de Fougères");
  await createAction(page, { titre: "Atelier réparation", rythme: "hebdo" });
  await waitSynced(page);
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).marginTop), "0px", "the stylesheet did not apply");
  assert.deepEqual(await page.evaluate(() => globalThis.violations), []);
  // The policy is in force: an inline script is refused.
  const ran = await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "globalThis.inline = true";
    document.head.append(script);
    return globalThis.inline === true;
  });
  assert.equal(ran, false, "the policy did not apply");
  await relay.stop();
});

// A failed IndexedDB write stops the driver once: nothing is synced that
// was not stored, the socket closes and nothing reopens it, and the status
// bar says so in French.
test("a failed IndexedDB write stops syncing once, says so, and never reconnects", async () => {
  const { relay } = await freshRelay();
  const context = await device();
  // Every websocket the page opens, counted as it is made; and a clock the
  // test can run forward, to fire any reconnection timer without waiting.
  await context.addInitScript(() => {
    const Native = WebSocket;
    globalThis.sockets = [];
    globalThis.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        globalThis.sockets.push(this);
      }
    };
  });
  await context.clock.install();
  const page = await openApp(context, relay.url);
  const lien = await createTerritory(page, "Presqu'île de Rhuys");
  await waitSynced(page);
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();

  // From now on, IndexedDB refuses every write (a full disk, say).
  await page.evaluate(() => {
    IDBObjectStore.prototype.put = () => {
      throw new DOMException("écriture refusée par le test", "QuotaExceededError");
    };
  });
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill("Nettoyage de plage");
  await page.getByLabel("Chantier au long cours, sans date de rendez-vous").check();
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();

  await page.getByTestId("arret").filter({ hasText: "Synchronisation arrêtée\u00a0: cet appareil n'a pas pu enregistrer" }).waitFor();
  await page.locator(".statut").getByText("Hors ligne").waitFor();
  await page.waitForFunction(() => globalThis.sockets.every((s) => s.readyState === WebSocket.CLOSED));
  const opened = await page.evaluate(() => globalThis.sockets.length);
  // Neither the backoff's timer nor the browser coming back online reopens it.
  await page.clock.runFor(120_000);
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  assert.equal(await page.evaluate(() => globalThis.sockets.length), opened, "the socket was reopened");
  assert.equal(await page.getByTestId("arret").count(), 1);

  // What was not stored was not synced: another device has the territory without the action.
  const other = await openApp(await device(), lien);
  await other.getByRole("heading", { level: 1, name: "Presqu'île de Rhuys" }).waitFor();
  await waitSynced(other);
  assert.equal(await other.getByRole("link", { name: "Nettoyage de plage" }).count(), 0, "an unstored edit was synced");
  await relay.stop();
});
