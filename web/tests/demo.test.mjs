// The first run (issue 14): on a relay without `--open` whose data
// directory was seeded with `essaim demo`, a device with no territory
// opens a demonstration territory from the home screen, without any
// invitation, reads today's or this week's rendez-vous, cannot edit, and
// still reads them offline after a reload.
//
// Run by scripts/test.sh after scripts/build-web.sh and the relay's build.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, device, openApp, startRelay, waitNameStored } from "./support.mjs";

/** The rendez-vous listed today and this week. */
async function prochains(page) {
  const items = (titre) => page.getByRole("region", { name: titre }).getByRole("listitem");
  await items("Aujourd'hui").or(items("Cette semaine")).first().waitFor();
  return (await items("Aujourd'hui").count()) + (await items("Cette semaine").count());
}

test("the home screen opens a demonstration territory, read-only, alive today, also offline", async () => {
  const { data, essaim } = dataDirectory();
  const seeded = essaim("demo");
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);

  await page.getByRole("button", { name: "Découvrir un territoire de démonstration" }).click();
  const choix = page.getByRole("region", { name: "Découvrir Essaim" }).getByRole("listitem").getByRole("button");
  await choix.first().waitFor();
  assert.equal(await choix.count(), 3, "the three territories essaim demo made");
  await checkAxe(page, "accueil, démonstrations");
  const nom = await choix.first().innerText();
  await choix.first().click();
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  const doc = page.url().match(/#\/territoire\/([^/]+)/)[1];
  assert.ok(seeded.includes(`territoire: ${doc}\t${nom}`), `${doc} ${nom} not in:\n${seeded}`);
  assert.ok((await prochains(page)) > 0, "rendez-vous today or this week");
  await page.getByTestId("lecture-seule").waitFor();
  assert.equal(await page.getByRole("link", { name: "Nouvelle action" }).count(), 0, "no edit control");
  await checkAxe(page, "territoire de démonstration");
  await waitNameStored(page, doc);

  // Offline, after a reload: still there, still read-only.
  await context.setOffline(true);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: nom }).waitFor();
  assert.ok((await prochains(page)) > 0, "rendez-vous today or this week, offline");
  await page.getByTestId("lecture-seule").waitFor();
  // The home screen lists it among the territories of the device.
  await page.getByRole("link", { name: "Essaim" }).click();
  await page.getByRole("link", { name: nom }).waitFor();
});
