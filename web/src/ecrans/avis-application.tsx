// Two notices about the app itself, at the bottom of every screen:
// - "Nouvelle version disponible — recharger", when a new service worker
//   took over this page (the worker activates at once, see
//   web/sw-template.js; the page still runs the old code until reloaded);
// - "Installer Essaim sur l'écran d'accueil", when the browser offers to
//   install the app (`beforeinstallprompt`, Chromium), until installed or
//   declined ("Plus tard" is remembered on this device).
//
// Does not: update or install anything by itself; the person decides.

import { useEffect, useState } from "preact/hooks";
import { Icone } from "../icones";

/** Chromium's install offer (not in TypeScript's DOM types). */
interface OffreInstallation extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: "accepted" | "dismissed" }>;
}

const REFUSEE = "essaim-installation-plus-tard";

let offre: OffreInstallation | undefined;
const abonnes = new Set<() => void>();
const prevenir = () => abonnes.forEach((f) => f());

/** Keeps the browser's install offer for later: call at start, the event
 * may come before the first render. */
export function ecouterInstallation(): void {
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    offre = event as OffreInstallation;
    prevenir();
  });
  window.addEventListener("appinstalled", () => {
    offre = undefined;
    prevenir();
  });
}

function plusTard(): boolean {
  try {
    return localStorage.getItem(REFUSEE) !== null;
  } catch {
    return false;
  }
}

export function AvisApplication() {
  const [, setVersion] = useState(0);
  const [miseAJour, setMiseAJour] = useState(false);
  const [refusee, setRefusee] = useState(plusTard);
  useEffect(() => {
    const f = () => setVersion((v) => v + 1);
    abonnes.add(f);
    return () => void abonnes.delete(f);
  }, []);
  useEffect(() => {
    if (!("serviceWorker" in navigator)) return;
    // A first install also takes over the page: not a new version.
    let controleur = navigator.serviceWorker.controller;
    const change = () => {
      if (controleur) setMiseAJour(true);
      controleur = navigator.serviceWorker.controller;
    };
    navigator.serviceWorker.addEventListener("controllerchange", change);
    return () => navigator.serviceWorker.removeEventListener("controllerchange", change);
  }, []);

  const installer = async () => {
    const o = offre;
    if (!o) return;
    offre = undefined;
    setVersion((v) => v + 1);
    await o.prompt();
  };
  const renoncer = () => {
    try {
      localStorage.setItem(REFUSEE, "1");
    } catch {
      // Private browsing: declined for this page only.
    }
    setRefusee(true);
  };

  return (
    <div class="avis-application" role="status">
      {miseAJour && (
        <div class="avis carte" data-testid="nouvelle-version">
          <p>
            <Icone nom="retablir" /> Nouvelle version disponible
          </p>
          <button type="button" onClick={() => location.reload()}>
            Recharger
          </button>
        </div>
      )}
      {offre && !refusee && (
        <div class="avis carte" data-testid="installation">
          <p>
            <Icone nom="installer" /> Installer Essaim sur l'écran d'accueil&nbsp;?
          </p>
          <div class="actions">
            <button type="button" onClick={installer}>
              Installer
            </button>
            <button type="button" class="discret" onClick={renoncer}>
              Plus tard
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
