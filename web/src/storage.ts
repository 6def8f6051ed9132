// IndexedDB storage of the browser driver: the same keys as the relay's
// SQLite table (`/`-joined storage keys, chosen by sync-core), one object
// store `kv`. Each storage write of the core is applied in one transaction,
// and a document is the key range [doc + "/", doc + "0").
// Also remembers the territories joined on this device (`territoires`).

const DATABASE = "essaim";
const KV = "kv";
const TERRITOIRES = "territoires";

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
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(KV);
        request.result.createObjectStore(TERRITOIRES, { keyPath: "doc" });
      };
      request.onsuccess = () => resolve(new Storage(request.result));
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

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
