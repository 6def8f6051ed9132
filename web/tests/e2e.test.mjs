// End-to-end tests of the PWA in a real Chromium (Debian's, driven by
// playwright-core), against the real relay binary serving the built app on
// 127.0.0.1. Each browser context has its own profile, so its own
// IndexedDB and service worker: one context is one device.
//
// Run by scripts/test.sh after scripts/build-web.sh and the relay's build.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { chromium } from "playwright-core";

const ROOT = new URL("../..", import.meta.url).pathname;
const ESSAIM = process.env.ESSAIM_BIN ?? join(ROOT, "target/debug/essaim");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = 15_000;
const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The relay on 127.0.0.1 (port 0, or a given one to restart in place). */
async function startRelay(data, port = 0) {
  const child = spawn(
    ESSAIM,
    ["serve", "--open", "--listen", `127.0.0.1:${port}`, "--data", data, "--web", join(ROOT, "web/dist")],
    { env: { ...process.env, ESSAIM_LOG: "info", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the relay did not log its address in time")), WAIT);
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const match = buffer.match(/address=(\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`the relay exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const relay = {
    url: `http://${address}`,
    port: Number(address.split(":")[1]),
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
  cleanups.push(() => relay.stop());
  return relay;
}

/** A relay on a fresh data directory, removed at the end. */
async function freshRelay() {
  const data = mkdtempSync(join(tmpdir(), "essaim-relay-"));
  cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  return { data, relay: await startRelay(data) };
}

/** A device: a browser context with its own profile. */
async function device() {
  const profile = mkdtempSync(join(tmpdir(), "essaim-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(WAIT);
  // The pages' errors go to the test's output, to explain a failure.
  context.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") console.error(`[page] ${message.text()}`);
  });
  context.on("weberror", (error) => console.error(`[page] ${error.error()}`));
  cleanups.push(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** Opens the app and waits until the service worker controls the page. */
async function openApp(context, url) {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return page;
}

async function waitSynced(page) {
  await page.getByTestId("en-attente").filter({ hasText: "aucune modification en attente" }).waitFor();
}

function isoDate(daysFromNow) {
  const d = new Date(Date.now() + daysFromNow * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

async function createTerritory(page, nom) {
  await page.getByLabel("Nom du territoire").fill(nom);
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  return page.getByTestId("lien-territoire").innerText();
}

async function createAction(page, { titre, jours = 2, rythme, chantier = false }) {
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill(titre);
  if (chantier) {
    await page.getByLabel("Chantier au long cours, sans date de rendez-vous").check();
  } else {
    await page.getByLabel("Date du premier rendez-vous").fill(isoDate(jours));
    await page.getByLabel("Heure de début").fill("18:30");
    if (rythme) {
      await page.getByLabel("Rythme").selectOption(rythme);
      await page.getByLabel("Jusqu'au").fill(isoDate(jours + 60));
    }
  }
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: titre }).first().waitFor();
}

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
  await reopened.getByText("En ligne", { exact: true }).waitFor({ timeout: 45_000 });
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
  await b.getByLabel("Lieu").fill("Salle des fêtes");
  for (const [page, titre] of [
    [a, "Repair café du samedi"],
    [b, "Café réparation"],
  ]) {
    await page.getByLabel("Titre").fill(titre);
    await page.getByRole("button", { name: "Enregistrer" }).click();
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
  const axe = readFileSync(join(ROOT, "web/node_modules/axe-core/axe.min.js"), "utf8");
  const check = async (screen) => {
    await page.addScriptTag({ content: axe });
    const violations = await page.evaluate(async () => {
      const result = await globalThis.axe.run(document, { resultTypes: ["violations"] });
      return result.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    });
    assert.deepEqual(violations, [], `${screen}: ${violations.join("; ")}`);
  };
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
  await relay.stop();
});

test("an action's sheet: its rhythm in French, one occurrence cancelled and restored, a pause", async () => {
  const { relay } = await freshRelay();
  const page = await openApp(await device(), relay.url);
  await createTerritory(page, "Val de Sèvre");
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill("Permanence vélo");
  await page.getByLabel("Date du premier rendez-vous").fill(isoDate(1));
  await page.getByLabel("Heure de début").fill("18:30");
  await page.getByLabel("Rythme").selectOption("hebdo");
  await page.getByLabel("Jusqu'au").fill(isoDate(1));
  await page.getByTestId("apercu-rythme").filter({ hasText: "Chaque semaine" }).waitFor();
  await page.getByLabel("Jusqu'au").fill(isoDate(60));
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: "Permanence vélo" }).first().click();
  await page.getByTestId("phrase-rythme").filter({ hasText: "Chaque semaine" }).waitFor();

  const first = page.getByRole("button", { name: /^Annuler le rendez-vous du / }).first();
  const label = await first.innerText();
  await first.click();
  const when = label.replace("Annuler le rendez-vous du ", "");
  await page.getByRole("button", { name: `Rétablir le rendez-vous du ${when}` }).waitFor();
  await page.getByRole("button", { name: `Rétablir le rendez-vous du ${when}` }).click();
  await page.getByRole("button", { name: `Annuler le rendez-vous du ${when}` }).waitFor();

  // A pause that ends before it starts is refused, in French, next to the form.
  await page.getByLabel("Du").fill(isoDate(20));
  await page.getByLabel("Au").fill(isoDate(10));
  await page.getByRole("button", { name: "Mettre en pause" }).click();
  await page.getByRole("alert").filter({ hasText: "La fin de la pause doit suivre son début." }).waitFor();
  const before = await page.getByRole("button", { name: /^Annuler le rendez-vous du / }).count();
  await page.getByLabel("Au").fill(isoDate(34));
  await page.getByRole("button", { name: "Mettre en pause" }).click();
  await page.waitForFunction(
    (n) => [...document.querySelectorAll("button")].filter((b) => b.textContent.startsWith("Annuler le rendez-vous du ")).length < n,
    before,
  );
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
  await relay.stop();
});
