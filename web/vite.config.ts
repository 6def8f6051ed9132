// Builds the PWA into dist/. The `service-worker` plugin writes dist/sw.js
// from sw-template.js with the lists of built files (what a resident needs,
// precached at install; the organiser screens, cached when needed), so the
// worker caches exactly this build and changes whenever the build does. The
// `precompress` plugin writes .br and .gz next to each text and wasm file,
// which the relay serves to browsers that accept them (the wasm is about
// four times smaller in brotli).

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

/** The built files, in two lists: what the service worker caches at
 * install (`precache`: the page, the entry and what it imports, the app
 * chunks the entry imports dynamically, the wasm, the CSS) and the
 * organiser screens (`organisateur`: chunks the app itself imports
 * dynamically, see web/src/paresseux.tsx, and what only they import). */
export function listes(bundle: Record<string, { type: string; fileName: string; isEntry?: boolean; imports?: string[]; dynamicImports?: string[] }>) {
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
  const fichiers = Object.keys(bundle).filter((name) => !name.endsWith(".map"));
  const precache = ["/", ...fichiers.filter((n) => bundle[n].type !== "chunk" || coeur.has(n)).map((n) => `/${n}`), "/manifest.webmanifest", "/icon.svg"];
  const organisateur = fichiers.filter((n) => bundle[n].type === "chunk" && !coeur.has(n)).map((n) => `/${n}`);
  return { precache, organisateur };
}

function serviceWorker(): Plugin {
  return {
    name: "service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const { precache, organisateur } = listes(bundle as never);
      const version = createHash("sha256")
        .update(JSON.stringify([precache, organisateur]))
        .digest("hex")
        .slice(0, 16);
      const source = readFileSync(new URL("./sw-template.js", import.meta.url), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(precache))
        .replace("__ORGANISATEUR__", JSON.stringify(organisateur));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
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
      for (const file of walk(dir).filter((f) => /\.(wasm|js|css|html|svg|webmanifest)$/.test(f))) {
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
  plugins: [serviceWorker(), precompress()],
});
