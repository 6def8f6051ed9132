// Concurrent edits of one record's fields, for an organiser to settle in
// one tap: each value with who wrote it (the name they gave, `auteurs` in
// the territory, else « une personne sans nom »), and « Garder » setting
// the field to it. The actions' page, the decisions' and the experience
// sheets' editor use it.
//
// Does not: detect conflicts (sync-core's read model lists them) or
// decide which value wins by default (Automerge's).

import type { Agenda, Collection, Conflit, Edit } from "./genere/agenda";
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

/** One field's concurrent values, each with its author and « Garder ». */
export function CarteConflit({
  conflit,
  titre,
  nom,
  garder,
}: {
  conflit: Conflit;
  titre: string;
  nom: (auteur?: string | null) => string;
  garder: (valeur: unknown) => void;
}) {
  const id = `c-${conflit.chemin.replaceAll("/", "-")}`;
  return (
    <section class="carte conflit" aria-labelledby={id} data-testid="conflit">
      <h2 id={id}>
        <Icone nom="alerte" /> Modifications simultanées&nbsp;: {titre}
      </h2>
      <ul class="liste">
        {conflit.valeurs.map((v, i) => (
          <li key={i}>
            « {enTexte(v.valeur)} » par {nom(v.auteur)}{" "}
            <button type="button" class="secondaire" onClick={() => garder(v.valeur)}>
              Garder « {enTexte(v.valeur)} »
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
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
          <CarteConflit
            key={c.chemin}
            conflit={c}
            titre={champ.join(" / ")}
            nom={(auteur) => nomAuteur(agenda, auteur)}
            garder={(valeur) =>
              editer({
                type: "modifier",
                collection,
                id,
                champs: valeurAuChemin(record as Record<string, unknown>, champ, valeur),
              } as Edit)
            }
          />
        );
      })}
    </>
  );
}
