// How the screens show an occurrence's state next to its date: sync-core's
// label of the state (nothing when it is as planned), and "déplacé" when an
// exception moved it, with the planned time if asked.

import type { Occurrence } from "../genere/agenda";
import { libelles, quand } from "../modele";

export function EtatOccurrence({ occurrence: o, prevu }: { occurrence: Occurrence; prevu?: boolean }) {
  return (
    <>
      {o.etat !== "programme" && <strong class="etat-occurrence"> · {libelles().etat_occurrence[o.etat]}</strong>}
      {o.deplacee && <strong class="etat-occurrence"> · déplacé{prevu && ` (prévu ${quand(o.origine)})`}</strong>}
    </>
  );
}
