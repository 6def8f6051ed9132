// Form pieces shared by the screens: a labelled field whose error is
// announced and tied to it (aria-invalid, aria-describedby), a list of
// choices, a group of check boxes, and the "try this edit, or say why not"
// state every form uses. Validation itself is sync-core's: a form checks
// only what it needs to build an edit, and shows the core's French message
// when the core refuses.

import { cloneElement, type VNode } from "preact";
import { useState } from "preact/hooks";
import { messageDe } from "./modele";

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

/** A `<select>` of French labels keyed by the model's values. */
export function Choix({ id, valeur, choix, onChoix }: {
  id?: string;
  valeur: string;
  choix: Record<string, string>;
  onChoix: (valeur: string) => void;
}) {
  return (
    <select id={id} value={valeur} onChange={(e) => onChoix(e.currentTarget.value)}>
      {Object.entries(choix).map(([v, libelle]) => (
        <option key={v} value={v}>
          {libelle}
        </option>
      ))}
    </select>
  );
}

/** Check boxes in a fieldset, for a list of the model's values. */
export function Cases({ id, legende, valeurs, choix, onChoix }: {
  id: string;
  legende: string;
  valeurs: string[];
  choix: Record<string, string>;
  onChoix: (valeurs: string[]) => void;
}) {
  const basculer = (v: string, coche: boolean) =>
    onChoix(coche ? [...valeurs.filter((x) => x !== v), v] : valeurs.filter((x) => x !== v));
  return (
    <fieldset class="cases">
      <legend>{legende}</legend>
      {Object.entries(choix).map(([v, libelle]) => (
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
      {prefixe ?? "Modification refusée"} : {refus.globale}
    </p>
  ) : null;
}
