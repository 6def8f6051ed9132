// Essaimage in the app (issue 16), on a real relay in Chromium: an
// organiser of territory B opens territory A's public repair café, goes
// offline, takes it up into B from a start date, and sees the draft with
// the same French rhythm and « Inspiré de »; back online, publishes it,
// and B's calendar carries it under B's own UID; when A's action changes,
// the copy says so.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, createAction, createTerritory, dateFr, device, freshRelay, openApp, until, waitSynced } from "./support.mjs";

/** The rule part of the page's rhythm sentence (before its first comma). */
async function regle(page) {
  const texte = await page.getByTestId("phrase-rythme").innerText();
  return texte.replace(/^Quand\s*/, "").split(",")[0].trim();
}

/** Publishes the repair café from its page (« Modifier », « Publiée »). */
async function publier(page) {
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByLabel("Publication").selectOption({ label: "Publiée" });
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
}

/**
 * Confirms « Reprendre dans… » (territory and date chosen) and checks the
 * draft in `b`: « Inspiré de », a draft, the source's French rule. Its id.
 */
async function reprendreEnBrouillon(page, reprendre, b, regleSource) {
  await reprendre.getByRole("button", { name: "Reprendre ce rendez-vous" }).click();
  await page.waitForURL(new RegExp(`#/territoire/${b}/action/[^/]+$`));
  const copie = page.url().match(/\/action\/([^/]+)$/)[1];
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await page.getByTestId("inspire-de").filter({ hasText: "Val d'Essaim – Repair café" }).waitFor();
  await page.getByTestId("publication").filter({ hasText: "Brouillon" }).waitFor();
  assert.equal(await regle(page), regleSource, "the same French rule");
  return copie;
}

test("an organiser takes up another territory's public action offline, as a draft saying where it comes from, then publishes it", async () => {
  const { relay } = await freshRelay();
  const context = await device();
  const page = await openApp(context, relay.url);

  // Territory A and its public, published repair café.
  const lienA = await createTerritory(page, "Val d'Essaim");
  const a = lienA.split("/").pop();
  await createAction(page, { titre: "Repair café", rythme: "hebdo" });
  await page.getByRole("link", { name: "Repair café" }).first().click();
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  const pageSource = page.url();
  await publier(page);
  const regleSource = await regle(page);

  // Territory B, organised here too, public so that its calendar is served.
  await page.goto(`${relay.url}/#/`);
  const lienB = await createTerritory(page, "Saint-Paul en transition");
  const b = lienB.split("/").pop();
  await page.evaluate((b) => globalThis.essaim.apply(b, { type: "modifier_profil", champs: { visibilite: "public" } }), b);
  await waitSynced(page);

  // Offline, on A's action: « Reprendre dans… » B from a date.
  await page.goto(pageSource);
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await context.setOffline(true);
  const reprendre = page.getByTestId("reprendre");
  await reprendre.getByRole("button", { name: "Reprendre dans…" }).click();
  await reprendre.getByLabel("Territoire").selectOption({ label: "Saint-Paul en transition" });
  await reprendre.getByLabel("À partir du").fill(dateFr(10));
  await checkAxe(page, "reprendre dans…");
  const copie = await reprendreEnBrouillon(page, reprendre, b, regleSource);
  assert.equal(await page.getByTestId("lieu").count(), 0, "no place taken up");

  // Back online: B's organiser publishes the draft; B's calendar has it.
  await context.setOffline(false);
  await publier(page);
  await waitSynced(page);
  const uid = `UID:action-${copie}@${b}`;
  const ics = await until(`${uid} in B's calendar`, async () => {
    const reponse = await fetch(`${relay.url}/t/${b}/agenda.ics`);
    const texte = reponse.ok ? await reponse.text() : "";
    return texte.includes(uid) ? texte : undefined;
  });
  assert.ok(!ics.includes(`@${a}`), "the copy is B's own, not A's");
  assert.equal(await page.getByTestId("source-changee").count(), 0, "the source has not changed");

  // A's organiser changes the source: the copy says so.
  const pageCopie = page.url();
  await page.goto(pageSource);
  await page.getByRole("link", { name: "Modifier", exact: true }).click();
  await page.getByLabel("En bref").fill("On répare ensemble, outils fournis.");
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await page.goto(pageCopie);
  await page.getByTestId("source-changee").filter({ hasText: "l'action d'origine a changé depuis" }).waitFor();
});

test("an organiser of B takes up A's public repair café from its public page, offline, on a device that never held A", async () => {
  const { relay } = await freshRelay();
  // A's organiser, on a device of their own: a public territory and its
  // public, published weekly repair café.
  const deviceA = await device();
  const pageA = await openApp(deviceA, relay.url);
  const a = (await createTerritory(pageA, "Val d'Essaim")).split("/").pop();
  await pageA.evaluate((a) => globalThis.essaim.apply(a, { type: "modifier_profil", champs: { visibilite: "public" } }), a);
  await createAction(pageA, { titre: "Repair café", rythme: "hebdo" });
  await pageA.getByRole("link", { name: "Repair café" }).first().click();
  await pageA.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  const action = pageA.url().match(/\/action\/([^/]+)$/)[1];
  await publier(pageA);
  const regleSource = await regle(pageA);
  await waitSynced(pageA);

  // B's organiser, on another device, creates B, then opens A's public
  // page for the repair café (the relay's HTML, no script).
  const deviceB = await device();
  const page = await openApp(deviceB, relay.url);
  const b = (await createTerritory(page, "Saint-Paul en transition")).split("/").pop();
  await page.evaluate((b) => globalThis.essaim.apply(b, { type: "modifier_profil", champs: { visibilite: "public" } }), b);
  await waitSynced(page);
  await page.goto(`${relay.url}/t/${a}/actions/${action}/`);
  await page.getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await checkAxe(page, "page publique d'une action");
  await page.getByRole("link", { name: "Reprendre dans un de mes territoires" }).click();

  // The app shows the action from the relay, and keeps it: offline, after
  // a reload, it is still there to take up.
  await page.getByTestId("action-publique").getByRole("heading", { level: 1, name: "Repair café" }).waitFor();
  await deviceB.setOffline(true);
  await page.reload();
  await page.getByTestId("action-publique").getByRole("status").filter({ hasText: /Hors ligne/ }).waitFor();
  await checkAxe(page, "action d'un autre territoire, hors ligne");
  const reprendre = page.getByTestId("reprendre");
  await reprendre.getByRole("button", { name: "Reprendre dans…" }).click();
  await reprendre.getByLabel("Territoire").selectOption({ label: "Saint-Paul en transition" });
  await reprendre.getByLabel("À partir du").fill(dateFr(10));
  const copie = await reprendreEnBrouillon(page, reprendre, b, regleSource);

  // Online again: published, in B's calendar under B's UID; A's page says
  // « Repris par 1 territoire ».
  await deviceB.setOffline(false);
  await publier(page);
  await waitSynced(page);
  const uid = `UID:action-${copie}@${b}`;
  await until(`${uid} in B's calendar`, async () => {
    const reponse = await fetch(`${relay.url}/t/${b}/agenda.ics`);
    return reponse.ok && (await reponse.text()).includes(uid);
  });
  const repris = await until("« Repris par 1 territoire » on A's action page", async () => {
    const texte = await (await fetch(`${relay.url}/t/${a}/actions/${action}/`)).text();
    return /Repris par 1\u00a0territoire \(Saint-Paul en transition\)/.test(texte) || undefined;
  });
  assert.ok(repris);
});
