// The pieces of the agenda screen (`territoire.tsx`): local calendar days
// (the device's day, Monday first), a day's rendez-vous as cards under a
// header with a date badge, the month grid, chantiers with their progress,
// and "Ajouter à mon calendrier" (the territory's feed, one rendez-vous).
// Every word about dates comes from sync-core through `modele.ts`; this
// module only counts days. It does not read documents: the screen hands it
// the read model and the rendez-vous.

import { useState } from "preact/hooks";
import type { Agenda, RendezVous, Theme } from "../genere/agenda";
import { Icone } from "../icones";
import { cleJour, heure, jourCourt, jourEnLettres, libelles, quand } from "../modele";
import { PastilleTheme, couleurDuTheme } from "../themes";
import { adresseIcs } from "./calendrier";
import { EtatOccurrence } from "./occurrence";


/** Local midnight `n` days after `d`'s day (DST-safe). */
export const plusJours = (d: Date, n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);

/** The Monday starting `d`'s calendar week. */
export const lundi = (d: Date) => plusJours(d, -((d.getDay() + 6) % 7));

/** The local day a rendez-vous starts on, on this device. */
export const jourDe = (r: RendezVous) => cleJour(new Date(r.occurrence.debut_utc));

/** Rendez-vous by local day, in order. */
export function parJour(liste: RendezVous[]): Map<string, RendezVous[]> {
  const jours = new Map<string, RendezVous[]>();
  for (const r of liste) {
    const jour = jourDe(r);
    const deja = jours.get(jour);
    if (deja) deja.push(r);
    else jours.set(jour, [r]);
  }
  return jours;
}

/** Where the relay serves the territory's feeds, and the token if the territory is private. */
export interface Flux {
  base: string;
  jeton?: string;
}

/** `url` with the token (a private territory's) and more query, if any. */
function avecJeton(url: string, jeton?: string, suite?: string): string {
  const q = [jeton && `token=${encodeURIComponent(jeton)}`, suite].filter(Boolean).join("&");
  return q ? `${url}?${q}` : url;
}

const themesDe = (agenda: Agenda, r: RendezVous): Theme[] =>
  r.collection === "actions" ? (agenda.actions[r.id]?.portes_entree ?? []) : [];

/** A day's rendez-vous under its header (date badge, day in words). */
export function Journee({ jour, liste, agenda, doc, flux }: {
  jour: string; liste: RendezVous[]; agenda: Agenda; doc: string; flux: Flux;
}) {
  return (
    <div class="journee">
      <h3 class="jour">
        <span class="badge-date" aria-hidden="true">
          <span>{jourCourt(jour)}</span>
          <strong>{Number(jour.slice(8))}</strong>
        </span>
        {jourEnLettres(jour)}
      </h3>
      <ul class="rdvs">
        {liste.map((r) => <Carte key={`${r.id}-${r.occurrence.origine}`} r={r} agenda={agenda} doc={doc} flux={flux} />)}
      </ul>
    </div>
  );
}

function Carte({ r, agenda, doc, flux }: { r: RendezVous; agenda: Agenda; doc: string; flux: Flux }) {
  const o = r.occurrence;
  const action = r.collection === "actions" ? agenda.actions[r.id] : undefined;
  const themes = themesDe(agenda, r);
  const lieu = o.lieu ?? action?.lieu?.libelle;
  const annule = o.etat === "annule";
  // The relay serves only what its public feeds hold.
  const ics =
    action?.visibilite === "public" && action.publication === "publie"
      ? adresseIcs(doc, r.id, o.origine, flux.jeton)
      : undefined;
  return (
    <li
      class={`rdv${annule ? " annule" : ""}`}
      style={themes[0] ? { "--couleur-theme": couleurDuTheme(themes[0]) } : undefined}
    >
      <span class="rdv-heure">{annule ? <s>{heure(o.debut)}</s> : heure(o.debut)}</span>
      <div class="rdv-corps">
        <a class="rdv-titre" href={`#/territoire/${doc}/action/${r.id}`}>{r.titre}</a>
        <EtatOccurrence occurrence={o} />
        {lieu && (
          <span class="rdv-lieu">
            <Icone nom="lieu" taille={16} /> {lieu}
          </span>
        )}
        {themes.length > 0 && (
          <span class="rdv-themes">
            {themes.map((t) => <PastilleTheme key={t} theme={t} />)}
          </span>
        )}
      </div>
      {ics && (
        <a class="bouton discret rdv-ajout" href={ics} download aria-label={`Ajouter à mon calendrier (${quand(o.debut)})`}>
          <Icone nom="calendrier_ajout" />
        </a>
      )}
    </li>
  );
}

