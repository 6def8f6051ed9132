// Essaim's service worker, written out by vite.config.ts with the list of
// built files (PRECACHE) and a version derived from it (VERSION).
// Install: cache the app shell and every built file, wasm included.
// Fetch: precached files from the cache (the app opens with no network);
// anything else from the network, untouched. The app's routes live in the
// URL's hash, so its only pages are `/` and `/index.html`: a navigation to
// any other path (a territory's page `/t/<id>/`, a feed `*.ics` or
// `*.json`, `/d/…`, `/healthz`, `/invitation`, `/sync`, whatever the relay
// serves) goes to the network and fails as the network fails, never
// answered with the app. The websocket (/sync) is never touched.
// Activate: drop the caches of older versions.

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const CACHE = `essaim-${VERSION}`;
/** The app's own pages: both are the shell, cached under `/`. */
const SHELL_PAGES = ["/", "/index.html"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("essaim-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const key = SHELL_PAGES.includes(url.pathname) ? "/" : url.pathname;
  // Not one of the app's files: the relay answers (or the network fails).
  if (!PRECACHE.includes(key)) return;
  event.respondWith(caches.open(CACHE).then((cache) => cache.match(key)).then((hit) => hit ?? fetch(request)));
});
