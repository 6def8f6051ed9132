// Concurrent edits of one record's fields, for an organiser to settle in
// one tap: each value with who wrote it (the name they gave, `auteurs` in
// the territory, else « une personne sans nom »), and « Garder » setting
// the field to it. The actions' page and the decisions' use it.
//
// Does not: detect conflicts (sync-core's read model lists them) or
// decide which value wins by default (Automerge's).

import type { Agenda, Collection, Edit } from "./genere/agenda";
import { Icone } from "./icones";
import { libelles } from "./modele";

/** A concurrent value as a person reads it. */
export function enTexte(valeur: unknown): string {
  const { theme, statut, mode_participation, processus, statut_decision, publication } = libelles() as unknown as Record<
    string,
    Record<string, string>
  >;
  if (Array.isArray(valeur)) return valeur.map((v) => theme[v as string] ?? enTexte(v)).join(", ");
  if (valeur && typeof valeur === "object") {
    const o = valeur as Record<string, unknown>;
    return String(o.libelle ?? o.titre ?? o.nom ?? o.enonce ?? JSON.stringify(valeur));
  }
  const texte = valeur as string;
  return statut[texte] ?? mode_participation[texte] ?? processus[texte] ?? statut_decision[texte] ?? publication[texte] ?? String(valeur);
}

/** `{lieu: {…lieu, libelle: v}}` for a conflict on `lieu/libelle`. */
function valeurAuChemin(record: Record<string, unknown>, chemin: string[], valeur: unknown): Record<string, unknown> {
  if (chemin.length === 1) return { [chemin[0]]: valeur };
  const parent = (record[chemin[0]] ?? {}) as Record<string, unknown>;
  return { [chemin[0]]: { ...parent, ...valeurAuChemin(parent, chemin.slice(1), valeur) } };
}

/** Who wrote a value: their name in this territory, if they gave one. */
export function nomAuteur(agenda: Agenda, auteur?: string | null): string {
  if (!auteur) return "une personne inconnue";
  return agenda.auteurs[auteur]?.nom ?? "une personne sans nom";
}

export function Conflits({
  agenda,
  collection,
  id,
  record,
  editer,
}: {
  agenda: Agenda;
  collection: Collection;
  id: string;
  record: object;
  editer: (edit: Edit) => boolean;
}) {
  const conflits = agenda.conflits.filter((c) => c.chemin.startsWith(`${collection}/${id}/`));
  return (
    <>
      {conflits.map((c) => {
        const champ = c.chemin.split("/").slice(2);
        return (
          <section key={c.chemin} class="carte conflit" aria-labelledby={`c-${c.chemin}`} data-testid="conflit">
            <h2 id={`c-${c.chemin}`}>
              <Icone nom="alerte" /> Modifications simultanées&nbsp;: {champ.join(" / ")}
            </h2>
            <ul class="liste">
              {c.valeurs.map((v, i) => (
                <li key={i}>
                  « {enTexte(v.valeur)} » par {nomAuteur(agenda, v.auteur)}{" "}
                  <button
                    type="button"
                    class="secondaire"
                    onClick={() =>
                      editer({
                        type: "modifier",
                        collection,
                        id,
                        champs: valeurAuChemin(record as Record<string, unknown>, champ, v.valeur),
                      } as Edit)
                    }
                  >
                    Garder « {enTexte(v.valeur)} »
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </>
  );
}
