// Essaim's service worker, written out by vite.config.ts with the lists of
// built files (PRECACHE, ORGANISATEUR) and a version derived from them
// (VERSION).
// Install: cache the app shell and every file a resident needs, wasm
// included (PRECACHE).
// ORGANISATEUR: the screens only organisers open (new action,
// invitations), built as separate chunks. They are not
// downloaded on a resident's first visit: a resident's phone on a weak
// network pays only for what it shows. They are cached when first opened,
// and all of them once the page says this device organises (message
// "organisateur", sent when a territory is held as organiser or an
// organiser screen opened), so that an organiser can edit offline after
// the first visit.
// A_LA_DEMANDE: the screens no first visit needs (« Découvrir », another
// territory's action) and the files a screen fetches when it opens (the
// map of départements), cached when first fetched, not at install nor on
// "organisateur".
// Fetch: precached files from the cache (the app opens with no network);
// organiser and on-demand files from the cache, else the network (then
// cached);
// anything else from the network, untouched. The app's routes live in the
// URL's hash, so its only pages are `/` and `/index.html`: a navigation to
// any other path (a territory's page `/t/<id>/`, a feed `*.ics` or
// `*.json`, `/d/…`, `/healthz`, `/invitation`, `/sync`, whatever the relay
// serves) goes to the network and fails as the network fails, never
// answered with the app. The websocket (/sync) is never touched.
// Activate: drop the caches of older versions and take over open pages at
// once (they show "Nouvelle version disponible", see avis-application.tsx).

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const ORGANISATEUR = __ORGANISATEUR__;
const A_LA_DEMANDE = __A_LA_DEMANDE__;
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

/** Caches the organiser files not cached yet. */
async function cacheOrganisateur() {
  const cache = await caches.open(CACHE);
  const manquants = [];
  for (const file of ORGANISATEUR) if (!(await cache.match(file))) manquants.push(file);
  await cache.addAll(manquants);
}

self.addEventListener("message", (event) => {
  if (event.data === "organisateur") event.waitUntil(cacheOrganisateur());
});

/** From the cache, else from the network, kept for the next time. */
async function cacheOuReseau(request, key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const key = SHELL_PAGES.includes(url.pathname) ? "/" : url.pathname;
  if (ORGANISATEUR.includes(key) || A_LA_DEMANDE.includes(key)) {
    event.respondWith(cacheOuReseau(request, key));
    return;
  }
  // Not one of the app's files: the relay answers (or the network fails).
  if (!PRECACHE.includes(key)) return;
  event.respondWith(caches.open(CACHE).then((cache) => cache.match(key)).then((hit) => hit ?? fetch(request)));
});
