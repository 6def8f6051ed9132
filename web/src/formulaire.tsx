// Form pieces shared by the screens: a labelled field whose error is
// announced and tied to it (aria-invalid, aria-describedby), a list of
// choices, a group of check boxes, and the "try this edit, or say why not"
// state every form uses. Validation itself is sync-core's: a form checks
// only what it needs to build an edit, and shows the core's French message
// when the core refuses. Also French date and time fields (typed as
// "6/12/2026" and "18 h 30", whatever the browser's language; the edits get
// `AAAA-MM-JJ` and `HH:MM`), the move to another screen after saving, and a
// status message that outlives the screen (with an undo).

import { cloneElement, type ComponentChildren, render, type VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Driver } from "./driver";
import type { Edit } from "./genere/agenda";
import { Icone } from "./icones";
import { jourEnLettres, messageDe } from "./modele";

/** Applies an edit of the generated `Edit` type: a misspelt field is a compile error. */
export function appliquer(driver: Driver, doc: string, edit: Edit): void {
  driver.apply(doc, edit);
}

/** A form's way to apply an edit: true if the core accepted it. */
export type Edition = (edit: Edit) => boolean;

export function Champ({ id, label, erreur, aide, children, suite }: {
  id: string;
  label: string;
  erreur?: string;
  aide?: string;
  children: VNode;
  /** Shown under the field (a date in words). */
  suite?: ComponentChildren;
}) {
  const decrit = [aide && `${id}-aide`, erreur && `${id}-erreur`].filter(Boolean).join(" ") || undefined;
  return (
    <p class="champ">
      <label for={id}>{label}</label>
      {aide && (
        <span class="aide" id={`${id}-aide`}>
          {aide}
        </span>
      )}
      {cloneElement(children, { id, "aria-invalid": erreur ? true : undefined, "aria-describedby": decrit })}
      {suite}
      {erreur && (
        <span class="erreur" id={`${id}-erreur`} role="alert">
          {erreur}
        </span>
      )}
    </p>
  );
}

/** A labelled `<select>` ([`Champ`] around [`Choix`]). */
export function ChampChoix<V extends string>({ id, label, valeur, choix, onChoix }: {
  id: string;
  label: string;
  valeur: V;
  choix: Record<V, string>;
  onChoix: (valeur: V) => void;
}) {
  return (
    <Champ id={id} label={label}>
      <Choix valeur={valeur} choix={choix} onChoix={onChoix} />
    </Champ>
  );
}

/** A labelled text input, its error announced. */
export function ChampTexte({ id, label, valeur, onTexte, erreur, aide, type, autoComplete, inputMode }: {
  id: string;
  label: string;
  valeur: string;
  onTexte: (valeur: string) => void;
  erreur?: string;
  aide?: string;
  type?: "text" | "url";
  autoComplete?: string;
  inputMode?: "numeric";
}) {
  return (
    <Champ id={id} label={label} erreur={erreur} aide={aide}>
      <input
        type={type}
        autoComplete={autoComplete}
        inputMode={inputMode}
        value={valeur}
        onInput={(e) => onTexte(e.currentTarget.value)}
      />
    </Champ>
  );
}

/** A `<select>` of French labels keyed by the model's values. */
export function Choix<V extends string>({ id, valeur, choix, onChoix }: {
  id?: string;
  valeur: V;
  choix: Record<V, string>;
  onChoix: (valeur: V) => void;
}) {
  return (
    <select id={id} value={valeur} onChange={(e) => onChoix(e.currentTarget.value as V)}>
      {(Object.entries(choix) as [V, string][]).map(([v, libelle]) => (
        <option key={v} value={v}>
          {libelle}
        </option>
      ))}
    </select>
  );
}

/** Check boxes in a fieldset, for a list of the model's values. */
export function Cases<V extends string>({ id, legende, valeurs, choix, onChoix }: {
  id: string;
  legende: string;
  valeurs: V[];
  choix: Record<V, string>;
  onChoix: (valeurs: V[]) => void;
}) {
  const basculer = (v: V, coche: boolean) =>
    onChoix(coche ? [...valeurs.filter((x) => x !== v), v] : valeurs.filter((x) => x !== v));
  return (
    <fieldset class="cases">
      <legend>{legende}</legend>
      {(Object.entries(choix) as [V, string][]).map(([v, libelle]) => (
        <span key={v}>
          <input
            type="checkbox"
            id={`${id}-${v}`}
            checked={valeurs.includes(v)}
            onChange={(e) => basculer(v, e.currentTarget.checked)}
          />{" "}
          <label for={`${id}-${v}`}>{libelle}</label>
        </span>
      ))}
    </fieldset>
  );
}

