// How a theme (an entry door, `portes_entree`) looks: its icon and its
// colour (`--theme-<theme>` in styles/base.css), always next to its French
// label, which is sync-core's (`libelles().theme`). The one place that pairs
// a theme with an icon.

import type { Theme } from "./genere/agenda";
import { Icone, type NomIcone } from "./icones";
import { libelles } from "./modele";

/** The icon of each theme (the drawings share the theme's name). */
export function iconeDuTheme(theme: Theme): NomIcone {
  return theme;
}

/** The CSS colour of a theme, for a border, a dot or the badge's text. */
export function couleurDuTheme(theme: Theme): string {
  return `var(--theme-${theme})`;
}

/** A theme as a small badge: icon and label in the theme's colour. */
export function PastilleTheme({ theme }: { theme: Theme }) {
  return (
    <span class="theme" style={{ "--couleur-theme": couleurDuTheme(theme) }} data-theme={theme}>
      <Icone nom={iconeDuTheme(theme)} taille={16} />
      {libelles().theme[theme] ?? theme}
    </span>
  );
}