/** "Aucun rendez-vous", "1 rendez-vous", "3 rendez-vous" (invariable). */
export const nombreRdv = (n: number) => (n ? `${n} rendez-vous` : "aucun rendez-vous");

/** The month grid: 7 columns from Monday, one button per day with its dots. */
export function Grille({ jours, cles, parJ, mois, choisi, aujourdhui, agenda, choisir }: {
  jours: Date[]; cles: string[]; parJ: Map<string, RendezVous[]>; mois: number; choisi: string; aujourdhui: string;
  agenda: Agenda; choisir: (jour: string) => void;
}) {
  const semaines = Array.from({ length: jours.length / 7 }, (_, i) => i * 7);
  return (
    <table class="mois" data-testid="grille-mois">
      <thead>
        <tr>
          {cles.slice(0, 7).map((k) => <th key={k} scope="col">{jourCourt(k)}</th>)}
        </tr>
      </thead>
      <tbody>
        {semaines.map((s) => (
          <tr key={s}>
            {cles.slice(s, s + 7).map((k, i) => {
              const liste = parJ.get(k) ?? [];
              const classes = [jours[s + i].getMonth() !== mois && "hors-mois", k === aujourdhui && "aujourdhui"];
              return (
                <td key={k}>
                  <button
                    type="button"
                    class={classes.filter(Boolean).join(" ")}
                    aria-pressed={k === choisi}
                    aria-label={`${jourEnLettres(k)}${k === aujourdhui ? " (aujourd'hui)" : ""}, ${nombreRdv(liste.length)}`}
                    onClick={() => choisir(k)}
                  >
                    {Number(k.slice(8))}
                    <span class="points" aria-hidden="true">
                      {liste.slice(0, 3).map((r) => {
                        const t = themesDe(agenda, r)[0];
                        return <span key={`${r.id}-${r.occurrence.origine}`} style={t ? { background: couleurDuTheme(t) } : undefined} />;
                      })}
                    </span>
                  </button>
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Chantiers: actions without a rhythm, with their state, phase and progress. */
export function Chantiers({ liste, doc }: { liste: [string, Agenda["actions"][string]][]; doc: string }) {
  const l = libelles();
  if (liste.length === 0) return <p class="vide">Aucun chantier en cours.</p>;
  return (
    <ul class="chantiers">
      {liste.map(([id, a]) => {
        const t = a.portes_entree[0];
        const avancement = Math.max(0, Math.min(100, Math.round(a.avancement)));
        return (
          <li key={id} class="chantier" style={t ? { "--couleur-theme": couleurDuTheme(t) } : undefined}>
            <a class="rdv-titre" href={`#/territoire/${doc}/action/${id}`}>{a.titre}</a>
            <span class="chantier-etat">
              <Icone nom="chantier" taille={16} /> {l.statut[a.statut]} · {l.phase_action[a.phase]}
            </span>
            <span class="avancement">
              <progress max={100} value={avancement} aria-label={`Avancement de ${a.titre}`} />
              <span>{avancement}&nbsp;%</span>
            </span>
          </li>
        );
      })}
    </ul>
  );
}

/** "Ajouter à mon calendrier": subscribe to the territory's feed, or copy its address. */
export function Abonnement({ flux, prive }: { flux: Flux; prive: boolean }) {
  const [copie, setCopie] = useState("");
  if (prive && !flux.jeton) {
    return (
      <p class="aide">
        L'agenda de ce territoire est privé&nbsp;: il s'ajoute à un calendrier depuis un appareil qui a rejoint le
        territoire avec une invitation.
      </p>
    );
  }
  const https = avecJeton(`${flux.base}/agenda.ics`, flux.jeton);
  const copier = () =>
    navigator.clipboard.writeText(https).then(
      () => setCopie("Adresse copiée."),
      () => setCopie("Copie impossible ici\u00a0: sélectionnez l'adresse et copiez-la."),
    );
  return (
    <>
      <p>Recevez les rendez-vous du territoire dans l'agenda de votre téléphone, tenus à jour.</p>
      <p class="actions">
        <a class="bouton" href={https.replace(/^https?:/, "webcal:")}>
          <Icone nom="calendrier_ajout" /> S'abonner à l'agenda
        </a>
      </p>
      <div class="champ">
        <label for="adresse-agenda">Adresse de l'agenda (iCalendar)</label>
        <div class="copie">
          <input id="adresse-agenda" readOnly value={https} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" class="secondaire" onClick={copier}>
            <Icone nom="copier" /> Copier
          </button>
        </div>
        {prive && (
          <p class="aide" data-testid="adresse-personnelle">
            Cette adresse est personnelle&nbsp;: elle contient votre invitation. Ne la partagez pas.
          </p>
        )}
        <p role="status" class="aide">{copie}</p>
      </div>
    </>
  );
}