/**
 * A form's draft over the record's current values: `v` what the fields
 * show, `maj(champ)` a setter that also clears the field's error, `lie(champ)`
 * the value and setter of a [`ChampChoix`], `vider` back to the record.
 */
export function useBrouillon<T extends object>(actuel: T, effacer: (champ: string) => void) {
  const [b, setB] = useState<Partial<T>>({});
  const v: T = { ...actuel, ...b };
  const maj =
    <K extends keyof T>(champ: K) =>
    (valeur: T[K]) => (setB({ ...b, [champ]: valeur }), effacer(String(champ)));
  const lie = <K extends keyof T>(champ: K) => ({ valeur: v[champ], onChoix: maj(champ) });
  return { v, maj, lie, vider: () => setB({}) };
}

/** A form's refusal: an error per field, or one for the whole form. */
export interface Refus {
  erreurs: Record<string, string>;
  globale?: string;
}

/**
 * The state of one form: its field errors, and `tenter`, which runs an
 * edit and keeps the core's message if it is refused. Returns whether the
 * edit was applied.
 */
export function useRefus() {
  const [refus, setRefus] = useState<Refus>({ erreurs: {} });
  const tenter = (f: () => void): boolean => {
    try {
      f();
      setRefus({ erreurs: {} });
      return true;
    } catch (error) {
      setRefus({ erreurs: {}, globale: messageDe(error) });
      return false;
    }
  };
  /** Keeps field errors; true when there are none. */
  const verifier = (erreurs: Record<string, string>): boolean => {
    setRefus({ erreurs });
    return Object.keys(erreurs).length === 0;
  };
  const effacer = (champ: string) => {
    if (refus.erreurs[champ]) setRefus({ ...refus, erreurs: { ...refus.erreurs, [champ]: "" } });
  };
  return { refus, tenter, verifier, effacer };
}

/** The whole form's refusal, announced. */
export function Refuse({ refus, prefixe }: { refus: Refus; prefixe?: string }) {
  return refus.globale ? (
    <p role="alert" class="erreur">
      {prefixe ?? "Modification refusée"}&nbsp;: {refus.globale}
    </p>
  ) : null;
}

const deux = (n: number) => String(n).padStart(2, "0");

/**
 * `AAAA-MM-JJ` from a French date as typed ("6/12/2026", "06/12/2026",
 * "6 12 2026", "06122026"; `AAAA-MM-JJ` too), or "" when it is no real day.
 */
export function dateDuTexte(texte: string): string {
  const t = texte.trim();
  const fr = t.match(/^(\d{1,2})[\s/.-]+(\d{1,2})[\s/.-]+(\d{4})$/) ?? t.match(/^(\d\d)(\d\d)(\d{4})$/);
  const iso = t.match(/^(\d{4})-(\d\d)-(\d\d)$/);
  const [j, m, a] = fr ? [+fr[1], +fr[2], +fr[3]] : iso ? [+iso[3], +iso[2], +iso[1]] : [0, 0, 0];
  if (a < 1000 || m < 1 || m > 12 || j < 1 || j > new Date(a, m, 0).getDate()) return "";
  return `${a}-${deux(m)}-${deux(j)}`;
}

/** `HH:MM` from a French time as typed ("18 h 30", "18h30", "18:30", "18 h", "1830"), or "". */
export function heureDuTexte(texte: string): string {
  const t = texte.trim().match(/^(\d{1,2})(?:\s*[h:.]?\s*(\d\d))?\s*h?$/i);
  if (!t || +t[1] > 23 || +(t[2] ?? 0) > 59) return "";
  return `${deux(+t[1])}:${t[2] ?? "00"}`;
}

