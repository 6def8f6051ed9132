// Form pieces shared by the screens: a labelled field whose error is
// announced and tied to it (aria-invalid, aria-describedby), a list of
// choices, a group of check boxes, and the "try this edit, or say why not"
// state every form uses. Validation itself is sync-core's: a form checks
// only what it needs to build an edit, and shows the core's French message
// when the core refuses.

import { cloneElement, type VNode } from "preact";
import { useState } from "preact/hooks";
import type { Driver } from "./driver";
import type { Edit } from "./genere/agenda";
import { messageDe } from "./modele";

/** Applies an edit of the generated `Edit` type: a misspelt field is a compile error. */
export function appliquer(driver: Driver, doc: string, edit: Edit): void {
  driver.apply(doc, edit);
}

/** A form's way to apply an edit: true if the core accepted it. */
export type Edition = (edit: Edit) => boolean;

export function Champ({ id, label, erreur, aide, children }: {
  id: string;
  label: string;
  erreur?: string;
  aide?: string;
  children: VNode;
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
  type?: "text" | "date" | "time" | "url";
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
