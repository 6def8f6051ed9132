// "Ajouter à mon calendrier" for one action or one of its occurrences: a
// link to the relay's one-event calendar (`/t/<doc>/actions/<id>.ics`,
// with `?occurrence=` for one date). Only public, published actions are
// served by the relay, so the link is shown only for those. It does not
// fetch anything: the browser or the phone's calendar opens the file.

import type { Action } from "../genere/agenda";
import { Icone } from "../icones";

/** The one-event `.ics` address of `action` (or of one occurrence), with a private territory's token. */
export function adresseIcs(doc: string, action: string, occurrence?: string, jeton?: string): string {
  const q = [jeton && `token=${encodeURIComponent(jeton)}`, occurrence && `occurrence=${encodeURIComponent(occurrence)}`]
    .filter(Boolean)
    .join("&");
  return `${location.origin}/t/${doc}/actions/${action}.ics${q ? `?${q}` : ""}`;
}

/** A link adding `action` (or one occurrence, by its origin) to the person's calendar; nothing if the relay would not serve it. */
export function AjouterAuCalendrier({ doc, id, action, occurrence, jeton }: {
  doc: string; id: string; action: Action; occurrence?: string; jeton?: string;
}) {
  if (action.visibilite !== "public" || action.publication !== "publie") return null;
  return (
    <a class="bouton secondaire" href={adresseIcs(doc, id, occurrence, jeton)} download>
      <Icone nom="calendrier_ajout" /> Ajouter à mon calendrier
    </a>
  );
}
