// The app's icons: inline SVG drawn for Essaim on a 24-unit grid with
// strokes of currentColor, so they follow the text's colour in light and
// dark modes and cost no request. An icon is decorative (aria-hidden) unless
// given a `titre`, when it is an image with that accessible name. The
// themes' icons are here too; which icon a theme has is `themes.tsx`'s.

/** Each icon's drawing: SVG elements inside a 24×24 view box. */
const DESSINS = {
  // Navigation and shell.
  agenda: <><rect x="3" y="5" width="18" height="16" rx="2" /><path d="M3 10h18M8 3v4M16 3v4" /></>,
  territoire: <><path d="M12 21s-7-6.2-7-11a7 7 0 0 1 14 0c0 4.8-7 11-7 11z" /><circle cx="12" cy="10" r="2.5" /></>,
  decouvrir: <><circle cx="12" cy="12" r="9" /><path d="M15.5 8.5l-2 5-5 2 2-5z" /></>,
  moi: <><circle cx="12" cy="8" r="4" /><path d="M4 21c1-4.5 4.5-6.5 8-6.5s7 2 8 6.5" /></>,
  accueil: <><path d="M3 11l9-7 9 7" /><path d="M5 10v10h14V10" /></>,
  // Sync states.
  synchronise: <><path d="M7 18a5 5 0 0 1-.6-10A6 6 0 0 1 18 9a4.5 4.5 0 0 1-.5 9z" /><path d="M9.5 13l2 2 3.5-3.5" /></>,
  hors_ligne: <><path d="M7 18a5 5 0 0 1-.6-10A6 6 0 0 1 18 9a4.5 4.5 0 0 1-.5 9z" /><path d="M4 4l16 16" /></>,
  en_cours: <><path d="M20 12a8 8 0 0 1-14 5.3M4 12a8 8 0 0 1 14-5.3" /><path d="M18 3v4h-4M6 21v-4h4" /></>,
  alerte: <><path d="M12 3l10 18H2z" /><path d="M12 10v5M12 18v.5" /></>,
  // Actions.
  plus: <path d="M12 5v14M5 12h14" />,
  retour: <path d="M15 5l-7 7 7 7" />,
  suivant: <path d="M9 5l7 7-7 7" />,
  modifier: <><path d="M4 20h4L19 9l-4-4L4 16z" /><path d="M13 7l4 4" /></>,
  supprimer: <><path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" /><path d="M10 11v6M14 11v6" /></>,
  annuler: <><circle cx="12" cy="12" r="9" /><path d="M8.5 8.5l7 7M15.5 8.5l-7 7" /></>,
  retablir: <><path d="M4 12a8 8 0 1 0 2.5-5.8" /><path d="M4 3v5h5" /></>,
  partager: <><circle cx="6" cy="12" r="2.5" /><circle cx="18" cy="6" r="2.5" /><circle cx="18" cy="18" r="2.5" /><path d="M8.2 10.8l7.6-3.6M8.2 13.2l7.6 3.6" /></>,
  calendrier_ajout: <><rect x="3" y="5" width="18" height="16" rx="2" /><path d="M3 10h18M8 3v4M16 3v4M12 13v6M9 16h6" /></>,
  copier: <><rect x="8" y="8" width="12" height="12" rx="2" /><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3" /></>,
  lieu: <><path d="M12 21s-7-6.2-7-11a7 7 0 0 1 14 0c0 4.8-7 11-7 11z" /><circle cx="12" cy="10" r="2.5" /></>,
  heure: <><circle cx="12" cy="12" r="9" /><path d="M12 7v5l3 2" /></>,
  carte: <><path d="M3 6l6-2 6 2 6-2v14l-6 2-6-2-6 2z" /><path d="M9 4v14M15 6v14" /></>,
  liste: <path d="M8 6h13M8 12h13M8 18h13M3.5 6h.5M3.5 12h.5M3.5 18h.5" />,
  grille: <><rect x="3" y="4" width="18" height="17" rx="2" /><path d="M3 9.5h18M3 15h18M9 4v17M15 4v17" /></>,
  personnes: <><circle cx="9" cy="8" r="3.5" /><path d="M2.5 20c.8-3.8 3.4-5.5 6.5-5.5s5.7 1.7 6.5 5.5" /><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14.7c2 .7 3.1 2.4 3.5 5.3" /></>,
  chantier: <><path d="M4 20h16" /><path d="M6 20V10l6-4 6 4v10" /><path d="M10 20v-5h4v5" /></>,
  inviter: <><circle cx="9" cy="8" r="3.5" /><path d="M2.5 20c.8-3.8 3.4-5.5 6.5-5.5s5.7 1.7 6.5 5.5M19 8v6M16 11h6" /></>,
  installer: <><path d="M12 3v12M7 10l5 5 5-5" /><path d="M4 17v3h16v-3" /></>,
  quitter: <><path d="M15 4h4v16h-4" /><path d="M10 8l-4 4 4 4M6 12h10" /></>,
  valider: <path d="M5 12.5l4.5 4.5L19 7" />,
  fermer: <path d="M6 6l12 12M18 6L6 18" />,
  reglages: <><circle cx="12" cy="12" r="3" /><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1" /></>,
  // Themes (see themes.tsx).
  economie_locale: <><circle cx="12" cy="12" r="9" /><path d="M15.5 8.5a4 4 0 1 0 0 7M7 11h6M7 13.5h6" /></>,
  alimentation_agriculture: <><path d="M12 21V11" /><path d="M12 11C12 6 8 4 4 4c0 4 2 7 8 7zM12 14c0-4 3-6 8-6 0 4-3 6-8 6z" /></>,
  gouvernance_democratie: <><path d="M4 5h12v8H9l-4 3v-3H4z" /><path d="M16 9h4v8h-1v3l-4-3h-4v-2" /></>,
  environnement_biodiversite_eau: <path d="M12 3s6 6.5 6 11a6 6 0 0 1-12 0c0-4.5 6-11 6-11z" />,
  habitat_urbanisme: <><path d="M3 11l9-7 9 7" /><path d="M5 10v10h14V10M10 20v-6h4v6" /></>,
  energie: <path d="M13 2L5 13h6l-1 9 8-11h-6z" />,
  mobilite: <><circle cx="6" cy="16" r="3.5" /><circle cx="18" cy="16" r="3.5" /><path d="M6 16l4-7h5l3 7M10 9l2 7h-0M9 6h3" /></>,
  dechets_reemploi: <><path d="M20 12a8 8 0 0 1-13.7 5.6" /><path d="M4 12a8 8 0 0 1 13.7-5.6" /><path d="M18 3v4h-4M6 21v-4h4" /></>,
  solidarites_inclusion: <path d="M12 20s-8-4.8-8-10.5A4.5 4.5 0 0 1 12 7a4.5 4.5 0 0 1 8 2.5C20 15.2 12 20 12 20z" />,
  culture_education_lien_social: <><path d="M3 5c3-1 6-1 9 1v14c-3-2-6-2-9-1z" /><path d="M21 5c-3-1-6-1-9 1v14c3-2 6-2 9-1z" /></>,
  sante_bien_etre: <><rect x="3" y="3" width="18" height="18" rx="4" /><path d="M12 8v8M8 12h8" /></>,
  numerique_communs: <><circle cx="12" cy="5" r="2.5" /><circle cx="5" cy="18" r="2.5" /><circle cx="19" cy="18" r="2.5" /><path d="M11 7.2l-4.8 8.5M13 7.2l4.8 8.5M7.5 18h9" /></>,
} as const;

export type NomIcone = keyof typeof DESSINS;

/** An icon; decorative unless `titre` names it. */
export function Icone({ nom, taille = 20, titre }: { nom: NomIcone; taille?: number; titre?: string }) {
  return (
    <svg
      class="icone"
      width={taille}
      height={taille}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      {...(titre ? { role: "img", "aria-label": titre } : { "aria-hidden": "true", focusable: "false" })}
    >
      {DESSINS[nom]}
    </svg>
  );
}
