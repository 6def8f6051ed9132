// The published experience sheets as the relay serves them
// (`/t/<territoire>/fiches.json` and `/t/<territoire>/fiches/<fiche>.json`),
// asked each time and kept on the device (localStorage), so a list or a
// sheet read once opens offline, saying from when it dates. Used by the
// residents' list (`fiches.tsx`) and reading screen (`fiche-lecture.tsx`).
//
// Does not: decide what is published or who may read it (the relay does).

import type { FichePubliee, Theme, VersionFiche } from "../genere/agenda";
import { cleJour, jourEnLettres } from "../modele";

/** The date of a version (ms since the epoch), in words. */
export function dateVersion(le: number): string {
  return jourEnLettres(cleJour(new Date(le)));
}

/** A sheet of the relay's list. */
export interface FicheDeListe {
  id: string;
  titre: string;
  resume: string;
  portes_entree: Theme[];
  mesures_pacte: string[];
  licence: string;
  version: VersionFiche;
  nationale: boolean;
  adresse: string;
}

/** `/t/<t>/fiches.json`. */
export interface ListeFiches {
  territoire: string;
  nom: string;
  fiches: FicheDeListe[];
}

/** `/t/<t>/fiches/<f>.json`: sync-core's `FichePubliee` with where it is. */
export type FicheServie = FichePubliee & { id: string; territoire: string; nationale: boolean };

/** What a screen shows: the answer, with the time it was received when it comes from the device (offline). */
export type Lu<T> =
  | { type: "lu"; valeur: T; horsLigne?: number }
  | { type: "absent"; message: string }
  | { type: "retire"; message: string };

interface Garde {
  cle: string;
  recu: number;
  json: string;
}

/** Sheets kept for offline reading: the last `GARDEES` visited. */
const CLE_FICHES = "essaim-fiches";
const GARDEES = 50;
/** The lists, by territory. */
const CLE_LISTES = "essaim-fiches-listes";

function gardes(cle: string): Garde[] {
  try {
    const liste = JSON.parse(localStorage.getItem(cle) ?? "[]");
    return Array.isArray(liste) ? liste : [];
  } catch {
    return [];
  }
}

function garder(cle: string, garde: Garde, max: number): void {
  const liste = [garde, ...gardes(cle).filter((g) => g.cle !== garde.cle)].slice(0, max);
  try {
    localStorage.setItem(cle, JSON.stringify(liste));
  } catch {
    // Private browsing or a full storage: shown, not kept.
  }
}

function oublier(cle: string, laquelle: string): void {
  try {
    localStorage.setItem(cle, JSON.stringify(gardes(cle).filter((g) => g.cle !== laquelle)));
  } catch {
    // Nothing kept to forget.
  }
}

/** Asks the relay for `adresse`, keeps the answer under `cle` in `ou`, else reads the kept one. */
async function lire<T>(adresse: string, ou: string, cle: string, max: number, introuvable: string): Promise<Lu<T>> {
  let refus: Lu<T> | undefined;
  try {
    const reponse = await fetch(adresse, { cache: "no-cache" });
    if (reponse.ok) {
      const json = await reponse.text();
      const valeur = JSON.parse(json) as T;
      garder(ou, { cle, recu: Date.now(), json }, max);
      return { type: "lu", valeur };
    }
    if (reponse.status === 410) {
      const corps = (await reponse.json().catch(() => ({}))) as { erreur?: string };
      oublier(ou, cle);
      return { type: "retire", message: corps.erreur ?? "Cette fiche a été retirée." };
    }
    if (reponse.status === 404 || reponse.status === 403) refus = { type: "absent", message: introuvable };
  } catch {
    // Offline: the kept copy, if any.
  }
  if (refus) {
    oublier(ou, cle);
    return refus;
  }
  const garde = gardes(ou).find((g) => g.cle === cle);
  if (garde) {
    try {
      return { type: "lu", valeur: JSON.parse(garde.json) as T, horsLigne: garde.recu };
    } catch {
      // A damaged copy: as if none.
    }
  }
  return { type: "absent", message: "Hors ligne\u00a0: cette page s'affichera après une première visite en ligne." };
}

/** `?token=` of the invitation this device holds, for a private territory's pages. */
export function avecJeton(adresse: string, jeton?: string): string {
  return jeton ? `${adresse}?token=${encodeURIComponent(jeton)}` : adresse;
}

/** The published sheets of territory `territoire` (`jeton`: an invitation to it, if held). */
export function listeFiches(territoire: string, jeton?: string): Promise<Lu<ListeFiches>> {
  const t = encodeURIComponent(territoire);
  const introuvable = "Ce territoire ne publie pas de fiches, ou n'est pas public.";
  return lire(avecJeton(`/t/${t}/fiches.json`, jeton), CLE_LISTES, territoire, 20, introuvable);
}

/** Published sheet `fiche` of territory `territoire`, at its latest version. */
export function fichePubliee(territoire: string, fiche: string, jeton?: string): Promise<Lu<FicheServie>> {
  const [t, f] = [encodeURIComponent(territoire), encodeURIComponent(fiche)];
  const adresse = avecJeton(`/t/${t}/fiches/${f}.json`, jeton);
  return lire(adresse, CLE_FICHES, `${territoire}/${fiche}`, GARDEES, "Cette fiche n'est pas publiée.");
}

/** The invitation token this device holds for `territoire`, if any. */
export async function jetonDe(storage: { territoire(doc: string): Promise<{ invitation?: string } | undefined> }, territoire: string): Promise<string | undefined> {
  try {
    return (await storage.territoire(territoire))?.invitation;
  } catch {
    return undefined;
  }
}
