// Measures the PWA in Chromium against the relay binary (a measurement,
// not a test): bytes on the wire for a first and a repeat visit, time until
// the agenda of a territory with 500 actions is visible with the CPU
// throttled 4x on a slow network, and the time from an edit on one device
// to its appearance on another through the relay. Screenshots are
// web/bench/captures.mjs's.
//
//   node web/bench/mesures.mjs        (after scripts/build-web.sh and
//                                      cargo build --release -p server)
//
// ESSAIM_BIN and ESSAIM_WEB choose another relay binary and built app (to
// measure another build side by side).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const ROOT = new URL("../..", import.meta.url).pathname;
const ESSAIM = process.env.ESSAIM_BIN ?? join(ROOT, "target/release/essaim");
const WEB = process.env.ESSAIM_WEB ?? join(ROOT, "web/dist");
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const data = mkdtempSync(join(tmpdir(), "essaim-bench-"));
const relay = spawn(ESSAIM, ["serve", "--open", "--creation", "ouverte", "--listen", "127.0.0.1:0", "--data", data, "--web", WEB], {
  env: { ...process.env, NO_COLOR: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve) => {
  let buffer = "";
  relay.stdout.on("data", (chunk) => {
    buffer += chunk;
    const match = buffer.match(/address=(\S+)/);
    if (match) resolve(`http://${match[1]}`);
  });
});
const profiles = [];
async function device() {
  const profile = mkdtempSync(join(tmpdir(), "essaim-bench-profile-"));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    args: ARGS,
  });
  context.setDefaultTimeout(120_000);
  return context;
}
/** A phone on 2G: the page's CPU 4x slower, 400 kbit/s each way, 400 ms
 * latency. The CDP session, to lift the limits. */
async function throttled(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 400, downloadThroughput: (400 * 1024) / 8, uploadThroughput: (400 * 1024) / 8 });
  return cdp;
}
/** Bytes on the wire while `action` runs and until the network is idle,
 * in total and by kind of file (`parts`), and each request (`requests`). */
async function wireBytes(page, action) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  const urls = new Map();
  const parts = {};
  const requests = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    const url = urls.get(e.requestId) ?? "?";
    const kind = url.match(/\.(wasm|js|css)$/)?.[1] ?? "other";
    parts[kind] = (parts[kind] ?? 0) + e.encodedDataLength;
    requests.push(`${e.encodedDataLength} ${url}`);
  });
  await action();
  await page.waitForLoadState("networkidle");
  // The service worker's precache goes on after the page is idle.
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 120_000 }).catch(() => {});
  await page.waitForLoadState("networkidle");
  await cdp.detach();
  return { bytes, parts, requests };
}
const isoDate = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const results = [];

