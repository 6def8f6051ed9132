// The preview shown on a first visit while the app (its wasm core above
// all) downloads: the territory's name and next rendez-vous, read from the
// relay's preview feed `/t/<id>/apercu.json` (agenda.json's JSON-LD
// with only the next few rendez-vous, a kilobyte or two: sync-core's
// `flux::apercu_json`). Plain Preact, no wasm: something useful within
// seconds on a weak network. Marked as a preview, visually and for
// screen readers, and replaced by the live agenda once the app has it.
//
// Does not: show private territories without their token (the feed
// answers 404, and nothing is shown), nor anything the app shows better
// (volunteers, needs, editing).

import { Icone } from "./icones";

/** One upcoming rendez-vous, in the territory's local time. */
export interface RendezVousApercu {
  titre: string;
  /** `2026-03-29T18:30:00+02:00`: local date and time, then the offset. */
  debut: string;
  lieu?: string;
  annule: boolean;
}

export interface Apercu {
  nom: string;
  rendezVous: RendezVousApercu[];
}

/** Shown at most. */
const NOMBRE = 8;

interface Evenement {
  name?: unknown;
  startDate?: unknown;
  eventStatus?: unknown;
  location?: unknown;
  subEvent?: unknown;
}

const texte = (v: unknown) => (typeof v === "string" ? v : undefined);

function lieu(location: unknown): string | undefined {
  const place = Array.isArray(location) ? location[0] : location;
  return place && typeof place === "object" ? texte((place as { name?: unknown }).name) : undefined;
}

/** The preview read from a JSON-LD feed, or undefined if it is not one. */
export function lireApercu(json: unknown, maintenant: number): Apercu | undefined {
  if (!json || typeof json !== "object") return undefined;
  const liste = json as { name?: unknown; itemListElement?: unknown };
  const nom = texte(liste.name)?.replace(/^Agenda – /, "");
  if (!nom || !Array.isArray(liste.itemListElement)) return undefined;
  const tous: RendezVousApercu[] = [];
  for (const e of liste.itemListElement as Evenement[]) {
    const occurrences = Array.isArray(e?.subEvent) ? (e.subEvent as Evenement[]) : [e];
    for (const o of occurrences) {
      const titre = texte(o?.name);
      const debut = texte(o?.startDate);
      if (!titre || !debut || !(Date.parse(debut) >= maintenant)) continue;
      tous.push({
        titre,
        debut,
        lieu: lieu(o.location ?? e.location),
        annule: texte(o.eventStatus)?.endsWith("/EventCancelled") ?? false,
      });
    }
  }
  tous.sort((a, b) => Date.parse(a.debut) - Date.parse(b.debut));
  return { nom, rendezVous: tous.slice(0, NOMBRE) };
}

/** Fetches the preview of territory `doc` (with an invitation `token` for
 * a private one); undefined when there is none or the network fails. */
export async function chargerApercu(doc: string, token?: string): Promise<Apercu | undefined> {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  try {
    const reponse = await fetch(`/t/${encodeURIComponent(doc)}/apercu.json${query}`);
    if (!reponse.ok) return undefined;
    return lireApercu(await reponse.json(), Date.now());
  } catch {
    return undefined;
  }
}

const INSECABLE = "\u00a0";

/** `samedi 1er mars à 18 h 30`, the year added when not this year's. */
export function quandApercu(debut: string, maintenant = new Date()): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(debut);
  if (!m) return debut;
  const [annee, mois, jour, heure, minute] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(annee, mois - 1, jour));
  const options: Intl.DateTimeFormatOptions = { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" };
  if (annee !== maintenant.getFullYear()) options.year = "numeric";
  const jourTexte = new Intl.DateTimeFormat("fr-FR", options).format(date).replace(/^(\S+) 1 /, "$1 1er ");
  const h = `${heure}${INSECABLE}h${minute ? `${INSECABLE}${String(minute).padStart(2, "0")}` : ""}`;
  return `${jourTexte} à ${h}`;
}

export function VueApercu({ apercu }: { apercu: Apercu }) {
  return (
    <section class="apercu" aria-labelledby="apercu-titre" aria-busy="true" data-testid="apercu">
      <p class="apercu-note" role="status">
        <Icone nom="en_cours" /> Aperçu, chargement de l'application…
      </p>
      <h1 id="apercu-titre">{apercu.nom}</h1>
      <h2>Prochains rendez-vous</h2>
      {apercu.rendezVous.length === 0 ? (
        <p>Les rendez-vous arrivent avec l'application.</p>
      ) : (
        <ul class="apercu-liste">
          {apercu.rendezVous.map((r) => (
            <li class="carte" key={`${r.debut}${r.titre}`}>
              <p class="apercu-quand">
                <Icone nom="heure" /> <time dateTime={r.debut}>{quandApercu(r.debut)}</time>
                {r.annule && <strong class="apercu-annule"> · Annulé</strong>}
              </p>
              <p class="apercu-titre">{r.titre}</p>
              {r.lieu && (
                <p class="apercu-lieu">
                  <Icone nom="lieu" /> {r.lieu}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
