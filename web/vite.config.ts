// Builds the PWA into dist/. The `service-worker` plugin writes dist/sw.js
// from sw-template.js with the lists of built files (what a resident needs,
// precached at install; the organiser screens, cached when needed), so the
// worker caches exactly this build and changes whenever the build does. The
// `precompress` plugin writes .br and .gz next to each text and wasm file,
// which the relay serves to browsers that accept them (the wasm is about
// four times smaller in brotli). The `carte` plugin writes the map of
// départements (carte/departements.mjs), which the relay draws in
// `/territoires/` and « Découvrir » fetches when it opens: cached by the
// service worker then, never precached (a resident's first visit does not
// pay for it).

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
// @ts-expect-error: a plain ES module, typed by its JSDoc-free use here.
import { carteDepartements } from "./carte/departements.mjs";

/** Files (not chunks) a screen fetches when it opens, then kept by the
 * service worker. */
const A_LA_DEMANDE = ["/carte-departements.json"];

/** Screens no first visit needs (paresseux.tsx's `aLaDemande`). */
const ECRANS_A_LA_DEMANDE = /\/src\/ecrans\/(decouvrir|action-publique|historique|fiche-lecture)\.tsx$/;

type Fichier = {
  type: string;
  fileName: string;
  isEntry?: boolean;
  facadeModuleId?: string | null;
  imports?: string[];
  dynamicImports?: string[];
};

/** The built files, in three lists: what the service worker caches at
 * install (`precache`: the page, the entry and what it imports, the app
 * chunks the entry imports dynamically, the wasm, the CSS), the organiser
 * screens (`organisateur`: chunks the app itself imports dynamically, see
 * web/src/paresseux.tsx, and what only they import), and the other
 * screens loaded when opened (`aLaDemande`: « Découvrir » and another
 * territory's action, and what only they import), with the files fetched
 * on demand (`A_LA_DEMANDE`). */
export function listes(bundle: Record<string, Fichier>) {
  const chunks = Object.values(bundle).filter((f) => f.type === "chunk");
  const statiques = (depart: string[]) => {
    const vus = new Set<string>();
    const pile = [...depart];
    while (pile.length) {
      const nom = pile.pop()!;
      if (vus.has(nom)) continue;
      vus.add(nom);
      pile.push(...(bundle[nom]?.imports ?? []));
    }
    return vus;
  };
  const entree = statiques(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
  const app = statiques([...entree].flatMap((nom) => bundle[nom]?.dynamicImports ?? []));
  const coeur = new Set([...entree, ...app]);
  // The screens loaded when opened, and what each reaches: a chunk an
  // organiser screen reaches is the organisers' (cached ahead for them).
  const ecrans = [...new Set(chunks.flatMap((c) => c.dynamicImports ?? []))].filter((nom) => !coeur.has(nom));
  const ecransALaDemande = ecrans.filter((nom) => ECRANS_A_LA_DEMANDE.test(bundle[nom]?.facadeModuleId ?? ""));
  const pourOrganisateur = statiques(ecrans.filter((nom) => !ecransALaDemande.includes(nom)));
  const fichiers = Object.keys(bundle).filter((name) => !name.endsWith(".map"));
  const precache = [
    "/",
    ...fichiers
      .filter((n) => (bundle[n].type !== "chunk" || coeur.has(n)) && !A_LA_DEMANDE.includes(`/${n}`))
      .map((n) => `/${n}`),
    "/manifest.webmanifest",
    "/icon.svg",
  ];
  const paresseux = (n: string) => bundle[n].type === "chunk" && !coeur.has(n);
  const organisateur = fichiers.filter((n) => paresseux(n) && pourOrganisateur.has(n)).map((n) => `/${n}`);
  const aLaDemande = fichiers.filter((n) => paresseux(n) && !pourOrganisateur.has(n)).map((n) => `/${n}`);
  return { precache, organisateur, aLaDemande };
}

function serviceWorker(): Plugin {
  return {
    name: "service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const { precache, organisateur, aLaDemande } = listes(bundle as never);
      // The files fetched on demand keep their names: their content makes
      // the version, so a new map replaces the cached one.
      const contenus = A_LA_DEMANDE.map((f) => String((bundle[f.slice(1)] as { source?: unknown } | undefined)?.source ?? ""));
      const version = createHash("sha256")
        .update(JSON.stringify([precache, organisateur, aLaDemande, contenus]))
        .digest("hex")
        .slice(0, 16);
      const source = readFileSync(new URL("./sw-template.js", import.meta.url), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(precache))
        .replace("__ORGANISATEUR__", JSON.stringify(organisateur))
        .replace("__A_LA_DEMANDE__", JSON.stringify([...aLaDemande, ...A_LA_DEMANDE]));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

function carte(): Plugin {
  return {
    name: "carte",
    apply: "build",
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "carte-departements.json", source: carteDepartements() });
    },
  };
}

function precompress(): Plugin {
  return {
    name: "precompress",
    apply: "build",
    writeBundle(options) {
      const dir = options.dir ?? "dist";
      const walk = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
      for (const file of walk(dir).filter((f) => /\.(wasm|js|json|css|html|svg|webmanifest)$/.test(f))) {
        const bytes = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", assetsInlineLimit: 0 },
  plugins: [carte(), serviceWorker(), precompress()],
});
