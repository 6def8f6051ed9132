// The app about itself:
// - "Nouvelle version disponible — recharger" (`AvisApplication`), at the
//   bottom of every screen when a new service worker took over this page
//   (the worker activates at once, see web/sw-template.js; the page still
//   runs the old code until reloaded);
// - "Installer Essaim sur l'écran d'accueil" (`Installation`), in Moi,
//   when the browser offers to install the app (`beforeinstallprompt`,
//   Chromium) and until it is installed. In the page's flow rather than
//   floating: it never covers the agenda or its buttons, and whoever wants
//   the app on the home screen finds it where the device's settings are.
//
// Does not: update or install anything by itself; the person decides.

import { useEffect, useState } from "preact/hooks";
import { Icone } from "../icones";

/** Chromium's install offer (not in TypeScript's DOM types). */
interface OffreInstallation extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: "accepted" | "dismissed" }>;
}

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

/** Re-renders the caller when the install offer comes or goes. */
function useOffre(): OffreInstallation | undefined {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const f = () => setVersion((v) => v + 1);
    abonnes.add(f);
    return () => void abonnes.delete(f);
  }, []);
  return offre;
}

/** The new-version notice, floating above the bottom navigation. */
export function AvisApplication() {
  const [miseAJour, setMiseAJour] = useState(false);
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
    </div>
  );
}

/** The browser's install offer, as a section of Moi; nothing when the
 * browser makes none (installed already, or not Chromium). */
export function Installation() {
  const o = useOffre();
  if (!o) return null;
  const installer = async () => {
    offre = undefined;
    prevenir();
    await o.prompt();
  };
  return (
    <section aria-labelledby="titre-installation" data-testid="installation">
      <h2 id="titre-installation">Application</h2>
      <p>Ouvrez Essaim comme une application, même sans réseau, depuis l'écran d'accueil de cet appareil.</p>
      <button type="button" onClick={installer}>
        <Icone nom="installer" />
        Installer Essaim sur l'écran d'accueil
      </button>
    </section>
  );
}
