// The map of départements in « Découvrir »: the relay's
// `/carte-departements.json` (built with the app from open geometry,
// web/carte/departements.mjs, checked by the relay, which adds each
// département's name from sync-core's table), fetched when the screen
// opens and kept by the service worker, so it draws offline after one
// visit. Each
// département is a link to its filter whose accessible name says its
// count; the count is also written on it (never colour alone), as on the
// relay's `/territoires/`.
//
// Does not: count territories (the screen hands the counts) or decide
// which départements exist (the map's file does, checked by the relay).

import { useEffect, useState } from "preact/hooks";

interface Trace {
  code: string;
  nom: string;
  d: string;
  x: number;
  y: number;
}

export interface Carte {
  vue: string;
  credit: string;
  departements: Trace[];
  encarts: { x: number; y: number; l: number; h: number }[];
}

let promesse: Promise<Carte | undefined> | undefined;

/** The map, asked once per page; undefined when it cannot be had (offline before any visit). */
function chargerCarte(): Promise<Carte | undefined> {
  promesse ??= fetch("/carte-departements.json")
    .then((r) => (r.ok ? r.json() : undefined))
    .then((c) => (c && typeof c.vue === "string" && Array.isArray(c.departements) ? (c as Carte) : undefined))
    .catch(() => undefined)
    .finally(() => {
      // A failure is asked again next time the screen opens.
      promesse = undefined;
    });
  return promesse;
}

export function useCarte(): Carte | undefined {
  const [carte, setCarte] = useState<Carte>();
  useEffect(() => {
    let actif = true;
    chargerCarte().then((c) => actif && setCarte(c));
    return () => {
      actif = false;
    };
  }, []);
  return carte;
}

const teinte = (n: number) => (n === 0 ? 0 : n === 1 ? 1 : n <= 4 ? 2 : 3);

/**
 * The map: `comptes` by département code, `lien` the address of its
 * filter, `choisi` the one shown.
 */
export function CarteDepartements({
  carte,
  comptes,
  lien,
  choisi,
}: {
  carte: Carte;
  comptes: Map<string, number>;
  lien: (code: string) => string;
  choisi?: string;
}) {
  const pluriel = (n: number) => `${n}\u00a0territoire${n > 1 ? "s" : ""}`;
  return (
    <figure class="carte-departements">
      <svg viewBox={carte.vue} role="group" aria-label="Carte des départements" data-testid="carte-departements">
        {carte.encarts.map((e) => (
          <rect key={`${e.x},${e.y}`} class="encart" x={e.x} y={e.y} width={e.l} height={e.h} />
        ))}
        {carte.departements.map((t) => {
          const n = comptes.get(t.code) ?? 0;
          return (
            <a
              key={t.code}
              href={lien(t.code)}
              class={`n${teinte(n)}${choisi === t.code ? " choisi" : ""}`}
              aria-label={`${t.nom} (${t.code})\u00a0: ${pluriel(n)}`}
              aria-current={choisi === t.code ? "true" : undefined}
            >
              <path d={t.d} />
              {n > 0 && (
                <text x={t.x} y={t.y} aria-hidden="true">
                  {n}
                </text>
              )}
            </a>
          );
        })}
      </svg>
      <figcaption class="aide">{carte.credit}</figcaption>
    </figure>
  );
}