/** A French date field: `valeur` and `onDate` are `AAAA-MM-JJ` ("" while it is not a date). */
export function ChampDate({ id, label, valeur, onDate, erreur }: {
  id: string;
  label: string;
  valeur: string;
  onDate: (valeur: string) => void;
  erreur?: string;
}) {
  const ecrire = (v: string) => (v ? v.split("-").reverse().join("/") : "");
  const [texte, setTexte] = useState(() => ecrire(valeur));
  const [quitte, setQuitte] = useState(false);
  const lue = dateDuTexte(texte);
  // The form changed the value (emptied after saving, say): show it.
  useEffect(() => {
    if (valeur !== dateDuTexte(texte)) setTexte(ecrire(valeur));
  }, [valeur]);
  const invalide = texte.trim() !== "" && !lue && (quitte || !!erreur);
  let enLettres = "";
  try {
    enLettres = lue ? jourEnLettres(lue) : "";
  } catch {
    // Out of sync-core's range: the field says it is not a date.
  }
  return (
    <Champ
      id={id}
      label={label}
      aide="jj/mm/aaaa"
      erreur={invalide ? "Cette date n'existe pas\u00a0: écrivez-la jj/mm/aaaa, par exemple 6/12/2026." : erreur}
      suite={
        <span class="en-lettres" aria-live="polite" data-testid={`${id}-en-lettres`}>
          {enLettres}
        </span>
      }
    >
      <input
        inputMode="numeric"
        autoComplete="off"
        placeholder="jj/mm/aaaa"
        value={texte}
        onInput={(e) => {
          setTexte(e.currentTarget.value);
          onDate(dateDuTexte(e.currentTarget.value));
        }}
        onBlur={() => setQuitte(true)}
      />
    </Champ>
  );
}

/** "18\u00a0h\u00a030", "10\u00a0h" from `HH:MM`. */
export function heureEnTexte(hhmm: string): string {
  if (!hhmm) return "";
  const [h, m] = hhmm.split(":");
  return `${+h}\u00a0h${m === "00" ? "" : `\u00a0${m}`}`;
}

/** A French time field: `valeur` and `onHeure` are `HH:MM` ("" while it is not a time). */
export function ChampHeure({ id, label, valeur, onHeure, erreur }: {
  id: string;
  label: string;
  valeur: string;
  onHeure: (valeur: string) => void;
  erreur?: string;
}) {
  const [texte, setTexte] = useState(() => heureEnTexte(valeur));
  const [quitte, setQuitte] = useState(false);
  useEffect(() => {
    if (valeur !== heureDuTexte(texte)) setTexte(heureEnTexte(valeur));
  }, [valeur]);
  const invalide = texte.trim() !== "" && !heureDuTexte(texte) && (quitte || !!erreur);
  return (
    <Champ
      id={id}
      label={label}
      aide="hh h mm, par exemple 18 h 30"
      erreur={invalide ? "Heure non reconnue\u00a0: écrivez-la hh h mm, par exemple 18\u00a0h\u00a030." : erreur}
    >
      <input
        autoComplete="off"
        placeholder="hh h mm"
        value={texte}
        onInput={(e) => {
          setTexte(e.currentTarget.value);
          onHeure(heureDuTexte(e.currentTarget.value));
        }}
        onBlur={() => setQuitte(true)}
      />
    </Champ>
  );
}

/** Opens another screen after saving, at its top. */
export function allerA(hash: string): void {
  location.hash = hash;
  scrollTo(0, 0);
}

let zone: HTMLElement | undefined;
let ecranAnnonce = "";

/**
 * A status message above the bottom bar ("Rendez-vous du … annulé"), with
 * an optional undo; it stays until closed, replaced, or a screen other
 * than `ecran` opens, so it can follow a move to another screen.
 */
function fermerAnnonce(): void {
  if (zone) render(null, zone);
  document.documentElement.classList.remove("avec-annonce");
}

export function annoncer(texte: string, defaire?: { libelle: string; faire: () => void }, ecran = location.hash): void {
  if (!zone) {
    zone = document.body.appendChild(document.createElement("div"));
    zone.className = "annonce";
    zone.setAttribute("role", "status");
    addEventListener("hashchange", () => location.hash !== ecranAnnonce && fermerAnnonce());
  }
  ecranAnnonce = ecran;
  const fermer = fermerAnnonce;
  // The page keeps room for it: nothing stays hidden under it.
  document.documentElement.classList.add("avec-annonce");
  render(
    <p class="carte" data-testid="annonce">
      <span>{texte}</span>
      {defaire && (
        <button type="button" class="secondaire" onClick={() => (fermer(), defaire.faire())}>
          {defaire.libelle}
        </button>
      )}
      <button type="button" class="discret" aria-label="Fermer ce message" onClick={fermer}>
        <Icone nom="fermer" />
      </button>
    </p>,
    zone,
  );
}
