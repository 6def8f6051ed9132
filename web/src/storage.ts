// IndexedDB storage of the browser driver. Object store `kv` holds what
// sync-core's repo writes, under its `/`-joined storage keys (the same as
// the relay's SQLite table); the key layout is sync-core's alone, and the
// keys this module needs come from the wasm client (`storageIdKey`,
// `documentKeyRange`, `chunkKey`). Each storage write of the core is
// applied in one transaction.
// Also remembers the territories joined on this device (`territoires`), the
// territories created here and not yet registered on the relay, or proposed
// to it (`creations`, see `driver/creations.ts`), and
// keeps a first download's chunks while they arrive (`telechargements`):
// `[doc, kind, name]` holds a chunk's size, `[doc, kind, name, offset]` the
// bytes received from that offset, so a reload resumes where it stopped.
// A complete download ends in one transaction that also stores the sync
// state with the relay it came from (see `finishDownload`).
//
// Also keeps the resident's volunteerings waiting for the relay
// (`volontariats`, see `driver/demandes.ts`, which alone knows their shape).
//
// Does not: decide what to write or when (the repo does), or fetch
// anything (`driver/download.ts` does).

import { chunkKey, documentKeyRange, storageIdKey } from "./pkg/wasm_client.js";

const DATABASE = "essaim";
const VERSION = 3;
const KV = "kv";
const TERRITOIRES = "territoires";
const DOWNLOADS = "telechargements";
const CREATIONS = "creations";
/** A resident's volunteerings and their secrets, keyed by volunteer id. */
export const VOLONTARIATS = "volontariats";

export interface TerritoireConnu {
  doc: string;
  nom: string;
  rejointLe: number;
  /** The invitation token this device joined with, if any. */
  invitation?: string;
  /** What that invitation lets this device do. */
  role?: Role;
  /** A demonstration territory, opened without an invitation: read-only. */
  demonstration?: boolean;
}

/** A creation kept until the relay answered it: the shape is `driver/creations.ts`'s. */
export interface CreationGardee {
  cle: string;
}

/** From the invitation link: organisers edit, residents read. */
export type Role = "organisateur" | "habitant";

export class Storage {
  private constructor(private readonly db: IDBDatabase) {}

