// Another territory's public action, seen from « Découvrir » or from the
// relay's public pages (`#/decouvrir/<territoire>/<action>`), for a device
// that does not hold that territory: what it is, when, and « Reprendre
// dans… » for an organiser. The relay's `/t/<id>/actions/<action>.json`
// (sync-core's `ActionPublique`) is asked each time and kept on the
// device, so an action seen once can be taken up offline.
//
// Does not: decide what is public (the relay serves only public,
// published actions) or what a copy takes (sync-core does).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import type { ActionPublique } from "../genere/agenda";
import { Icone } from "../icones";
import { jourEnLettres, cleJour, libelles, messageDe, phrase } from "../modele";
import { PastilleTheme } from "../themes";
import { Reprendre } from "./action-reprendre";

/** The kept actions (localStorage), newest first, at most `GARDEES`. */
const CLE = "essaim-actions-publiques";
const GARDEES = 50;

interface Gardee {
  cle: string;
  recu: number;
  json: string;
}

function gardees(): Gardee[] {
  try {
    const liste = JSON.parse(localStorage.getItem(CLE) ?? "[]");
    return Array.isArray(liste) ? liste : [];
  } catch {
    return [];
  }
}

function garder(cle: string, json: string): void {
  const liste = [{ cle, recu: Date.now(), json }, ...gardees().filter((g) => g.cle !== cle)].slice(0, GARDEES);
  try {
    localStorage.setItem(CLE, JSON.stringify(liste));
  } catch {
    // Private browsing or a full storage: shown, not kept.
  }
}

type Etat =
  | { type: "chargement" }
  | { type: "action"; json: string; action: ActionPublique; horsLigne?: number }
  | { type: "absente"; message: string };

/** The action from the relay, else the kept copy, else why not. */
async function charger(territoire: string, action: string): Promise<Etat> {
  const cle = `${territoire}/${action}`;
  const lire = (json: string, horsLigne?: number): Etat => ({
    type: "action",
    json,
    action: JSON.parse(json) as ActionPublique,
    horsLigne,
  });
  let refus: string | undefined;
  try {
    const reponse = await fetch(`/t/${encodeURIComponent(territoire)}/actions/${encodeURIComponent(action)}.json`, {
      cache: "no-cache",
    });
    if (reponse.ok) {
      const json = await reponse.text();
      const etat = lire(json);
      garder(cle, json);
      return etat;
    }
    if (reponse.status === 404) refus = "Cette action n'est pas publique, ou n'existe plus.";
  } catch {
    // Offline: the kept copy, if any.
  }
  const gardee = gardees().find((g) => g.cle === cle);
  if (gardee && refus === undefined) {
    try {
      return lire(gardee.json, gardee.recu);
    } catch (e) {
      return { type: "absente", message: messageDe(e) };
    }
  }
  return {
    type: "absente",
    message: refus ?? "Hors ligne\u00a0: cette action s'affichera après une première visite en ligne.",
  };
}

export function ActionPubliqueEcran({ driver, territoire, action }: { driver: Driver; territoire: string; action: string }) {
  const [etat, setEtat] = useState<Etat>({ type: "chargement" });
  useEffect(() => {
    charger(territoire, action).then(setEtat);
  }, [territoire, action]);
  useEffect(() => {
    if (etat.type === "action") document.title = `${etat.action.titre} – Essaim`;
  }, [etat]);

  if (etat.type === "chargement") return <p role="status">Chargement de l'action…</p>;
  if (etat.type === "absente")
    return (
      <>
        <h1>Action introuvable</h1>
        <p role="alert">{etat.message}</p>
        <p>
          <a href="#/decouvrir">Retour à Découvrir</a>
        </p>
      </>
    );
  const a = etat.action;
  const l = libelles();
  return (
    <article class="fiche" data-testid="action-publique">
      <h1>{a.titre}</h1>
      <p class="aide">
        Proposé par{" "}
        <a href={`/t/${encodeURIComponent(a.provenance.territoire)}/`}>{a.provenance.territoire_nom || "un territoire"}</a>
        {" · "}
        {l.nature[a.nature] ?? ""}
      </p>
      {etat.horsLigne !== undefined && (
        <p class="note" role="status">
          Hors ligne&nbsp;: l'action telle qu'elle était le {jourEnLettres(cleJour(new Date(etat.horsLigne)))}.
        </p>
      )}
      <section class="carte">
        {a.rythme && (
          <p>
            <Icone nom="agenda" /> {phrase(a.rythme)}
          </p>
        )}
        {a.resume && <p>{a.resume}</p>}
        {a.description && <p class="description">{a.description}</p>}
        {a.portes_entree.length > 0 && (
          <p class="rdv-themes">
            {a.portes_entree.map((p) => (
              <PastilleTheme key={p} theme={p} />
            ))}
          </p>
        )}
        <p class="aide">Contenu sous licence {a.provenance.licence}.</p>
      </section>
      <Reprendre driver={driver} source={territoire} publique={etat.json} />
    </article>
  );
}
