// A territory's first download, over HTTP, chunk by chunk (the browser's
// side of the relay's chunk API; the Rust client's is `download.rs`).
// Automerge's first websocket sync sends a whole document in one message,
// which a link that drops every few seconds never completes; the relay also
// serves a document's stored chunks (`/d/<doc>/chunks`), each of which is
// valid Automerge data on its own. Each chunk is fetched with `Range` from
// what already arrived, and kept in IndexedDB as it arrives, so a dropped
// link, a reload or a closed tab loses nothing. The listing names the
// relay's store (`Essaim-Storage-Id`), which the caller passes on so that a
// sync state with that store is stored with the chunks.
//
// Does not: decide when to download or what to do with a complete
// download (`first-load.ts`), or anything about sync: the chunks' names
// and keys are the relay's and sync-core's.

import type { PartialChunk, Storage } from "../storage";

/**
 * The network failed (offline, dropped link, silence): what arrived is
 * kept, try again later.
 */
export class Offline extends Error {}

/** An entry of the relay's listing. */
interface Listed {
  type: string;
  name: string;
  bytes: number;
}

/**
 * A complete download. `relay`: the relay's storage id, if every listing
 * of this attempt named the same (chunks kept from an earlier attempt came
 * from the same relay address).
 */
export interface Complete {
  relay?: string;
}

/** A read that brings nothing for this long means a dead link. */
const SILENCE_MS = 20_000;
/** Bytes kept in memory before they are written to IndexedDB. */
const PIECE = 16 * 1024;
/** Listings in one attempt: each after the first follows a chunk compacted away. */
const MAX_LISTINGS = 4;
/** Requests for one chunk in one attempt. */
const MAX_REQUESTS = 8;

/**
 * Downloads what IndexedDB lacks of `doc`'s chunks. `Complete`: every
 * listed chunk is there; "refused": the relay does not serve them (unknown
 * document, refused invitation, an older relay): sync over the websocket
 * instead. Throws `Offline` when the network fails.
 */
export async function download(
  base: string,
  doc: string,
  tokens: string,
  storage: Storage,
  progress: (done: number, total: number) => void,
): Promise<Complete | "refused"> {
  const query = tokens ? `?token=${encodeURIComponent(tokens)}` : "";
  // undefined before the first listing; null once one lacks it or two differ.
  let relay: string | null | undefined;
  for (let listings = 0; listings < MAX_LISTINGS; listings++) {
    const response = await request(`${base}/d/${doc}/chunks${query}`, {});
    if (!response.ok) return "refused";
    const named = response.headers.get("Essaim-Storage-Id");
    relay = relay === undefined || relay === named ? named : null;
    const listing = parseListing(await text(response));
    if (!listing) return "refused";
    const held = await prepare(storage, doc, listing);
    const total = listing.reduce((n, c) => n + c.bytes, 0);
    let done = listing.reduce((n, c) => n + (held.get(`${c.type}/${c.name}`)?.received ?? 0), 0);
    progress(done, total);
    let gone = false;
    for (const chunk of listing) {
      let received = held.get(`${chunk.type}/${chunk.name}`)?.received ?? 0;
      const others = done - received;
      const url = `${base}/d/${doc}/chunks/${chunk.type}/${chunk.name}${query}`;
      for (let n = 0; received < chunk.bytes; n++) {
        if (n === MAX_REQUESTS) return "refused";
        const next = await fetchChunk(url, doc, chunk, received, storage, (now) => progress(others + now, total));
        if (next === "refused") return "refused";
        if (next === "gone") break;
        received = next;
      }
      done = others + received;
      if (received < chunk.bytes) {
        // Compacted away: list again. Complete chunks stay (valid data).
        await storage.forgetChunk(doc, chunk.type, chunk.name);
        gone = true;
        break;
      }
    }
    if (!gone) return { relay: relay ?? undefined };
  }
  return "refused";
}

