// Starts the app: the wasm core, IndexedDB, the driver, the screens, and
// the service worker that makes the next visit work offline.

import { render } from "preact";
import init, { WasmRepo } from "./pkg/wasm_client.js";
import wasmUrl from "./pkg/wasm_client_bg.wasm?url";
import { App } from "./app";
import { Driver } from "./driver";
import { Storage } from "./storage";
import "./style.css";

async function start(): Promise<void> {
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
  const root = document.getElementById("app")!;
  root.textContent = "";
  render(<App driver={driver} />, root);
  (window as unknown as { essaim: Driver }).essaim = driver;
}

start().catch((error) => {
  document.getElementById("app")!.innerHTML =
    '<p role="alert">Essaim n\'a pas pu démarrer sur cet appareil : son stockage local est peut-être indisponible (navigation privée ?).</p>';
  console.error(error);
});

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js").catch((error) => console.error("service worker", error));
}