try {
  // First and repeat visit.
  const organiser = await device();
  const page = organiser.pages()[0];
  const first = await wireBytes(page, () => page.goto(url));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const repeat = await wireBytes(page, () => page.reload());
  results.push(["first visit, bytes on the wire (incl. service worker precache)", first.bytes]);
  for (const [kind, n] of Object.entries(first.parts)) results.push([`first visit, ${kind} bytes on the wire`, n]);
  results.push(["repeat visit, bytes on the wire", repeat.bytes]);
  console.error(`first visit requests:\n  ${first.requests.join("\n  ")}\nrepeat visit requests:\n  ${repeat.requests.join("\n  ")}`);

  // A territory with 500 actions, 100 of them recurring.
  await page.getByLabel("Nom du territoire").fill("Communauté de communes du Val d'Essaim");
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: "Communauté de communes du Val d'Essaim" }).waitFor();
  // The territory's own address (on this --open relay any device opens it;
  // the app itself shares only invitation links).
  const doc = page.url().match(/#\/territoire\/([^/]+)/)[1];
  const lien = `${url}/#/territoire/${doc}`;
  // Set-up, not measured: from the home screen, whose rendering does not
  // depend on the agenda (the agenda screen re-reads it on every change).
  await page.evaluate(() => (location.hash = "#/"));
  await page.evaluate(
    ({ doc, start, until }) => {
      const driver = globalThis.essaim;
      // Public, as a territory that publishes its agenda: its light feed
      // (agenda.json) is what a first visit previews.
      driver.apply(doc, { type: "modifier_profil", champs: { visibilite: "public" } });
      for (let i = 0; i < 500; i++) {
        const day = String(1 + (i % 28)).padStart(2, "0");
        const valeur =
          i % 5 === 0
            ? { titre: `Rendez-vous ${i}`, rythme: { debut: `${start}T18:30:00`, fuseau: "Europe/Paris", duree: "PT2H", regle: { freq: "WEEKLY", par_jour: ["WE"], jusqu_au: until } } }
            : i % 5 === 1
              ? { titre: `Chantier ${i}` }
              : { titre: `Atelier ${i}`, rythme: { debut: `${start.slice(0, 8)}${day}T10:00:00`, fuseau: "Europe/Paris", duree: "PT2H" } };
        // Public and published, as a territory's agenda: the feeds and the
        // first visit's preview show them.
        Object.assign(valeur, { visibilite: "public", publication: "publie" });
        driver.apply(doc, { type: "creer", collection: "actions", id: `a${i}`, valeur });
      }
    },
    { doc, start: nextWednesday(), until: isoDate(300) },
  );
  // The status bar still says "nothing pending" from before the edits
  // until their outputs are carried out: wait for that first, then for the
  // relay to have everything, so the resident's visit measures a download
  // and not the organiser's upload.
  const t_upload = Date.now();
  await page.evaluate(() => globalThis.essaim.settled());
  await page.waitForFunction(() => globalThis.essaim.status.unacknowledged === 0, null, { timeout: 300_000 });
  results.push(["500 new actions from one device until the relay has them all (ms)", Date.now() - t_upload]);

  // A resident opens it for the first time: CPU 4x slower, slow 3G-like network.
  const resident = await device();
  const rpage = resident.pages()[0];
  const cdp = await throttled(resident, rpage);
  const t0 = Date.now();
  await rpage.goto(lien);
  // Something a person can use: the territory's name and at least one of
  // its upcoming rendez-vous, whether the app or its preview shows them.
  await rpage.waitForFunction(
    (nom) => [...document.querySelectorAll("h1")].some((h) => h.textContent.includes(nom)) && /(Atelier|Rendez-vous) \d+/.test(document.body.innerText),
    "Communauté de communes du Val d'Essaim",
    { polling: 50 },
  );
  results.push(["first visit to a 500-action agenda, CPU 4x, 400 kbit/s and 400 ms: until something useful (ms)", Date.now() - t0]);
  // The whole territory: all 500 actions in the device's read model, and
  // its chantiers listed (the first 40; the rest behind « Voir … de plus »).
  await rpage.waitForFunction(
    (doc) => Object.keys(globalThis.essaim?.agenda(doc)?.actions ?? {}).length === 500 && document.querySelectorAll(".chantier").length >= 40,
    doc,
    { polling: 50, timeout: 300_000 },
  );
  results.push(["first visit to a 500-action agenda, CPU 4x, 400 kbit/s and 400 ms: until visible (ms)", Date.now() - t0]);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });

  // Someone else opens the home page for the first time, same conditions:
  // until its content (the creation form) is there.
  const visitor = await device();
  const vpage = visitor.pages()[0];
  await throttled(visitor, vpage);
  const t1 = Date.now();
  await vpage.goto(url);
  await vpage.getByRole("heading", { level: 2, name: "Créer un territoire" }).waitFor();
  results.push(["first visit to the home screen, CPU 4x, 400 kbit/s and 400 ms: until its content (ms)", Date.now() - t1]);
  await visitor.close();

  // An organiser's edit on its own screen: the agenda screen, then the
  // action's page, each 20 times; from the edit until the frame that shows
  // the new title is painted (a task after that frame's animation
  // callbacks), timed inside the page.
  for (const [ecran, hash] of [["agenda screen", `#/territoire/${doc}`], ["action page", `#/territoire/${doc}/action/a0`]]) {
    await page.evaluate((hash) => (location.hash = hash), hash);
    await page.getByText("Rendez-vous 0", { exact: false }).first().waitFor();
    const durees = [];
    for (let i = 0; i < 20; i++) {
      durees.push(
        await page.evaluate(
          ({ doc, titre }) =>
            new Promise((resolve) => {
              const t0 = performance.now();
              const vu = () => document.body.textContent.includes(titre);
              const fini = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
              const observer = new MutationObserver(() => {
                if (vu()) {
                  observer.disconnect();
                  fini();
                }
              });
              observer.observe(document.body, { childList: true, subtree: true, characterData: true });
              globalThis.essaim.apply(doc, { type: "modifier", collection: "actions", id: "a0", champs: { titre } });
            }),
          { doc, titre: `Rendez-vous 0, version ${ecran} ${i}` },
        ),
      );
    }
    durees.sort((x, y) => x - y);
    results.push([`organiser's edit on its own ${ecran}, p50 (ms)`, Math.round(durees[10])]);
    results.push([`organiser's edit on its own ${ecran}, p95 (ms)`, Math.round(durees[18])]);
  }

  // Edit on one device to the screen of another, through the relay.
  await rpage.getByRole("link", { name: "Chantier 1", exact: true }).click();
  const latencies = [];
  for (let i = 0; i < 20; i++) {
    const titre = `Chantier 1, version ${i}`;
    const sent = await page.evaluate(({ doc, titre }) => {
      globalThis.essaim.apply(doc, { type: "modifier", collection: "actions", id: "a1", champs: { titre } });
      return Date.now();
    }, { doc, titre });
    await rpage.getByRole("heading", { level: 1, name: titre }).waitFor();
    latencies.push((await rpage.evaluate(() => Date.now())) - sent);
  }
  latencies.sort((x, y) => x - y);
  results.push(["edit to another device's screen, p50 (ms)", latencies[10]]);
  results.push(["edit to another device's screen, p95 (ms)", latencies[18]]);
  await organiser.close();
  await resident.close();
} finally {
  relay.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
}
for (const [what, value] of results) console.log(`| ${what} | ${value.toLocaleString("en-US")} |`);

function nextWednesday() {
  const d = new Date();
  d.setDate(d.getDate() + ((3 - d.getDay() + 7) % 7 || 7));
  return d.toISOString().slice(0, 10);
}
