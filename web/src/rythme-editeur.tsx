// The rhythm editor: a date, a time, a length and a French preset ("Chaque
// semaine le mercredi", "Le 1er samedi du mois", "Tous les 15 jours"…),
// turned into sync-core's `Rythme` and read back as sync-core's French
// sentence while it is typed. Rules the presets cannot express (written by
// another tool, or by a feed import) are kept as they are.

import { ChampChoix, ChampDate, ChampHeure } from "./formulaire";
import type { Regle, Rythme } from "./genere/agenda";
import { apercu } from "./modele";

export interface ChampsRythme {
  date: string;
  heure: string;
  duree: string;
  modele: string;
  jusquau: string;
}

const JOURS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const NOMS_JOURS = ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"];
const RANGS = ["1er", "2e", "3e", "4e"];

const DUREES: Record<string, string> = {
  PT30M: "30 minutes",
  PT1H: "1 heure",
  PT1H30M: "1 heure 30",
  PT2H: "2 heures",
  PT3H: "3 heures",
  PT4H: "une demi-journée",
  PT8H: "une journée",
};

/** The fields of a new rendez-vous. */
export function champsVides(): ChampsRythme {
  return { date: "", heure: "18:00", duree: "PT2H", modele: "aucun", jusquau: "" };
}

/** The fields showing an existing rhythm; `personnalise` if no preset fits. */
export function champsDuRythme(r: Rythme): ChampsRythme {
  const [date, heure] = r.debut.split("T");
  const regle = r.regle;
  let modele = "personnalise";
  if (!regle) modele = "aucun";
  else if (regle.nombre === undefined && (regle.par_jour?.length ?? 0) === 1) {
    const keys = Object.keys(regle).filter((k) => !["freq", "interval", "par_jour", "jusqu_au"].includes(k));
    const interval = regle.interval ?? 1;
    const jour = regle.par_jour![0];
    if (keys.length === 0 && regle.freq === "WEEKLY" && /^[A-Z]{2}$/.test(jour)) {
      if (interval === 1) modele = "hebdo";
      if (interval === 2) modele = "quinzaine";
    }
    if (keys.length === 0 && regle.freq === "MONTHLY" && interval === 1 && /^-?\d[A-Z]{2}$/.test(jour)) modele = "mensuel";
  }
  return {
    date,
    heure: heure.slice(0, 5),
    duree: r.duree,
    modele,
    jusquau: typeof regle?.jusqu_au === "string" ? regle.jusqu_au.slice(0, 10) : "",
  };
}

/** Field errors that stop the rhythm from being built. */
export function erreursRythme(c: ChampsRythme): Record<string, string> {
  const erreurs: Record<string, string> = {};
  if (!c.date) erreurs.date = "Indiquez la date du premier rendez-vous.";
  if (!/^\d\d:\d\d$/.test(c.heure)) erreurs.heure = "Indiquez l'heure de début, par exemple 18\u00a0h\u00a030.";
  const repete = c.modele !== "aucun" && c.modele !== "personnalise";
  if (repete && !c.jusquau) erreurs.jusquau = "Indiquez jusqu'à quand ce rendez-vous se répète.";
  if (repete && c.jusquau && c.date && c.jusquau < c.date) erreurs.jusquau = "La date de fin doit suivre la date de début.";
  return erreurs;
}

/**
 * The rhythm of these fields. `base` is the rhythm being edited: its
 * exceptions, pauses and exclusions stay, and so does its rule when the
 * preset is `personnalise`.
 */
export function rythmeDesChamps(c: ChampsRythme, base?: Rythme): Rythme {
  const debut = `${c.date}T${c.heure}:00`;
  const [a, m, j] = c.date.split("-").map(Number);
  const jour = JOURS[new Date(a, m - 1, j).getDay()];
  const rang = Math.ceil(j / 7);
  const regles: Record<string, Regle> = {
    hebdo: { freq: "WEEKLY", par_jour: [jour] },
    quinzaine: { freq: "WEEKLY", interval: 2, par_jour: [jour] },
    mensuel: { freq: "MONTHLY", par_jour: [`${rang > 4 ? -1 : rang}${jour}`] },
  };
  const rythme: Rythme = { ...(base ?? {}), debut, fuseau: base?.fuseau ?? "Europe/Paris", duree: c.duree };
  if (c.modele === "personnalise") return rythme;
  delete rythme.regle;
  const regle = regles[c.modele];
  if (regle) rythme.regle = { ...regle, jusqu_au: c.jusquau };
  return rythme;
}

/** The presets' names, said with the chosen date's weekday. */
function modeles(c: ChampsRythme): Record<string, string> {
  let jour = "le même jour";
  let mensuel = "Chaque mois, le même jour de la semaine (ex. 1er samedi)";
  if (c.date) {
    const [a, m, j] = c.date.split("-").map(Number);
    const nom = NOMS_JOURS[new Date(a, m - 1, j).getDay()];
    jour = `le ${nom}`;
    const rang = Math.ceil(j / 7);
    mensuel = rang > 4 ? `Le dernier ${nom} du mois` : `Le ${RANGS[rang - 1]} ${nom} du mois`;
  }
  const liste: Record<string, string> = {
    aucun: "Une seule fois",
    hebdo: `Chaque semaine ${jour}`,
    quinzaine: `Tous les 15 jours, ${jour}`,
    mensuel,
  };
  if (c.modele === "personnalise") liste.personnalise = "Garder le rythme actuel";
  return liste;
}

export function EditeurRythme({ champs, erreurs, onChange, base }: {
  champs: ChampsRythme;
  erreurs: Record<string, string>;
  onChange: (champs: ChampsRythme, modifie: keyof ChampsRythme) => void;
  base?: Rythme;
}) {
  const maj = (nom: keyof ChampsRythme) => (valeur: string) => onChange({ ...champs, [nom]: valeur }, nom);
  const repete = champs.modele !== "aucun" && champs.modele !== "personnalise";
  const duree = DUREES[champs.duree] ? DUREES : { ...DUREES, [champs.duree]: `durée actuelle (${champs.duree})` };
  return (
    <>
      <ChampDate id="date" label="Date du premier rendez-vous" erreur={erreurs.date} valeur={champs.date} onDate={maj("date")} />
      <ChampHeure id="heure" label="Heure de début" erreur={erreurs.heure} valeur={champs.heure} onHeure={maj("heure")} />
      <ChampChoix id="duree" label="Durée" valeur={champs.duree} choix={duree} onChoix={maj("duree")} />
      <ChampChoix id="rythme" label="Rythme" valeur={champs.modele} choix={modeles(champs)} onChoix={maj("modele")} />
      {repete && <ChampDate id="jusquau" label="Jusqu'au" erreur={erreurs.jusquau} valeur={champs.jusquau} onDate={maj("jusquau")} />}
      {champs.date && (!repete || champs.jusquau) && (
        <p aria-live="polite" data-testid="apercu-rythme">
          {apercu(rythmeDesChamps(champs, base))}
        </p>
      )}
    </>
  );
}
