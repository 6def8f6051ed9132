// The shapes of sync-core's read model as the screens use them, and the
// French words shown for its enum values. The read model itself (what is
// valid, what an occurrence is) is sync-core's; this only names things.

import { phraseRythme } from "./pkg/wasm_client.js";

export interface Occurrence {
  origine: string;
  debut: string;
  fin: string;
  debut_utc: string;
  etat: string;
  deplacee: boolean;
  lieu?: string;
}
export interface RendezVous {
  collection: string;
  id: string;
  titre: string;
  occurrence: Occurrence;
}
export interface ValeurConcurrente {
  valeur: unknown;
  auteur?: string;
  date?: number;
}
export interface Conflit {
  chemin: string;
  valeurs: ValeurConcurrente[];
}
export interface Regle {
  freq: string;
  interval?: number;
  par_jour?: string[];
  jusqu_au?: string;
  nombre?: number;
}
export interface Rythme {
  debut: string;
  fuseau: string;
  duree: string;
  regle?: Regle;
  [autre: string]: unknown;
}
export interface Volontaire {
  nom?: string;
  acteur_id?: string;
  date?: string;
  confirme: boolean;
}
export interface Besoin {
  type: string;
  description: string;
  quantite?: number;
  unite?: string;
  statut: string;
  volontaires: Record<string, Volontaire>;
  [autre: string]: unknown;
}
export interface Lieu {
  libelle: string;
  adresse: string;
  [autre: string]: unknown;
}
export interface Action {
  titre: string;
  resume: string;
  description: string;
  nature: string;
  portes_entree: string[];
  statut: string;
  rythme?: Rythme;
  lieu?: Lieu;
  mode_participation: string;
  lien_en_ligne?: string;
  besoins: Record<string, Besoin>;
  visibilite: string;
  publication: string;
  supprime?: boolean;
}
export interface Profil {
  nom: string;
  type: string;
  presentation: string;
  portes_entree: string[];
  visibilite: string;
}
export interface Phase {
  titre: string;
  debut?: string;
  fin?: string;
  description: string;
  statut: string;
}
export interface Agenda {
  profil?: Profil;
  actions: Record<string, Action>;
  feuille_de_route: { horizon_debut?: string; horizon_fin?: string; phases: Record<string, Phase> };
  conflits: Conflit[];
}

/** Occurrence states; the default one says nothing. */
export const ETATS: Record<string, string> = {
  programme: "",
  a_confirmer: "à confirmer",
  reprogramme: "reprogrammé",
  deplace_en_ligne: "en ligne",
  reporte: "reporté",
  complet: "complet",
  annule: "annulé",
};

/** The twelve "portes d'entrée" of the domain model (§5.6). */
export const THEMES: Record<string, string> = {
  economie_locale: "Économie locale",
  alimentation_agriculture: "Alimentation et agriculture",
  gouvernance_democratie: "Gouvernance et démocratie",
  environnement_biodiversite_eau: "Environnement, biodiversité, eau",
  habitat_urbanisme: "Habitat et urbanisme",
  energie: "Énergie",
  mobilite: "Mobilité",
  dechets_reemploi: "Déchets et réemploi",
  solidarites_inclusion: "Solidarités et inclusion",
  culture_education_lien_social: "Culture, éducation, lien social",
  sante_bien_etre: "Santé et bien-être",
  numerique_communs: "Numérique et communs",
};

export const STATUTS_ACTION: Record<string, string> = {
  a_venir: "À venir",
  en_cours: "En cours",
  en_retard: "En retard",
  en_pause: "En pause",
  bloquee: "Bloquée",
  realisee: "Réalisée",
  abandonnee: "Abandonnée",
};

export const VISIBILITES_ACTION: Record<string, string> = {
  public: "Tout le monde",
  membres: "Les membres du territoire",
  prive: "Les organisateurs",
};

export const PUBLICATIONS: Record<string, string> = {
  brouillon: "Brouillon (pas dans l'agenda public)",
  a_moderer: "À relire",
  publie: "Publiée",
  refuse: "Refusée",
};

export const MODES: Record<string, string> = {
  sur_place: "Sur place",
  en_ligne: "En ligne",
  mixte: "Sur place et en ligne",
};

export const TYPES_BESOIN: Record<string, string> = {
  benevoles: "Bénévoles",
  competence: "Compétence",
  materiel: "Matériel",
  lieu: "Lieu",
  financement: "Financement",
  expertise_methodologique: "Expertise méthodologique",
  communication: "Communication",
  transport: "Transport",
};

export const STATUTS_BESOIN: Record<string, string> = {
  ouvert: "ouvert",
  partiellement_pourvu: "partiellement pourvu",
  pourvu: "pourvu",
  clos: "clos",
};

export const TYPES_TERRITOIRE: Record<string, string> = {
  commune: "Commune",
  commune_nouvelle: "Commune nouvelle",
  intercommunalite_epci: "Intercommunalité (EPCI)",
  pays_petr: "Pays ou PETR",
  parc_naturel_regional: "Parc naturel régional",
  quartier: "Quartier",
  bassin_de_vie: "Bassin de vie",
  departement: "Département",
  autre: "Autre",
};

export const VISIBILITES_TERRITOIRE: Record<string, string> = {
  public: "Public : visible de tous",
  reseau: "Réseau : visible des territoires partenaires",
  prive: "Privé : visible des seuls membres",
};

export const STATUTS_PHASE: Record<string, string> = {
  a_venir: "à venir",
  en_cours: "en cours",
  realisee: "réalisée",
  abandonnee: "abandonnée",
};

/** The rhythm as a French sentence, by sync-core. */
export function phrase(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch {
    return "Rythme illisible sur cet appareil (version plus récente ?)";
  }
}

/** The sentence of a rhythm being typed, or why it is not valid yet. */
export function apercu(rythme: unknown): string {
  try {
    return phraseRythme(JSON.stringify(rythme));
  } catch (error) {
    return `Rythme pas encore valide : ${messageDe(error)}`;
  }
}

/** What an error says, for the person who caused it (the core's French text). */
export function messageDe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Midnight today, local time (ms since the epoch). */
export function debutDuJour(): number {
  const maintenant = new Date();
  return new Date(maintenant.getFullYear(), maintenant.getMonth(), maintenant.getDate()).getTime();
}

/** Today as `AAAA-MM-JJ`, local time. */
export function aujourdhui(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** "samedi 6 décembre à 18 h 30" from a local `AAAA-MM-JJTHH:MM:SS`. */
export function quand(localIso: string): string {
  const [date, heure] = localIso.split("T");
  return `${jourEnLettres(date)} à ${heure.slice(0, 5).replace(":", " h ")}`;
}

/** "samedi 6 décembre" from `AAAA-MM-JJ`. */
export function jourEnLettres(date: string): string {
  const [a, m, j] = date.split("-").map(Number);
  return new Date(a, m - 1, j).toLocaleDateString("fr-FR", { weekday: "long", day: "numeric", month: "long" });
}

/** A new record id: random, so records are created offline without clashes. */
export function idAleatoire(): string {
  const octets = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(octets, (o) => o.toString(36).padStart(2, "0")).join("");
}

/** "1 modification", "2 modifications". */
export function pluriel(n: number, mot: string): string {
  return `${n} ${mot}${n > 1 ? "s" : ""}`;
}