  static open(): Promise<Storage> {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, VERSION);
      request.onupgradeneeded = (event) => {
        const db = request.result;
        if (event.oldVersion < 1) {
          db.createObjectStore(KV);
          db.createObjectStore(TERRITOIRES, { keyPath: "doc" });
        }
        if (event.oldVersion < 2) db.createObjectStore(DOWNLOADS);
        if (event.oldVersion < 3) {
          db.createObjectStore(CREATIONS, { keyPath: "cle" });
          db.createObjectStore(VOLONTARIATS, { keyPath: "volontaire" });
        }
      };
      // Another tab still has version 1 open: it closes on `versionchange`.
      request.onblocked = () => console.warn("Essaim : mise à jour du stockage en attente d'un autre onglet");
      request.onsuccess = () => {
        // A newer version of the app in another tab needs the database.
        request.result.onversionchange = () => request.result.close();
        resolve(new Storage(request.result));
      };
      request.onerror = () => reject(request.error);
    });
  }

  /** The storage id this store holds, if any (written by the repo at first start). */
  storageId(): Promise<Uint8Array | undefined> {
    return done(this.db.transaction(KV).objectStore(KV).get(storageIdKey()));
  }

  /** Applies one storage write atomically: resolves once committed. */
  write(put: [string, Uint8Array][], remove: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(KV, "readwrite", { durability: "strict" });
      const store = tx.objectStore(KV);
      for (const key of remove) store.delete(key);
      for (const [key, value] of put) store.put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction IndexedDB annulée"));
    });
  }

  /** Every entry stored under a document. */
  async load(doc: string): Promise<{ keys: string[]; values: Uint8Array[] }> {
    const range = documentRange(doc);
    const store = this.db.transaction(KV).objectStore(KV);
    const [keys, values] = await Promise.all([done(store.getAllKeys(range)), done(store.getAll(range))]);
    return { keys: keys as string[], values: values as Uint8Array[] };
  }

  /** Whether nothing at all is stored under a document. */
  async isEmpty(doc: string): Promise<boolean> {
    return (await done(this.db.transaction(KV).objectStore(KV).count(documentRange(doc)))) === 0;
  }

  /** What a download of `doc` holds so far: bytes received per chunk (`kind/name`). */
  async partialChunks(doc: string): Promise<Map<string, PartialChunk>> {
    const store = this.db.transaction(DOWNLOADS).objectStore(DOWNLOADS);
    const range = IDBKeyRange.bound([doc], [doc, []]);
    const [keys, values] = await Promise.all([done(store.getAllKeys(range)), done(store.getAll(range))]);
    const chunks = new Map<string, PartialChunk>();
    keys.forEach((key, i) => {
      const [, kind, name, offset] = key as [string, string, string, number?];
      const id = `${kind}/${name}`;
      const chunk = chunks.get(id) ?? { kind, name, size: -1, received: 0 };
      if (offset === undefined) chunk.size = values[i] as number;
      else chunk.received += (values[i] as Uint8Array).byteLength;
      chunks.set(id, chunk);
    });
    return chunks;
  }

  /** Starts (or restarts from zero) one chunk of a download. */
  startChunk(doc: string, kind: string, name: string, size: number): Promise<void> {
    return this.writeTo(DOWNLOADS, (store) => {
      store.delete(IDBKeyRange.bound([doc, kind, name], [doc, kind, name, []]));
      store.put(size, [doc, kind, name]);
    });
  }

  /** Keeps bytes of a chunk received from `offset`. */
  appendToChunk(doc: string, kind: string, name: string, offset: number, bytes: Uint8Array): Promise<void> {
    return this.writeTo(DOWNLOADS, (store) => store.put(bytes, [doc, kind, name, offset]));
  }

  /** Forgets one chunk of a download (gone from the relay, unfinished). */
  forgetChunk(doc: string, kind: string, name: string): Promise<void> {
    return this.writeTo(DOWNLOADS, (store) => store.delete(IDBKeyRange.bound([doc, kind, name], [doc, kind, name, []])));
  }

  /**
   * Ends a download in one transaction: every complete chunk goes into
   * `kv` under its storage key (`chunkKey`), with the entry `seed` makes
   * of them if any (the sync state with the relay), and everything kept
   * for the download is deleted. Returns how many chunks were stored.
   */
  finishDownload(doc: string, seed?: (chunks: [string, Uint8Array][]) => [string, Uint8Array] | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction([KV, DOWNLOADS], "readwrite", { durability: "strict" });
      const partial = tx.objectStore(DOWNLOADS);
      const range = IDBKeyRange.bound([doc], [doc, []]);
      const keys = partial.getAllKeys(range);
      const values = partial.getAll(range);
      let stored = 0;
      values.onsuccess = () => {
        const sizes = new Map<string, { kind: string; name: string; size: number }>();
        const pieces = new Map<string, [number, Uint8Array][]>();
        keys.result.forEach((key, i) => {
          const [, kind, name, offset] = key as [string, string, string, number?];
          const id = `${kind}/${name}`;
          if (offset === undefined) sizes.set(id, { kind, name, size: values.result[i] as number });
          else pieces.set(id, [...(pieces.get(id) ?? []), [offset, values.result[i] as Uint8Array]]);
        });
        const chunks: [string, Uint8Array][] = [];
        for (const [id, { kind, name, size }] of sizes) {
          const bytes = join(pieces.get(id) ?? []);
          if (bytes === undefined || bytes.byteLength !== size) continue;
          chunks.push([chunkKey(doc, kind, name), bytes]);
        }
        const seeded = chunks.length > 0 ? seed?.(chunks) : undefined;
        for (const [key, bytes] of seeded ? [...chunks, seeded] : chunks) tx.objectStore(KV).put(bytes, key);
        stored = chunks.length;
        partial.delete(range);
      };
      tx.oncomplete = () => resolve(stored);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction IndexedDB annulée"));
    });
  }

  /** Every record of a small object store (`volontariats`). */
  all<T>(name: string): Promise<T[]> {
    return done(this.db.transaction(name).objectStore(name).getAll()) as Promise<T[]>;
  }

  /** Puts a record (with its own key path) into a small object store, durably. */
  put(name: string, value: unknown): Promise<void> {
    return this.writeTo(name, (store) => store.put(value));
  }

  /** Deletes a record from a small object store. */
  remove(name: string, key: string): Promise<void> {
    return this.writeTo(name, (store) => store.delete(key));
  }

  private writeTo(name: string, write: (store: IDBObjectStore) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(name, "readwrite");
      write(tx.objectStore(name));
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction IndexedDB annulée"));
    });
  }

  /** One territory remembered on this device, if any. */
  territoire(doc: string): Promise<TerritoireConnu | undefined> {
    return done(this.db.transaction(TERRITOIRES).objectStore(TERRITOIRES).get(doc));
  }

  territoires(): Promise<TerritoireConnu[]> {
    return done(this.db.transaction(TERRITOIRES).objectStore(TERRITOIRES).getAll());
  }

  /** The creations and candidatures kept on this device (`driver/creations.ts`). */
  creations<T extends CreationGardee>(): Promise<T[]> {
    return done(this.db.transaction(CREATIONS).objectStore(CREATIONS).getAll());
  }

  /** Keeps (or replaces) one creation, by its `cle`. */
  garderCreation<T extends CreationGardee>(creation: T): Promise<void> {
    return this.writeTo(CREATIONS, (store) => store.put(creation));
  }

  /** Forgets one creation. */
  oublierCreation(cle: string): Promise<void> {
    return this.writeTo(CREATIONS, (store) => store.delete(cle));
  }

  /**
   * Forgets everything this device keeps of a territory, in one
   * transaction: what the repo stored (`kv`), the territory and its
   * invitation, an unfinished download, the volunteerings not yet sent.
   */
  oublier(doc: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction([KV, TERRITOIRES, DOWNLOADS, VOLONTARIATS], "readwrite", { durability: "strict" });
      tx.objectStore(KV).delete(documentRange(doc));
      tx.objectStore(TERRITOIRES).delete(doc);
      tx.objectStore(DOWNLOADS).delete(IDBKeyRange.bound([doc], [doc, []]));
      const volontariats = tx.objectStore(VOLONTARIATS);
      const tous = volontariats.getAll();
      tous.onsuccess = () => {
        for (const v of tous.result as { doc?: string; volontaire: string }[]) if (v.doc === doc) volontariats.delete(v.volontaire);
      };
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction IndexedDB annulée"));
    });
  }

  /** Remembers a territory; fields not given keep their stored value. */
  async retenir(territoire: Partial<TerritoireConnu> & { doc: string }): Promise<void> {
    const tx = this.db.transaction(TERRITOIRES, "readwrite");
    const store = tx.objectStore(TERRITOIRES);
    const request = store.get(territoire.doc);
    request.onsuccess = () =>
      store.put({ nom: "", rejointLe: Date.now(), ...(request.result ?? {}), ...territoire });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
}

/** A chunk being downloaded: its size from the listing, bytes received. */
export interface PartialChunk {
  kind: string;
  name: string;
  /** -1 if unknown (not listed yet). */
  size: number;
  received: number;
}

/** The key range of everything stored under a document in `kv`. */
function documentRange(doc: string): IDBKeyRange {
  const [lower, upper] = documentKeyRange(doc) as [string, string];
  return IDBKeyRange.bound(lower, upper, false, true);
}

/** Pieces received from consecutive offsets, joined; undefined if there is a hole. */
function join(pieces: [number, Uint8Array][]): Uint8Array | undefined {
  pieces.sort((a, b) => a[0] - b[0]);
  const total = pieces.reduce((n, [, p]) => n + p.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const [offset, piece] of pieces) {
    if (offset !== at) return undefined;
    bytes.set(piece, at);
    at += piece.byteLength;
  }
  return bytes;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