/** The listing, if it is the relay's; undefined otherwise. */
function parseListing(body: string): Listed[] | undefined {
  let listing: unknown;
  try {
    listing = JSON.parse(body);
  } catch {
    return undefined;
  }
  const valid = (c: Listed) =>
    (c.type === "snapshot" || c.type === "incremental") &&
    typeof c.name === "string" &&
    /^[0-9A-Za-z]{1,128}$/.test(c.name) &&
    Number.isSafeInteger(c.bytes) &&
    c.bytes >= 0;
  return Array.isArray(listing) && listing.every(valid) ? listing : undefined;
}

/**
 * Lines IndexedDB up with a listing: unfinished chunks no longer listed
 * are forgotten (complete ones stay), new ones are started.
 */
async function prepare(storage: Storage, doc: string, listing: Listed[]): Promise<Map<string, PartialChunk>> {
  const held = await storage.partialChunks(doc);
  for (const [id, chunk] of held) {
    const listed = listing.find((c) => `${c.type}/${c.name}` === id);
    if (!listed && chunk.received !== chunk.size) await storage.forgetChunk(doc, chunk.kind, chunk.name);
  }
  for (const c of listing) {
    const chunk = held.get(`${c.type}/${c.name}`);
    if (!chunk || chunk.size !== c.bytes || chunk.received > c.bytes) await storage.startChunk(doc, c.type, c.name, c.bytes);
  }
  return storage.partialChunks(doc);
}

/**
 * Fetches a chunk from `received` on, keeping what arrives in IndexedDB.
 * Returns the bytes now held, "gone" if the relay no longer has the
 * chunk, "refused" if it refuses.
 */
async function fetchChunk(
  url: string,
  doc: string,
  chunk: Listed,
  received: number,
  storage: Storage,
  advance: (held: number) => void,
): Promise<number | "gone" | "refused"> {
  const range: Record<string, string> = received > 0 ? { Range: `bytes=${received}-`, "If-Range": `"${chunk.name}"` } : {};
  const abort = new AbortController();
  let silence = setTimeout(() => abort.abort(), SILENCE_MS);
  const restart = async () => {
    await storage.startChunk(doc, chunk.type, chunk.name, chunk.bytes);
    return 0;
  };
  try {
    const response = await request(url, range, abort.signal);
    if (response.status === 404) return "gone";
    if (response.status === 416) return restart();
    if (response.status === 206) {
      const served = response.headers.get("Content-Range") ?? "";
      if (!served.startsWith(`bytes ${received}-`) || !served.endsWith(`/${chunk.bytes}`)) return restart();
    } else if (response.status === 200) {
      // The whole chunk: what was kept starts over.
      if (received > 0) received = await restart();
    } else {
      return "refused";
    }
    const reader = response.body?.getReader();
    if (!reader) return "refused";
    let buffer: Uint8Array[] = [];
    let start = received;
    const keep = async () => {
      if (received === start) return;
      const bytes = new Uint8Array(received - start);
      let at = 0;
      for (const piece of buffer) {
        bytes.set(piece, at);
        at += piece.byteLength;
      }
      await storage.appendToChunk(doc, chunk.type, chunk.name, start, bytes);
      buffer = [];
      start = received;
    };
    try {
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          throw new Offline(String(error));
        }
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENCE_MS);
        if (read.done) break;
        if (received + read.value.byteLength > chunk.bytes) {
          await reader.cancel();
          return restart();
        }
        buffer.push(read.value);
        received += read.value.byteLength;
        advance(received);
        if (received - start >= PIECE) await keep();
      }
    } finally {
      // Kept even when the link dropped: the next attempt resumes here.
      await keep();
    }
    return received;
  } finally {
    clearTimeout(silence);
  }
}

/** `fetch`, its network failures turned into `Offline`. */
async function request(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  try {
    // Not the HTTP cache: the chunks go to IndexedDB, once is enough.
    return await fetch(url, { headers, cache: "no-store", signal });
  } catch (error) {
    throw new Offline(String(error));
  }
}

async function text(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new Offline(String(error));
  }
}
