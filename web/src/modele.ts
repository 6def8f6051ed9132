// What the screens share that is genuinely the UI's: ids, today's date,
// plurals, error messages. Everything about the domain comes from
// sync-core: the read model's and edits' types (generated, `genere/agenda.ts`),
// the French labels of enum values, days, dates, times and rhythms in words,
// through the wasm client.

import type { Libelles, LibellesFiches, Theme } from "./genere/agenda";
import {
  heure as heureDuCoeur,
  jourCourt as jourCourtDuCoeur,
  jourEnLettres as jourEnLettresDuCoeur,
  libelles as libellesDuCoeur,
  libellesFiches as libellesFichesDuCoeur,
  periode as periodeDuCoeur,
  phraseRythme,
  quand as quandDuCoeur,
  themesDesInstances,
} from "./pkg/wasm_client.js";

export { verifierCodesInsee } from "./pkg/wasm_client.js";

/** "samedi 6 décembre à 18 h 30" from a local `AAAA-MM-JJTHH:MM`; the year when not this year (sync-core's words). */
export function quand(local: string): string {
  return enMemoire(quands, `${local} ${aujourdhui()}`, () => quandDuCoeur(local, aujourdhui()));
}

/** "samedi 6 décembre" from `AAAA-MM-JJ`; the year when not this year. */
export function jourEnLettres(jour: string): string {
  return enMemoire(jours, `${jour} ${aujourdhui()}`, () => jourEnLettresDuCoeur(jour, aujourdhui()));
}

/** "18 h 30" from a local `AAAA-MM-JJTHH:MM` (sync-core's words). */
export function heure(local: string): string {
  return enMemoire(heures, local, () => heureDuCoeur(local));
}

/** "lun." … "dim." from `AAAA-MM-JJ` (sync-core's words). */
export function jourCourt(jour: string): string {
  return enMemoire(joursCourts, jour, () => jourCourtDuCoeur(jour));
}

// The agenda screen words hundreds of dates at each render: each answer of
// the core is kept (a few thousand at most, then forgotten), keyed by its
// question and, where the words depend on it, today.
const quands = new Map<string, string>();
const jours = new Map<string, string>();
const heures = new Map<string, string>();
const joursCourts = new Map<string, string>();
const GARDES = 4_000;

function enMemoire(memoire: Map<string, string>, cle: string, calculer: () => string): string {
  let mots = memoire.get(cle);
  if (mots === undefined) {
    if (memoire.size >= GARDES) memoire.clear();
    mots = calculer();
    memoire.set(cle, mots);
  }
  return mots;
}

/** "du mardi 1er septembre 2026 au mercredi 31 mars 2027", "à partir du …", "dates à fixer"; years when either end is not this year. */
export function periode(debut?: string | null, fin?: string | null): string {
  return periodeDuCoeur(debut ?? undefined, fin ?? undefined, aujourdhui());
}
// The agenda's views: the time alone, short weekdays, month titles.
export { moisEnLettres } from "./pkg/wasm_client.js";

let memo: Libelles | undefined;

/** The French label of every enum value, by enum (sync-core's). */
export function libelles(): Libelles {
  memo ??= libellesDuCoeur();
  return memo;
}

let memoFiches: LibellesFiches | undefined;

/** The words of experience sheets: sections, states, licences (sync-core's). */
export function libellesFiches(): LibellesFiches {
  memoFiches ??= libellesFichesDuCoeur();
  return memoFiches;
}

/** Whether a rendez-vous of this collection, with these themes, is shown under `theme` (sync-core decides for governance bodies). */
export function aLeTheme(collection: string, themes: Theme[], theme: Theme): boolean {
  return collection === "instances" ? themesDesInstances().includes(theme) : themes.includes(theme);
}

/** The rhythm as a French sentence, by sync-core. */
export function phrase(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch {
    return "Rythme illisible sur cet appareil (version plus récente\u00a0?)";
  }
}

/** The sentence of a rhythm being typed, or why it is not valid yet. */
export function apercu(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch (error) {
    return `Rythme pas encore valide\u00a0: ${messageDe(error)}`;
  }
}

/** What an error says, for the person who caused it (the core's French text). */
export function messageDe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Midnight today, local time (ms since the epoch). */
export function debutDuJour(): number {
  const maintenant = new Date();
  return new Date(maintenant.getFullYear(), maintenant.getMonth(), maintenant.getDate()).getTime();
}

/** Today as `AAAA-MM-JJ`, local time. */
export function aujourdhui(): string {
  return cleJour(new Date());
}

/** A local day as `AAAA-MM-JJ`. */
export function cleJour(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Where the navigation remembers the last territory opened on this device. */
const DERNIER = "essaim.dernier-territoire";

/** The last territory opened here, for the navigation when no route names one. */
export function dernierTerritoire(): string | undefined {
  try {
    return localStorage.getItem(DERNIER) ?? undefined;
  } catch {
    return undefined; // Private browsing: nothing remembered.
  }
}

/** Remembers `doc` as the last territory opened, or forgets it (`oublier`, when left). */
export function retenirDernier(doc: string, oublier = false): void {
  try {
    if (!oublier) localStorage.setItem(DERNIER, doc);
    else if (localStorage.getItem(DERNIER) === doc) localStorage.removeItem(DERNIER);
  } catch {
    // Private browsing: the navigation just won't remember.
  }
}

/** A new record id: random, so records are created offline without clashes. */
export function idAleatoire(): string {
  const octets = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(octets, (o) => o.toString(36).padStart(2, "0")).join("");
}

/** "1 modification", "2 modifications". */
export function pluriel(n: number, mot: string): string {
  return `${n} ${mot}${n > 1 ? "s" : ""}`;
}

/**
 * "18 h 30", "9 h 05": the local time of an instant (ms since the epoch),
 * in sync-core's words (the end of `quand`'s sentence).
 */
export function heureDe(ms: number): string {
  const d = new Date(ms);
  const deux = (n: number) => String(n).padStart(2, "0");
  const local = `${d.getFullYear()}-${deux(d.getMonth() + 1)}-${deux(d.getDate())}T${deux(d.getHours())}:${deux(d.getMinutes())}`;
  const texte = quand(local);
  return texte.slice(texte.lastIndexOf(" à ") + 3);
}
