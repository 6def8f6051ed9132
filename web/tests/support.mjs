// Shared pieces of the browser tests: the real relay binary on 127.0.0.1,
// devices (one Chromium context each, its own profile), the app's common
// gestures, and IndexedDB readers. Every wait is a condition with a
// timeout; nothing sleeps. Each test's devices, relays and directories go
// when it ends (`cleanups`, run after each test of the importing file).

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const ESSAIM = process.env.ESSAIM_BIN ?? join(ROOT, "target/debug/essaim");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const WAIT = 15_000;
export const cleanups = [];
// Each test's devices and relays go when it ends, so that later tests do
// not share the two cores with browsers still retrying a stopped relay.
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()();
});

/**
 * The relay on 127.0.0.1 (port 0, or a given one to restart in place).
 * `args`: extra flags; `--creation ouverte` unless they set `--creation`
 * (as the run command does). `web`: the built app it serves (a copy a
 * test may change).
 */
export async function startRelay(data, port = 0, { open = true, args = [], web = join(ROOT, "web/dist") } = {}) {
  const creation = args.includes("--creation") ? [] : ["--creation", "ouverte"];
  const flags = [...(open ? ["--open"] : []), ...creation, ...args];
  const child = spawn(
    ESSAIM,
    ["serve", ...flags, "--listen", `127.0.0.1:${port}`, "--data", data, "--web", web],
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
export async function freshRelay() {
  const data = mkdtempSync(join(tmpdir(), "essaim-relay-"));
  cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  return { data, relay: await startRelay(data) };
}

/** A device: a browser context with its own profile (and extra Chromium flags, if any). */
export async function device(extraArgs = []) {
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
      ...extraArgs,
    ],
  });
  context.setDefaultTimeout(WAIT);
  // The pages' errors go to the test's output, to explain a failure.
  context.on("console", (message) => {
    // A device whose relay is gone retries; those failures are expected.
    if (message.text().startsWith("WebSocket connection to")) return;
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
export async function openApp(context, url) {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return page;
}

export async function waitSynced(page) {
  await page.getByTestId("en-attente").filter({ hasText: "aucune modification en attente" }).waitFor();
}

export function isoDate(daysFromNow) {
  const d = new Date(Date.now() + daysFromNow * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** The same day as the app's French date fields take it: "6/12/2026". */
export function dateFr(daysFromNow) {
  const [a, m, j] = isoDate(daysFromNow).split("-").map(Number);
  return `${j}/${m}/${a}`;
}

export const AXE = readFileSync(join(ROOT, "web/node_modules/axe-core/axe.min.js"), "utf8");

/** axe-core on the page as it is: no serious or critical violation. */
export async function checkAxe(page, screen) {
  // Evaluated through the DevTools protocol, which the app's
  // Content-Security-Policy (no inline script) rightly does not allow a page to do.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.deepEqual(violations, [], `${screen}: ${violations.join("; ")}`);
}

/**
 * Creates a territory in the app; returns its bare document address
 * (`<origin>/#/territoire/<doc>`). The app never shows that address to
 * share (its links are invitations): the tests that use it run on `--open`
 * relays, where any device may open any document without a token.
 */
export async function createTerritory(page, nom) {
  await page.getByLabel("Nom du territoire").fill(nom);
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  const doc = page.url().match(/#\/territoire\/([^/]+)/)[1];
  return `${new URL(page.url()).origin}/#/territoire/${doc}`;
}

export async function createAction(page, { titre, jours = 2, rythme, chantier = false, themes = [] }) {
  await page.getByRole("link", { name: "Nouvelle action" }).click();
  await page.getByLabel("Titre").fill(titre);
  for (const theme of themes) await page.getByLabel(theme, { exact: true }).check();
  if (chantier) {
    await page.getByLabel("Chantier au long cours, sans date de rendez-vous").check();
  } else {
    await page.getByLabel("Date du premier rendez-vous").fill(dateFr(jours));
    await page.getByLabel("Heure de début").fill("18 h 30");
    if (rythme) {
      await page.getByLabel("Rythme").selectOption(rythme);
      await page.getByLabel("Jusqu'au").fill(dateFr(jours + 60));
    }
  }
  await page.getByRole("button", { name: "Enregistrer l'action" }).click();
  await page.getByRole("link", { name: titre }).first().waitFor();
}


/**
 * Opens `url` in `page` as a person would (a navigation): the relay's
 * answer (`response`, null when the network failed) or, for a file the
 * browser saves rather than shows (a calendar), its `download`.
 */
export async function navigate(page, url) {
  const download = page.waitForEvent("download", { timeout: WAIT }).catch(() => undefined);
  try {
    return { response: await page.goto(url) };
  } catch (error) {
    if (!/Download is starting/.test(error.message)) return { response: null, error };
    return { download: await download };
  }
}

/** Reads the `territoires` store of IndexedDB, in the page. */
export const readTerritories = () =>
  new Promise((resolve, reject) => {
    const open = indexedDB.open("essaim");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const read = open.result.transaction("territoires").objectStore("territoires").getAll();
      read.onerror = () => reject(read.error);
      read.onsuccess = () => (open.result.close(), resolve(read.result));
    };
  });

/** The territories the page's IndexedDB holds, as stored. */
export function storedTerritories(page) {
  return page.evaluate(readTerritories);
}

/** Waits until the territory `doc` is stored with its name (the agenda screen stores it). */
export async function waitNameStored(page, doc) {
  const stored = await page.evaluate(
    async ([doc, wait]) => {
      const until = Date.now() + wait;
      while (Date.now() < until) {
        const t = await new Promise((resolve, reject) => {
          const open = indexedDB.open("essaim");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const read = open.result.transaction("territoires").objectStore("territoires").get(doc);
            read.onerror = () => reject(read.error);
            read.onsuccess = () => (open.result.close(), resolve(read.result));
          };
        });
        if (t?.nom) return true;
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      return false;
    },
    [doc, WAIT],
  );
  assert.ok(stored, `${doc}: no name stored`);
}

/** A fresh data directory, removed when the test ends, and the CLI on it. */
export function dataDirectory() {
  const data = mkdtempSync(join(tmpdir(), "essaim-relay-"));
  cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  const essaim = (...args) => execFileSync(ESSAIM, [...args, "--data", data], { encoding: "utf8" });
  return { data, essaim };
}

/** Polls `check` (async, truthy when done) until it holds, or fails after `timeout`. */
export async function until(what, check, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what}: not within ${timeout} ms (last: ${last})`);
}

/** The creation form's fields, then its button. */
export async function fillCreation(page, { nom, type, insee }) {
  await page.getByLabel("Nom du territoire").fill(nom);
  await page.getByLabel("Type de territoire").selectOption({ label: type });
  await page.getByLabel("Code INSEE de la commune").fill(insee);
}

export async function makePublic(page, doc) {
  await page.goto(`${new URL(page.url()).origin}/#/territoire/${doc}/profil`);
  await page.getByLabel("Visibilité").selectOption("public");
  await page.getByRole("button", { name: "Enregistrer le profil" }).click();
  await page.getByText("Public\u00a0: visible de tous").first().waitFor();
  await page.getByRole("link", { name: "Retour à l'agenda" }).click();
}

export const docOf = (page) => new URL(page.url()).hash.match(/#\/territoire\/([^/]+)/)[1];

/** Adds an actor from the « Acteurs » screen (its form opened if needed). */
export async function ajouterActeur(page, nom, categorie) {
  const form = page.getByTestId("nouvel-acteur");
  if (!(await form.evaluate((d) => d.open))) await form.getByText("Ajouter un acteur").click();
  await form.getByLabel("Nom").fill(nom);
  await form.getByLabel("Catégorie").selectOption({ label: categorie });
  await form.getByRole("button", { name: "Ajouter l'acteur" }).click();
  await page.getByTestId("acteur").filter({ hasText: nom }).waitFor();
}
