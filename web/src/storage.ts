// IndexedDB storage of the browser driver: the same keys as the relay's
// SQLite table (`/`-joined storage keys, chosen by sync-core), one object
// store `kv`. Each storage write of the core is applied in one transaction,
// and a document is the key range [doc + "/", doc + "0").
// Also remembers the territories joined on this device (`territoires`), and
// keeps a first download's chunks while they arrive (`telechargements`):
// `[doc, type, name]` holds a chunk's size, `[doc, type, name, offset]` the
// bytes received from that offset, so a reload resumes where it stopped.
// A complete download ends in one transaction that also stores the sync
// state with the relay it came from (see `terminerTelechargement`).

const DATABASE = "essaim";
const VERSION = 2;
const KV = "kv";
const TERRITOIRES = "territoires";
const TELECHARGEMENTS = "telechargements";

export interface TerritoireConnu {
  doc: string;
  nom: string;
  rejointLe: number;
  /** The invitation token this device joined with, if any. */
  invitation?: string;
  /** What that invitation lets this device do. */
  role?: Role;
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
        if (event.oldVersion < 2) db.createObjectStore(TELECHARGEMENTS);
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

  get(key: string): Promise<Uint8Array | undefined> {
    return done(this.db.transaction(KV).objectStore(KV).get(key));
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
    const range = IDBKeyRange.bound(`${doc}/`, `${doc}0`, false, true);
    const store = this.db.transaction(KV).objectStore(KV);
    const [keys, values] = await Promise.all([done(store.getAllKeys(range)), done(store.getAll(range))]);
    return { keys: keys as string[], values: values as Uint8Array[] };
  }

  /** Whether nothing at all is stored under a document. */
  async vide(doc: string): Promise<boolean> {
    const range = IDBKeyRange.bound(`${doc}/`, `${doc}0`, false, true);
    return (await done(this.db.transaction(KV).objectStore(KV).count(range))) === 0;
  }

  /** What a download of `doc` holds so far: bytes received per chunk. */
  async telechargement(doc: string): Promise<Map<string, Morceau>> {
    const store = this.db.transaction(TELECHARGEMENTS).objectStore(TELECHARGEMENTS);
    const range = IDBKeyRange.bound([doc], [doc, []]);
    const [keys, values] = await Promise.all([done(store.getAllKeys(range)), done(store.getAll(range))]);
    const morceaux = new Map<string, Morceau>();
    keys.forEach((key, i) => {
      const [, type, nom, offset] = key as [string, string, string, number?];
      const id = `${type}/${nom}`;
      const morceau = morceaux.get(id) ?? { type, nom, taille: -1, recu: 0 };
      if (offset === undefined) morceau.taille = values[i] as number;
      else morceau.recu += (values[i] as Uint8Array).byteLength;
      morceaux.set(id, morceau);
    });
    return morceaux;
  }

  /** Starts (or restarts from zero) one chunk of a download. */
  commencerMorceau(doc: string, type: string, nom: string, taille: number): Promise<void> {
    return this.ecrire(TELECHARGEMENTS, (store) => {
      store.delete(IDBKeyRange.bound([doc, type, nom], [doc, type, nom, []]));
      store.put(taille, [doc, type, nom]);
    });
  }

  /** Keeps bytes of a chunk received from `offset`. */
  ajouterAuMorceau(doc: string, type: string, nom: string, offset: number, bytes: Uint8Array): Promise<void> {
    return this.ecrire(TELECHARGEMENTS, (store) => store.put(bytes, [doc, type, nom, offset]));
  }

  /** Forgets one chunk of a download (gone from the relay, unfinished). */
  oublierMorceau(doc: string, type: string, nom: string): Promise<void> {
    return this.ecrire(TELECHARGEMENTS, (store) => store.delete(IDBKeyRange.bound([doc, type, nom], [doc, type, nom, []])));
  }

  /**
   * Ends a download in one transaction: every complete chunk goes into
   * `kv` under its storage key (`doc/type/name`), with the entry `amorcer`
   * makes of them if any (the sync state with the relay), and everything
   * kept for the download is deleted. Returns how many chunks were stored.
   */
  terminerTelechargement(
    doc: string,
    amorcer?: (morceaux: [string, Uint8Array][]) => [string, Uint8Array] | undefined,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction([KV, TELECHARGEMENTS], "readwrite", { durability: "strict" });
      const partiels = tx.objectStore(TELECHARGEMENTS);
      const range = IDBKeyRange.bound([doc], [doc, []]);
      const keys = partiels.getAllKeys(range);
      const values = partiels.getAll(range);
      let stored = 0;
      values.onsuccess = () => {
        const tailles = new Map<string, number>();
        const pieces = new Map<string, [number, Uint8Array][]>();
        keys.result.forEach((key, i) => {
          const [, type, nom, offset] = key as [string, string, string, number?];
          const id = `${type}/${nom}`;
          if (offset === undefined) tailles.set(id, values.result[i] as number);
          else pieces.set(id, [...(pieces.get(id) ?? []), [offset, values.result[i] as Uint8Array]]);
        });
        const morceaux: [string, Uint8Array][] = [];
        for (const [id, taille] of tailles) {
          const bytes = assembler(pieces.get(id) ?? []);
          if (bytes === undefined || bytes.byteLength !== taille) continue;
          morceaux.push([`${doc}/${id}`, bytes]);
        }
        const amorce = morceaux.length > 0 ? amorcer?.(morceaux) : undefined;
        for (const [key, bytes] of amorce ? [...morceaux, amorce] : morceaux) tx.objectStore(KV).put(bytes, key);
        stored = morceaux.length;
        partiels.delete(range);
      };
      tx.oncomplete = () => resolve(stored);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction IndexedDB annulée"));
    });
  }

  private ecrire(name: string, write: (store: IDBObjectStore) => void): Promise<void> {
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
export interface Morceau {
  type: string;
  nom: string;
  /** -1 if unknown (not listed yet). */
  taille: number;
  recu: number;
}

/** Pieces received from consecutive offsets, joined; undefined if there is a hole. */
function assembler(pieces: [number, Uint8Array][]): Uint8Array | undefined {
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
