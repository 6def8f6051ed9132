// A first visit on a weak network (issue 15), with the built app served
// by the real relay in a real Chromium:
// - a resident opening a territory's link sees a preview of its next
//   rendez-vous (from /t/<id>/agenda.json) while the wasm still downloads
//   (held here until the preview is visible), then the live agenda;
//   the organiser screens' chunks are not downloaded;
// - the bytes of a first visit stay under the budget, and a repeat visit
//   downloads no byte of the app;
// - when a new service worker takes over, the page offers to reload;
// - when Chromium offers to install the app, Moi says so, and only Moi.
//
// Run by scripts/test.sh after scripts/build-web.sh and the relay's build.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, WAIT, cleanups, dataDirectory, device, openApp, startRelay } from "./support.mjs";

/** First visit, every byte on the wire. Issue 15 asks for 400 000; the
 * wasm alone is 564 KB in brotli (docs/benchmarks.md), so this budget
 * guards today's figure against growth: it is not the goal, not met.
 * Raised from 620 000 for issue 17 (640 084 measured on a clean clone):
 * the organisers' notebook, the decisions' fields and people's names are
 * 12 KB of wasm on every device, and « Acteurs », « Décisions »,
 * « Gouvernance » and « Engagements » about 10 KB of chunks an organiser's
 * device keeps to work offline. Raised by the measured growth for issue 18
 * (639 803 measured before, 673 054 after, on one machine): the experience
 * sheets are 22 KB of wasm in brotli (564 043 to 586 184 B: reading a
 * sheet, its edits and its differences since publication), 7.5 KB of the
 * list's, editor's and acceptance's chunks loaded ahead on the home screen
 * (where territories are created) and their four requests, and 1 KB of
 * shell. Raised by the measured growth for issue 20 (689 167 measured):
 * the read model brought up to date from what changed, so an organiser's
 * edit shows at once, is 12.9 KB of wasm in brotli (589 142 to 602 033 B:
 * 4.3 KB to find the parts a change touches from its operations, the rest
 * the parts' bookkeeping). */
const BUDGET = 694_000;

/** The two lists of web/dist/sw.js: precached at install, organiser screens. */
function listes(dist = join(ROOT, "web/dist")) {
  const sw = readFileSync(join(dist, "sw.js"), "utf8");
  const liste = (nom) => JSON.parse(sw.match(new RegExp(`const ${nom} = (\\[.*\\]);`))[1]);
  return { precache: liste("PRECACHE"), organisateur: liste("ORGANISATEUR") };
}

/** A demonstration territory seeded with `essaim demo`: its id, name and
 * the route of its resident link (`#/territoire/<id>/invitation/habitant/<token>`). */
