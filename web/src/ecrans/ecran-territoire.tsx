// What the territory's own screens (« Acteurs », « Décisions »,
// « Gouvernance », « Engagements », « Historique ») share: the way back to
// the territory, and the loaded read model with who may edit it and how.

import type { Driver } from "../driver";
import { appliquer, type Edition, useRefus } from "../formulaire";
import type { Agenda } from "../genere/agenda";
import { Icone } from "../icones";

export function RetourTerritoire({ doc }: { doc: string }) {
  return (
    <p>
      <a class="bouton discret retour" href={`#/territoire/${doc}/profil`}>
        <Icone nom="retour" />
        Retour au territoire
      </a>
    </p>
  );
}

/**
 * The territory `doc` for one of its screens: its read model (undefined
 * while it loads), whether this device organises it, the screen's way to
 * edit it, and the last refusal.
 */
export function useTerritoire(driver: Driver, doc: string) {
  const { refus, tenter } = useRefus();
  const agenda: Agenda | undefined = driver.hasDocument(doc) ? driver.agenda(doc) : undefined;
  const editer: Edition = (edit) => tenter(() => appliquer(driver, doc, edit));
  return { agenda, organisateur: driver.peutModifier(doc), editer, refus, tenter };
}

export const CHARGEMENT = <p role="status">Chargement du territoire…</p>;
