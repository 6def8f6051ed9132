// Builds the PWA into dist/. The `service-worker` plugin writes dist/sw.js
// from sw-template.js with the list of every built file, so the worker
// precaches exactly this build and changes whenever the build does. The
// `precompress` plugin writes .br and .gz next to each text and wasm file,
// which the relay serves to browsers that accept them (the wasm is about
// four times smaller in brotli).

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

function serviceWorker(): Plugin {
  return {
    name: "service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((name) => !name.endsWith(".map"));
      const precache = ["/", ...files.map((name) => `/${name}`), "/manifest.webmanifest", "/icon.svg"];
      const version = createHash("sha256").update(JSON.stringify(precache)).digest("hex").slice(0, 16);
      const source = readFileSync(new URL("./sw-template.js", import.meta.url), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(precache));
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
