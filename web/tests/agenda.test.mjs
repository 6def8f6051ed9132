// The agenda screen (issue 15) on a demonstration territory served by the
// real relay: day headers with date badges, cancelled and moved-online
// occurrences in words, chantiers' progress as in the model, the week/month switch kept
// after a reload, the month grid listing a tapped day, the theme filter in
// the URL with both views, the chantiers section, and "Ajouter à mon
// calendrier" whose feed and one-event calendar are fetched and parsed.
// Every wait is a condition with a timeout; nothing sleeps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAxe, dataDirectory, device, openApp, startRelay } from "./support.mjs";

/** Minimal iCalendar check: the envelope, at least one event with a start. */
function parseIcs(texte) {
  const lignes = texte.replace(/\r\n[ \t]/g, "").split("\r\n");
  assert.equal(lignes[0], "BEGIN:VCALENDAR", texte.slice(0, 200));
  assert.ok(lignes.includes("END:VCALENDAR"));
  const evenements = lignes.filter((l) => l === "BEGIN:VEVENT").length;
  assert.ok(evenements > 0, "at least one VEVENT");
  assert.ok(lignes.some((l) => /^DTSTART[;:]/.test(l)), "a DTSTART");
  return evenements;
}

test("agenda: day headers, week/month remembered, month grid, theme in URL, chantiers, calendars", async () => {
  const { data, essaim } = dataDirectory();
  essaim("demo");
  const relay = await startRelay(data, 0, { open: false });
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByRole("button", { name: "Découvrir un territoire de démonstration" }).click();
  const choix = page.getByRole("region", { name: "Découvrir Essaim" }).getByRole("listitem").getByRole("button");
  await choix.first().click();
  await page.locator(".journee .badge-date").first().waitFor();
  const doc = page.url().match(/#\/territoire\/([^/]+)/)[1];

  // Day headers with a date badge, and the calendar sections.
  const jour = await page.locator(".journee h3.jour").first().innerText();
  assert.match(jour, /\d/, jour);
  await page.getByRole("heading", { level: 2, name: "Chantiers" }).waitFor();
  await checkAxe(page, "agenda, semaine");

  // Cancelled and moved occurrences say so, never by colour alone: the
  // demonstration cancels one basket distribution and moves the next
  // workshop online.
  const annulee = page.locator(".rdv.annule").first();
  await annulee.waitFor();
  assert.match(await annulee.innerText(), /annulé/);
  assert.equal(await annulee.locator(".rdv-heure s").count(), 1, "the cancelled time is struck through");
  await page.locator(".rdv").filter({ hasText: "déplacé en ligne" }).first().waitFor();

  // Chantiers show the model's state and progress, as a bar and in words.
  const chantiers = await page.locator(".chantier").evaluateAll((lis) =>
    lis.map((li) => [li.querySelector(".rdv-titre").textContent, li.querySelector("progress").value, li.querySelector(".avancement span").textContent]),
  );
  const modele = await page.evaluate((doc) => Object.values(globalThis.essaim.agenda(doc).actions).map((a) => [a.titre, a.avancement]), doc);
  assert.ok(chantiers.length >= 3, JSON.stringify(chantiers));
  for (const [titre, valeur, texte] of chantiers) {
    const attendu = modele.find(([t]) => t === titre)?.[1];
    assert.equal(valeur, attendu, titre);
    assert.equal(texte, `${attendu}\u00a0%`, titre);
  }
  assert.ok(chantiers.some(([, v]) => v > 0 && v < 100), "a chantier under way");

  // Month view, remembered after a reload.
  await page.getByRole("button", { name: "Mois", exact: false, pressed: false }).filter({ hasText: "Mois" }).click();
  await page.getByTestId("grille-mois").waitFor();
  await page.reload();
  await page.getByTestId("grille-mois").waitFor();
  // Tapping a day with rendez-vous lists it below.
  const avec = page.getByTestId("grille-mois").getByRole("button", { name: /, \d+ rendez-vous$/ });
  await avec.first().waitFor();
  const nomJour = await avec.first().getAttribute("aria-label");
  await avec.first().click();
  const n = Number(nomJour.match(/, (\d+) rendez-vous$/)[1]);
  await page.locator("#jour-choisi").filter({ hasText: `${n} rendez-vous` }).waitFor();
  assert.equal(await page.getByRole("region", { name: /rendez-vous/ }).locator(".rdv").count(), n);
  await checkAxe(page, "agenda, mois");

  // The theme filter lives in the URL, in the month view too.
  const options = await page.locator("#filtre-theme option").evaluateAll((o) => o.map((x) => x.value).filter(Boolean));
  await page.locator("#filtre-theme").selectOption(options[0]);
  await page.waitForURL(new RegExp(`#/territoire/${doc}/theme/${options[0]}$`));
  await page.getByTestId("grille-mois").waitFor();

  // Subscribe: webcal link and the https address, whose feed parses.
  await page.getByText("Ajouter à mon calendrier").click();
  const webcal = await page.getByRole("link", { name: "S'abonner à l'agenda" }).getAttribute("href");
  assert.ok(webcal.startsWith("webcal://"), webcal);
  const https = await page.locator("#adresse-agenda").inputValue();
  assert.equal(https, `${relay.url}/t/${doc}/agenda.ics`);
  const feed = await fetch(https);
  assert.equal(feed.status, 200);
  parseIcs(await feed.text());

  // The one-event calendar of a listed occurrence.
  await page.locator("#filtre-theme").selectOption("");
  await page.getByRole("button", { name: "Semaine" }).click();
  const ajout = page.locator("a.rdv-ajout").first();
  await ajout.waitFor();
  const une = await fetch(await ajout.getAttribute("href"));
  assert.equal(une.status, 200);
  assert.equal(parseIcs(await une.text()), 1);
});

test("agenda: a busy territory shows 40 rendez-vous and 40 chantiers a list, the rest on demand", async () => {
  const { data } = dataDirectory();
  const relay = await startRelay(data);
  const context = await device();
  const page = await openApp(context, relay.url);
  await page.getByLabel("Nom du territoire").fill("Quartier affairé");
  await page.getByRole("button", { name: "Créer le territoire" }).click();
  await page.getByRole("heading", { level: 1, name: "Quartier affairé" }).waitFor();
  const doc = page.url().match(/#\/territoire\/([^/]+)/)[1];
  // 45 rendez-vous today at noon and 43 chantiers, as an organiser writes them.
  await page.evaluate((doc) => {
    const d = new Date();
    const jour = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    for (let i = 0; i < 45; i++) {
      const rythme = { debut: `${jour}T12:00:00`, fuseau: "Europe/Paris", duree: "PT1H" };
      globalThis.essaim.apply(doc, { type: "creer", collection: "actions", id: `r${i}`, valeur: { titre: `Permanence ${i}`, rythme } });
    }
    for (let i = 0; i < 43; i++) {
      globalThis.essaim.apply(doc, { type: "creer", collection: "actions", id: `c${i}`, valeur: { titre: `Chantier ${i}` } });
    }
  }, doc);
  const aujourdhui = page.getByRole("region", { name: "Aujourd'hui" });
  await aujourdhui.getByRole("button", { name: "Voir 5 rendez-vous de plus" }).waitFor();
  assert.equal(await aujourdhui.locator(".rdv").count(), 40);
  await checkAxe(page, "agenda, liste coupée");
  await aujourdhui.getByRole("button", { name: "Voir 5 rendez-vous de plus" }).click();
  await aujourdhui.locator(".rdv").nth(44).waitFor();
  assert.equal(await aujourdhui.locator(".rdv").count(), 45);
  // Focus moves to the first rendez-vous revealed, where reading goes on.
  await page.waitForFunction(() => document.activeElement === document.querySelectorAll("[data-liste] .rdv-titre")[40]);
  assert.equal(await aujourdhui.getByRole("button", { name: /de plus/ }).count(), 0);

  assert.equal(await page.locator(".chantier").count(), 40);
  await page.getByRole("button", { name: "Voir 3 chantiers de plus" }).click();
  await page.locator(".chantier").nth(42).waitFor();
  await page.waitForFunction(() => document.activeElement === document.querySelectorAll(".chantier .rdv-titre")[40]);
  assert.equal(await page.locator(".chantier").count(), 43);
});
