// « Découvrir » (issue 16), on a real relay in Chromium: the public
// territories of the relay (its demonstrations and a public one, never a
// private one) with their départements and upcoming rendez-vous, narrowed
// by an entry door or a département, still listed offline after a reload,
// a demonstration opening in the app.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, device, openApp, startRelay } from "./support.mjs";

test("Découvrir lists the relay's public territories, filters them, and works offline after one visit", async () => {
  const { data, essaim } = dataDirectory();
  const demos = [...essaim("demo").matchAll(/^territoire: (\S+)\t(.+)$/gm)].map((m) => m[2].trim());
  essaim("territory", "create", "--name", "QUARTIER-PRIVE");
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);

  await page.getByTestId("nav-decouvrir").click();
  await page.getByRole("heading", { level: 1, name: "Découvrir" }).waitFor();
  const cartes = page.getByTestId("territoire-public");
  await cartes.first().waitFor();
  const noms = await cartes.getByRole("heading", { level: 3 }).allInnerTexts();
  assert.deepEqual([...noms].sort(), [...demos].sort(), "the public territories, and only them");
  const premiere = await cartes.first().innerText();
  assert.match(premiere, /\d+\u00a0rendez-vous dans les 30 prochains jours/);
  assert.match(premiere, /Territoire de démonstration/);
  await checkAxe(page, "découvrir");

  // A département keeps its territories only.
  const options = await page.locator("#decouvrir-departement option").evaluateAll((o) => o.map((x) => x.value).filter(Boolean));
  assert.ok(options.length >= 2, `départements: ${options}`);
  await page.locator("#decouvrir-departement").selectOption(options[0]);
  await page.getByRole("heading", { level: 2, name: /^1\s+territoire$/ }).waitFor();
  await page.locator("#decouvrir-departement").selectOption("");
  await page.locator("#decouvrir-theme").selectOption("numerique_communs");
  await page.getByRole("heading", { level: 2, name: /^0\s+territoire$/ }).waitFor();
  await page.locator("#decouvrir-theme").selectOption("");

  // Offline, after a reload: the list kept, said to be from today.
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId("annuaire-hors-ligne").filter({ hasText: /Hors ligne\s+: la liste du/ }).waitFor();
  assert.equal(await cartes.count(), demos.length);

  // A demonstration opens in the app, read-only.
  await context.setOffline(false);
  await cartes.first().getByRole("button", { name: "Ouvrir son agenda" }).click();
  await page.getByRole("heading", { level: 1, name: noms[0] }).waitFor();
  await page.getByTestId("lecture-seule").waitFor();
});
