// Starts the app proper, loaded by main.tsx once the preview (if any) is
// on screen: the wasm core, IndexedDB, the driver, the screens. A separate
// chunk, so that on a first visit the preview needs only main.tsx.
//
// Does not: register the service worker or show the preview (main.tsx).

import { render } from "preact";
import init, { WasmRepo } from "./pkg/wasm_client.js";
import wasmUrl from "./pkg/wasm_client_bg.wasm?url";
import { App } from "./app";
import { Driver } from "./driver";
import { annoncerOrganisateur } from "./paresseux";
import { lireRoute } from "./route";
import { Storage } from "./storage";

/** Renders the app into `root` once the wasm and IndexedDB are ready. */
export async function demarrer(root: HTMLElement): Promise<Driver> {
  await init({ module_or_path: wasmUrl });
  const storage = await Storage.open();
  const storedId = await storage.storageId();
  const random = () => crypto.getRandomValues(new Uint8Array(16));
  const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const peer = `essaim-web-${hex(crypto.getRandomValues(new Uint8Array(8)))}`;
  const repo = new WasmRepo(peer, random(), hex(random()), storedId, random());
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const territoires = await storage.territoires();
  const invitations = territoires
    .filter((t) => t.invitation && t.role)
    .sort((a, b) => a.rejointLe - b.rejointLe)
    .map((t) => ({ doc: t.doc, token: t.invitation!, role: t.role! }));
  const driver = new Driver(repo, storage, `${scheme}://${location.host}/sync`, invitations);
  for (const t of territoires) if (t.demonstration) void driver.consulter(t.doc);
  // Organised here (invited as organiser, or created on this device), or
  // the home screen where territories are created: the organiser screens
  // are loaded and cached, for editing offline.
  const accueil = lireRoute().length === 0;
  if (accueil || territoires.some((t) => t.role === "organisateur" || (!t.invitation && !t.demonstration)))
    annoncerOrganisateur();
  root.textContent = "";
  render(<App driver={driver} />, root);
  (window as unknown as { essaim: Driver }).essaim = driver;
  return driver;
}
