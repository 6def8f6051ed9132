// « Historique » (`#/territoire/<doc>/historique`): who changed what in
// the territory and when, newest first, with the names people gave
// instead of ids (sync-core's `historique_en_mots`), by day.
//
// Does not: undo anything (the record's own screens do), or show the
// organisers' notebook's history (contacts stay out of it).

import type { Driver } from "../driver";
import { cleJour, heureDe, jourEnLettres } from "../modele";
import { CHARGEMENT, RetourTerritoire } from "./ecran-territoire";

/** How many changes the screen lists. */
const NOMBRE = 100;

export function Historique({ driver, doc }: { driver: Driver; doc: string }) {
  if (!driver.hasDocument(doc)) return CHARGEMENT;
  const evenements = driver.historique(doc, NOMBRE);
  const parJour = new Map<string, typeof evenements>();
  for (const e of evenements) {
    const jour = cleJour(new Date(e.date));
    parJour.set(jour, [...(parJour.get(jour) ?? []), e]);
  }
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Historique</h1>
      <p>
        Qui a modifié quoi, et quand{evenements.length === NOMBRE ? ` (les ${NOMBRE} dernières modifications)` : ""}.
      </p>
      {[...parJour].map(([jour, liste]) => (
        <section key={jour} aria-labelledby={`jour-${jour}`}>
          <h2 id={`jour-${jour}`}>{jourEnLettres(jour)}</h2>
          <ul class="liste" data-testid="historique">
            {liste.map((e, i) => (
              <li key={i}>
                <time dateTime={new Date(e.date).toISOString()}>{heureDe(e.date)}</time>&nbsp;:{" "}
                <strong>{e.nom ?? (e.auteur ? "Une personne sans nom" : "Quelqu'un")}</strong> {e.texte}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
