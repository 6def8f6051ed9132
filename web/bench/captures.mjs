// Screenshots of every screen of the app, 390 px wide, in light and dark
// modes, with the demonstration territories of `essaim demo` (a picture,
// not a test): docs/screenshots/<écran>-<clair|sombre>.png. The relay
// runs on a fresh data directory, removed at the end; Chromium is the
// tests' (CHROMIUM, else /usr/bin/chromium).
//
//   node web/bench/captures.mjs      (after scripts/build-web.sh and
//                                     cargo build -p server --bin essaim;
//                                     ESSAIM_BIN=… for another binary)

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const ROOT = new URL("../..", import.meta.url).pathname;
const ESSAIM = process.env.ESSAIM_BIN ?? join(ROOT, "target/debug/essaim");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "docs/screenshots");
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const data = mkdtempSync(join(tmpdir(), "essaim-captures-"));
const profile = mkdtempSync(join(tmpdir(), "essaim-captures-profil-"));
const sortie = execFileSync(ESSAIM, ["demo", "--data", data], { encoding: "utf8" });
const [, doc, nom] = sortie.match(/^territoire: (\S+)\t(.+)$/m);
const lien = (role) => sortie.match(new RegExp(`^lien ${role}: \\S*?(#/territoire/${doc}/invitation/\\S+)$`, "m"))[1];

const relay = spawn(ESSAIM, ["serve", "--listen", "127.0.0.1:0", "--data", data, "--web", join(ROOT, "web/dist")], {
  env: { ...process.env, NO_COLOR: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve, reject) => {
  let buffer = "";
  relay.stdout.on("data", (chunk) => {
    buffer += chunk;
    const match = buffer.match(/address=(\S+)/);
    if (match) resolve(`http://${match[1]}`);
  });
  relay.on("exit", (code) => reject(new Error(`the relay exited with ${code}`)));
});

const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  locale: "fr-FR",
  timezoneId: "Europe/Paris",
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  args: ARGS,
});
context.setDefaultTimeout(60_000);
const page = context.pages()[0] ?? (await context.newPage());
mkdirSync(SHOTS, { recursive: true });
const prises = [];

/** Both modes of the screen as a phone shows it on opening (390 × 844): a whole long agenda would weigh megabytes. */
async function capturer(ecran) {
  for (const [mode, nomMode] of [
    ["light", "clair"],
    ["dark", "sombre"],
  ]) {
    await page.emulateMedia({ colorScheme: mode });
    await page.evaluate(() => window.scrollTo(0, 0));
    const fichier = join(SHOTS, `${ecran}-${nomMode}.png`);
    await page.screenshot({ path: fichier });
    prises.push(fichier);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

try {
  await page.goto(url);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.getByRole("heading", { level: 1, name: "Vos territoires" }).waitFor();
  await capturer("accueil");
  await page.getByRole("button", { name: "Découvrir un territoire de démonstration" }).click();
  await page.getByRole("region", { name: "Découvrir Essaim" }).getByRole("button").first().waitFor();
  await capturer("demonstrations");

  // An organiser of the first demonstration territory, from its link.
  await page.goto(`${url}/${lien("organisateurs")}`);
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  await page.getByTestId("etat-sync").filter({ hasText: "Synchronisé" }).waitFor();
  await capturer("agenda");
  const action = page.locator(`main a[href^="#/territoire/${doc}/action/"]`).first();
  const titre = (await action.innerText()).trim();
  await action.click();
  await page.getByRole("heading", { level: 1, name: titre }).waitFor();
  await capturer("action");
  await page.goto(`${url}/#/territoire/${doc}/nouvelle-action`);
  await page.getByRole("heading", { level: 1 }).waitFor();
  await capturer("nouvelle-action");
  await page.goto(`${url}/#/territoire/${doc}/inviter`);
  await page.getByTestId("liste-invitations").waitFor();
  await capturer("invitations");
  await page.getByTestId("nav-territoire").click();
  await page.getByRole("heading", { level: 2, name: "Feuille de route" }).waitFor();
  await capturer("territoire");
  for (const [ecran, attente] of [
    ["acteurs", "quatre-fantastiques"],
    ["decisions", "decision"],
    ["gouvernance", "instance"],
  ]) {
    await page.goto(`${url}/#/territoire/${doc}/${ecran}`);
    await page.getByTestId(attente).first().waitFor();
    await capturer(ecran);
  }
  await page.goto(`${url}/#/t/${doc}/fiches`);
  await page.getByTestId("etat-fiche").nth(1).waitFor();
  await capturer("fiches");
  await page.getByTestId("fiche").first().getByRole("link").first().click();
  await page.getByTestId("fiche-editeur").waitFor();
  await capturer("fiche");
  await page.getByTestId("nav-decouvrir").click();
  await page.getByTestId("carte-departements").waitFor();
  await capturer("decouvrir");
  await page.getByTestId("nav-moi").click();
  await page.getByTestId("mon-territoire").first().waitFor();
  await capturer("moi");
  await page.goto(`${url}/${lien("habitants")}`);
  await page.getByRole("dialog").waitFor();
  await capturer("rejoindre");
  console.log(prises.map((f) => f.replace(`${ROOT}`, "")).join("\n"));
} finally {
  await context.close();
  relay.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
