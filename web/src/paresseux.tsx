// Screens loaded when first opened: what only organisers use (a new
// action, invitations, editing an action), what residents open less often
// (« Acteurs »), and what no first visit needs (« Découvrir » and another
// territory's action), is built
// as separate chunks, so a resident's first visit on a weak network
// downloads none of it. The build (vite.config.ts) lists these chunks
// apart from what the service worker precaches at install; the worker
// keeps each once fetched.
//
// A device that organises loads the organiser screens ahead (`annoncerOrganisateur`,
// called at start when a territory is held as organiser or created here,
// on the home screen where territories are created, by the shell whenever
// the territory shown may be edited from this device (app.tsx), and when
// one of these screens opens): this page then has them even if the network goes, and
// the service worker caches them for the next visits offline.
//
// Does not: decide who may see a screen (the screens and the relay do).

import type { ComponentType, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

/** Every lazy screen's loader, to load them all ahead. */
const chargements: (() => void)[] = [];

/** Loads every organiser screen and asks the service worker to cache them
 * (once per page). */
let annonce = false;
export function annoncerOrganisateur(): void {
  if (annonce) return;
  annonce = true;
  for (const charger of chargements) charger();
  if ("serviceWorker" in navigator) void navigator.serviceWorker.ready.then((r) => r.active?.postMessage("organisateur"));
}

/**
 * Who a lazy screen is for: `organisateur` (the default) is loaded ahead
 * with the others on a device that organises, and opening it says the
 * device organises; `partage` is loaded ahead for organisers too, but
 * residents open it as well (« Acteurs »), so opening it says nothing;
 * `a-la-demande` is loaded only when opened.
 */
type Pour = "organisateur" | "partage" | "a-la-demande";

/** A component that loads `charger`'s module on first render, showing a
 * short French note meanwhile (or why it failed: offline before the
 * screen was ever cached). */
export function paresseux<P extends object>(
  charger: () => Promise<ComponentType<P>>,
  pour: Pour = "organisateur",
): (props: P) => JSX.Element {
  let composant: ComponentType<P> | undefined;
  let promesse: Promise<ComponentType<P>> | undefined;
  const lancer = () => {
    promesse ??= charger().then(
      (c) => (composant = c),
      (erreur) => {
        promesse = undefined;
        throw erreur;
      },
    );
    return promesse;
  };
  if (pour !== "a-la-demande") chargements.push(() => void lancer().catch(() => {}));
  return function Paresseux(props: P) {
    const [, setPret] = useState(composant !== undefined);
    const [echec, setEchec] = useState(false);
    useEffect(() => {
      if (composant) return;
      lancer().then(
        () => setPret(true),
        () => setEchec(true),
      );
      if (pour === "organisateur") annoncerOrganisateur();
    }, []);
    if (composant) {
      const C = composant;
      return <C {...props} />;
    }
    return echec ? (
      <p role="alert">Cet écran n'a pas pu être chargé&nbsp;: vérifiez la connexion, puis réessayez.</p>
    ) : (
      <p role="status">Chargement de l'écran…</p>
    );
  };
}
