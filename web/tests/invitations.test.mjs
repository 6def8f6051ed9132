// Invitations in the app, and one device in many territories (issue 14):
// an organiser creates, shares, lists and revokes links from the "Inviter"
// screen on a relay that takes only invitations; and, on an open relay, a
// device that created a territory, joined another by invitation and had
// that invitation revoked keeps syncing both (problem 2), its last
// synchronisation still shown after a reload (problem 5).
// Run after ./scripts/build-web.sh and `cargo build -p server --bin essaim`.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkAxe,
  createAction,
  createTerritory,
  dataDirectory,
  device,
  openApp,
  startRelay,
  waitSynced,
} from "./support.mjs";

/** `essaim territory create`'s output: the document and its two links, on `relay`. */
function created(essaim, relay, ...args) {
  const texte = essaim("territory", "create", ...args);
  const lien = (qui) => texte.match(new RegExp(`^lien ${qui}: (\\S+)$`, "m"))[1].replace("http://127.0.0.1:3030", relay.url);
  return { doc: texte.match(/^territoire: (\S+)$/m)[1], organisateur: lien("organisateurs"), habitant: lien("habitants") };
}

/** The id of the invitation of `doc` with `role` (`organiser` or `resident`), from `essaim invites`. */
function invitationId(essaim, doc, role) {
  return essaim("invites", "--territory", doc)
    .split("\n")
    .find((l) => l.includes(role))
    .split("\t")[0];
}

test("an organiser creates a resident link in the app, shares it, lists it and revokes it", async () => {
  const { data, essaim } = dataDirectory();
  const relay = await startRelay(data, 0, { open: false });
  const plesse = created(essaim, relay, "--name", "Commune de Plessé", "--kind", "commune", "--insee", "44128");

  const organiser = await device();
  const orga = await openApp(organiser, plesse.organisateur);
  await orga.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await createAction(orga, { titre: "Marché de producteurs", rythme: "hebdo" });
  await waitSynced(orga);

  // The territory screen shares no bare link any more: « Inviter » does.
  assert.equal(await orga.getByTestId("lien-territoire").count(), 0);
  await orga.getByRole("link", { name: "Inviter" }).click();
  await orga.getByRole("heading", { level: 1, name: "Inviter à «\u00a0Commune de Plessé\u00a0»" }).waitFor();
  await orga.getByLabel("Rôle").selectOption("habitant");
  await orga.getByLabel("Libellé (facultatif)").fill("Conseil municipal");
  await orga.getByLabel("Valable pendant (jours, facultatif)").fill("30");
  await orga.getByRole("button", { name: "Créer le lien" }).click();
  const lien = await orga.getByTestId("lien-invitation").inputValue();
  assert.match(lien, new RegExp(`^${relay.url}/#/territoire/${plesse.doc}/invitation/habitant/[0-9a-f]{16}\\.[0-9a-f]{32}$`));

  // Copied, with a visible confirmation; shown as a QR code with a text alternative.
  await organiser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: relay.url });
  await orga.getByRole("button", { name: "Copier le lien" }).click();
  await orga.getByTestId("copie").filter({ hasText: "Lien copié." }).waitFor();
  assert.equal(await orga.evaluate(() => navigator.clipboard.readText()), lien);
  await orga.getByRole("button", { name: "Afficher le QR code" }).click();
  await orga.getByRole("img", { name: "QR code du lien d'invitation d'habitant" }).waitFor();
  await checkAxe(orga, "inviter");

  // The listed invitations: the CLI's two, and this one.
  const ligne = orga.getByTestId("invitation").filter({ hasText: "Conseil municipal" });
  await ligne.getByTestId("etat-invitation").filter({ hasText: "valide" }).waitFor();
  assert.equal(await orga.getByTestId("invitation").count(), 3);

  // A second browser opens it and reads the agenda, with no edit control.
  const res = await openApp(await device(), lien);
  await res.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  await res.getByRole("link", { name: "Marché de producteurs" }).first().waitFor();
  await res.getByTestId("lecture-seule").waitFor();
  assert.equal(await res.getByRole("link", { name: "Nouvelle action" }).count(), 0);
  assert.equal(await res.getByRole("link", { name: "Inviter" }).count(), 0);

  // Revoked after a confirmation: the list says so, and so does the resident's app, naming the territory.
  await ligne.getByRole("button", { name: "Révoquer le lien «\u00a0Conseil municipal\u00a0»" }).click();
  await ligne.getByRole("button", { name: "Confirmer la révocation" }).click();
  await ligne.getByTestId("etat-invitation").filter({ hasText: "révoquée" }).waitFor();
  await res
    .getByTestId("invitation-refusee")
    .filter({ hasText: "Votre invitation à «\u00a0Commune de Plessé\u00a0» a été révoquée." })
    .waitFor({ timeout: 30_000 });
  // With no invitation left, the relay refuses the device: it says why.
  await res
    .getByTestId("invitation-refusee")
    .filter({ hasText: "Ce relais n'accepte que les invitations" })
    .waitFor({ timeout: 30_000 });
  await relay.stop();
});

// See: issue 14, problems 2 and 5.
test("r14_2: a device that created a territory, joined another and lost that invitation keeps syncing both", async () => {
  const { data, essaim } = dataDirectory();
  const relay = await startRelay(data, 0, { open: true });
  const plesse = created(essaim, relay, "--name", "Commune de Plessé", "--kind", "commune");

  const appareil = await device();
  const a = await openApp(appareil, relay.url);
  const bourg = await createTerritory(a, "Bourg-sur-Loire");
  await waitSynced(a);

  // Joined by invitation: the socket now carries a token.
  await a.goto(plesse.organisateur);
  await a.getByRole("heading", { level: 1, name: "Commune de Plessé" }).waitFor();
  const autre = await openApp(await device(), bourg);
  await autre.getByRole("heading", { level: 1, name: "Bourg-sur-Loire" }).waitFor();
  await a.goto(bourg);
  await createAction(a, { titre: "Repair café" });
  await waitSynced(a);
  await autre.getByRole("link", { name: "Repair café" }).first().waitFor();

  // The invitation revoked: the app names the territory, and both territories still sync.
  essaim("revoke", invitationId(essaim, plesse.doc, "organiser"));
  await a
    .getByTestId("invitation-refusee")
    .filter({ hasText: "Votre invitation à «\u00a0Commune de Plessé\u00a0» a été révoquée." })
    .waitFor({ timeout: 30_000 });
  await createAction(a, { titre: "Atelier vélo" });
  await a.goto(`${relay.url}/#/territoire/${plesse.doc}`);
  await createAction(a, { titre: "Fête de quartier" });
  await waitSynced(a);
  await autre.getByRole("link", { name: "Atelier vélo" }).first().waitFor();
  await autre.goto(`${relay.url}/#/territoire/${plesse.doc}`);
  await autre.getByRole("link", { name: "Fête de quartier" }).first().waitFor();

  // The last synchronisation survives a reload, offline too.
  await a.locator(".statut").getByText(/synchronisé à \d{1,2}\sh/).waitFor();
  await appareil.setOffline(true);
  await a.reload();
  await a.getByText("Hors ligne").waitFor();
  await a.locator(".statut").getByText(/synchronisé à \d{1,2}\sh/).waitFor();
  assert.equal(await a.locator(".statut").getByText("jamais synchronisé").count(), 0);
  await relay.stop();
});
