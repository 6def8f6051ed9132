// The entry point, kept small so that a first visit on a weak network
// shows something within seconds:
// 1. on a first visit to a territory's link (no service worker yet), a
//    preview of its next rendez-vous from the relay's light feed
//    (apercu.tsx), fetched before anything heavy;
// 2. then the app proper (demarrage.tsx: the wasm core, storage, driver,
//    screens), a separate chunk, whose download starts once the preview
//    is on screen so the two do not share the link;
// 3. the preview stays until the app shows the territory (or the person
//    goes elsewhere);
// 4. the service worker, registered once the app runs, so its precache
//    does not compete with the first paint either; its updates and the
//    browser's install offer are shown by ecrans/avis-application.tsx.

import { render } from "preact";
import { type Apercu, chargerApercu, VueApercu } from "./apercu";
import { AvisApplication, ecouterInstallation } from "./ecrans/avis-application";
import { lireRoute } from "./route";
import "./style.css";

ecouterInstallation();

/** Waits at most this long for the preview before loading the app anyway. */
const ATTENTE_APERCU = 4_000;

/** The preview, if this is a first visit to a territory's link. */
async function apercu(): Promise<{ doc: string; element: HTMLElement } | undefined> {
  const r = lireRoute();
  const premiereVisite = !("serviceWorker" in navigator) || navigator.serviceWorker.controller === null;
  if (!premiereVisite || r[0] !== "territoire" || !r[1]) return undefined;
  const doc = r[1];
  const token = r[2] === "invitation" ? r[4] : undefined;
  const delai = new Promise<undefined>((resolve) => setTimeout(resolve, ATTENTE_APERCU));
  const donnees: Apercu | undefined = await Promise.race([chargerApercu(doc, token), delai]);
  if (!donnees) return undefined;
  const element = document.createElement("div");
  document.getElementById("app")!.after(element);
  render(<VueApercu apercu={donnees} />, element);
  return { doc, element };
}

/** Removes the preview once the app shows `doc`, or another screen. */
function retirerApercu(driver: import("./driver").Driver, doc: string, element: HTMLElement): void {
  let fait = false;
  const fin = () => {
    if (fait || (lireRoute()[1] === doc && !(driver.hasDocument(doc) && driver.agenda(doc)))) return;
    fait = true;
    render(null, element);
    element.remove();
    arreter();
    window.removeEventListener("hashchange", fin);
  };
  const arreter = driver.subscribe(fin);
  window.addEventListener("hashchange", fin);
  fin();
}

async function start(): Promise<void> {
  const vue = await apercu();
  const { demarrer } = await import("./demarrage");
  const driver = await demarrer(document.getElementById("app")!);
  if (vue) retirerApercu(driver, vue.doc, vue.element);
}

const avis = document.createElement("div");
document.body.append(avis);
render(<AvisApplication />, avis);

start()
  .catch((error) => {
    document.getElementById("app")!.innerHTML =
      '<p role="alert">Essaim n\'a pas pu démarrer sur cet appareil : son stockage local est peut-être indisponible (navigation privée ?).</p>';
    console.error(error);
  })
  .finally(() => {
    if ("serviceWorker" in navigator && import.meta.env.PROD) {
      navigator.serviceWorker.register("/sw.js").catch((error) => console.error("service worker", error));
    }
  });