function demonstration(essaim) {
  const sortie = essaim("demo");
  const [, doc, nom] = sortie.match(/territoire: (\S+)\t(.+)/);
  const [, habitant] = sortie.match(/lien habitants: \S*?(#\/territoire\/\S+)/);
  return { doc, nom: nom.trim(), habitant };
}

/** Bytes on the wire and the paths fetched from the network (not the
 * service worker) while `action` runs and until `fin` holds. */
async function reseau(page, action, fin) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  const reseau = new Set();
  let octets = 0;
  const chemins = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
  cdp.on("Network.responseReceived", (e) => {
    if (!e.response.fromServiceWorker) reseau.add(e.requestId);
  });
  cdp.on("Network.loadingFinished", (e) => {
    octets += e.encodedDataLength;
    if (reseau.has(e.requestId)) chemins.push(urls.get(e.requestId));
  });
  await action();
  await fin();
  await cdp.detach();
  return { octets, chemins };
}

test("a resident's first visit: a preview before the wasm, then the live agenda; no organiser screen fetched; a repeat visit downloads no app byte", async () => {
  const { data, essaim } = dataDirectory();
  const { nom, habitant } = demonstration(essaim);
  const relay = await startRelay(data, 0, { open: false });
  const { precache, organisateur } = listes();
  assert.ok(organisateur.length >= 2, `organiser chunks apart from the precache: ${organisateur}`);
  assert.ok(precache.some((f) => f.endsWith(".wasm")), "the wasm is precached");

  const context = await device();
  const page = context.pages()[0];
  const demandes = [];
  context.on("request", (r) => demandes.push(new URL(r.url()).pathname));
  // The wasm waits until the preview is on screen.
  let liberer;
  const libere = new Promise((resolve) => (liberer = resolve));
  let wasmDemande;
  const wasmVu = new Promise((resolve) => (wasmDemande = resolve));
  await page.route("**/*.wasm", async (route) => {
    wasmDemande();
    await libere;
    await route.continue();
  });
  // A resident's link: a device that may not edit (an organiser's, or any
  // device on an open relay, loads the organiser screens ahead).
  await page.goto(`${relay.url}/${habitant}`);
  const apercu = page.getByTestId("apercu");
  await apercu.getByRole("heading", { level: 1, name: nom }).waitFor();
  assert.ok((await apercu.getByRole("listitem").count()) > 0, "upcoming rendez-vous in the preview");
  await apercu.getByText("Aperçu, chargement de l'application…").waitFor();
  assert.match(await apercu.getByRole("listitem").first().innerText(), /\d{1,2}\u00a0h/, "a time as « 18 h 30 »");
  assert.equal(await page.locator("#app").getByRole("heading", { level: 1 }).count(), 0, "the app is not running yet");
  // The wasm asked for and held, the preview still there; released, the
  // app starts, then takes the preview's place.
  await wasmVu;
  await apercu.getByRole("heading", { level: 1, name: nom }).waitFor();
  liberer();
  await page.locator("#app").getByRole("heading", { level: 1, name: nom }).waitFor();
  await apercu.waitFor({ state: "detached" });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.waitForLoadState("networkidle");
  const pris = organisateur.filter((f) => demandes.includes(f));
  assert.deepEqual(pris, [], "organiser screens downloaded by a resident");

  // Again: everything of the app from the service worker, no preview.
  const { chemins } = await reseau(
    page,
    () => page.reload(),
    () => page.locator("#app").getByRole("heading", { level: 1, name: nom }).waitFor(),
  );
  const app = chemins.filter((c) => precache.includes(c) || organisateur.includes(c) || c === "/index.html");
  assert.deepEqual(app, [], "app files from the network on a repeat visit");
  assert.equal(await page.getByTestId("apercu").count(), 0, "no preview once the app is cached");
});

test(`a first visit to the home screen: at most ${BUDGET} bytes on the wire, service worker precache included`, async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data);
  const context = await device();
  const page = context.pages()[0];
  const { octets: page_, chemins } = await reseau(
    page,
    () => page.goto(relay.url),
    async () => {
      await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
      await page.waitForLoadState("networkidle");
    },
  );
  // The worker's own requests are not the page's: those of files the page
  // did not fetch are counted at their compressed size (the rest come from
  // the HTTP cache: the relay serves /assets/ as immutable).
  const { precache, organisateur } = listes();
  const dist = join(ROOT, "web/dist");
  const taille = (f) => {
    const fichier = join(dist, f === "/" ? "index.html" : f);
    for (const ext of [".br", ""]) {
      try {
        return readFileSync(fichier + ext).length;
      } catch {}
    }
    return 0;
  };
  const worker = [...precache, ...organisateur].filter((f) => !chemins.includes(f)).reduce((n, f) => n + taille(f), 0);
  const octets = page_ + worker;
  console.log(`first visit to the home screen: ${octets} bytes on the wire (page ${page_}, worker at most ${worker})`);
  assert.ok(octets > 50_000, `${octets} bytes: the wasm was not counted`);
  assert.ok(octets <= BUDGET, `${octets} bytes on the wire, over ${BUDGET}`);
});

/** The relay serving a copy of the built app, which the test may change. */
async function relaySurCopie() {
  const web = mkdtempSync(join(tmpdir(), "essaim-web-"));
  cleanups.push(() => rmSync(web, { recursive: true, force: true }));
  cpSync(join(ROOT, "web/dist"), web, { recursive: true });
  const { data } = dataDirectory();
  return { ...(await startRelay(data, 0, { web })), web };
}

test("a new service worker taking over shows « Nouvelle version disponible » and reloads on demand", async () => {
  const relay = await relaySurCopie();
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  assert.equal(await page.getByTestId("nouvelle-version").count(), 0, "a first install is no new version");

  // A new build: another worker version (its precompressed copies gone,
  // so the relay serves the new text).
  const sw = join(relay.web, "sw.js");
  writeFileSync(sw, readFileSync(sw, "utf8").replace(/const VERSION = "[^"]*";/, 'const VERSION = "nouvelle";'));
  for (const ext of [".br", ".gz"]) rmSync(sw + ext, { force: true });
  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  const avis = page.getByTestId("nouvelle-version");
  // The new worker installs the whole precache first (the wasm included):
  // seconds here, more on a loaded machine.
  await avis.getByText("Nouvelle version disponible").waitFor({ timeout: 4 * WAIT });
  await avis.getByRole("button", { name: "Recharger" }).click();
  await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  await page.waitForFunction(() => caches.keys().then((k) => k.includes("essaim-nouvelle")));
  assert.equal(await page.getByTestId("nouvelle-version").count(), 0, "the notice after reloading");
});

test("where the browser offers to install the app, Moi offers « Installer Essaim sur l'écran d'accueil », and no screen is covered by it", async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data);
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  assert.equal(await page.getByTestId("installation").count(), 0, "the offer is in Moi only");
  await page.getByRole("link", { name: "Moi" }).click();
  const installer = page.getByTestId("installation").getByRole("button", { name: "Installer Essaim sur l'écran d'accueil" });
  await installer.waitFor();
  await installer.click();
  // The browser's own dialog takes over; the offer is used once.
  await page.getByTestId("installation").waitFor({ state: "detached" });
});
