// A territory's first download, over HTTP, chunk by chunk. Automerge's
// first websocket sync sends a whole document in one message, which a
// link that drops every few seconds never completes; the relay also
// serves a document's stored chunks (`/d/<doc>/chunks`), each of which is
// valid Automerge data on its own. Each chunk is fetched with `Range` from
// what already arrived, and kept in IndexedDB as it arrives, so a dropped
// link, a reload or a closed tab loses nothing. The driver then stores the
// complete chunks as the document and opens it: websocket sync brings only
// what is newer. The listing names the relay's store (`Essaim-Storage-Id`):
// with it, the driver also stores a sync state saying that store has the
// chunks' changes (sync-core decides its content), so that sync does not
// start with a Bloom filter over every change.
//
// No decision about sync here: the chunks' names and keys are the relay's.

import type { Morceau, Storage } from "./storage";

/**
 * The network failed (offline, dropped link, silence): what arrived is
 * kept, try again later.
 */
export class HorsLigne extends Error {}

/** An entry of the relay's listing. */
interface Liste {
  type: string;
  name: string;
  bytes: number;
}

/**
 * A complete download. `relais`: the relay's storage id, if every listing
 * of this attempt named the same (chunks kept from an earlier attempt came
 * from the same relay address).
 */
export interface Complet {
  relais?: string;
}

/** A read that brings nothing for this long means a dead link. */
const SILENCE_MS = 20_000;
/** Bytes kept in memory before they are written to IndexedDB. */
const PIECE = 16 * 1024;
/** Listings in one attempt: each after the first follows a chunk compacted away. */
const LISTES_MAX = 4;
/** Requests for one chunk in one attempt. */
const REQUETES_MAX = 8;

/**
 * Downloads what IndexedDB lacks of `doc`'s chunks. `Complet`: every
 * listed chunk is there; "refuse": the relay does not serve them (unknown
 * document, refused invitation, an older relay): sync over the websocket
 * instead. Throws `HorsLigne` when the network fails.
 */
export async function telecharger(
  base: string,
  doc: string,
  tokens: string,
  storage: Storage,
  progres: (fait: number, total: number) => void,
): Promise<Complet | "refuse"> {
  const query = tokens ? `?token=${encodeURIComponent(tokens)}` : "";
  // undefined before the first listing; null once one lacks it or two differ.
  let relais: string | null | undefined;
  for (let listes = 0; listes < LISTES_MAX; listes++) {
    const reponse = await requete(`${base}/d/${doc}/chunks${query}`, {});
    if (!reponse.ok) return "refuse";
    const nomme = reponse.headers.get("Essaim-Storage-Id");
    relais = relais === undefined || relais === nomme ? nomme : null;
    const liste = lire(await corps(reponse));
    if (!liste) return "refuse";
    const tenus = await preparer(storage, doc, liste);
    const total = liste.reduce((n, c) => n + c.bytes, 0);
    let fait = liste.reduce((n, c) => n + (tenus.get(`${c.type}/${c.name}`)?.recu ?? 0), 0);
    progres(fait, total);
    let disparu = false;
    for (const chunk of liste) {
      let recu = tenus.get(`${chunk.type}/${chunk.name}`)?.recu ?? 0;
      const autres = fait - recu;
      const url = `${base}/d/${doc}/chunks/${chunk.type}/${chunk.name}${query}`;
      for (let n = 0; recu < chunk.bytes; n++) {
        if (n === REQUETES_MAX) return "refuse";
        const suite = await morceau(url, doc, chunk, recu, storage, (tenu) => progres(autres + tenu, total));
        if (suite === "refuse") return "refuse";
        if (suite === "disparu") break;
        recu = suite;
      }
      fait = autres + recu;
      if (recu < chunk.bytes) {
        // Compacted away: list again. Complete chunks stay (valid data).
        await storage.oublierMorceau(doc, chunk.type, chunk.name);
        disparu = true;
        break;
      }
    }
    if (!disparu) return { relais: relais ?? undefined };
  }
  return "refuse";
}

/** The listing, if it is the relay's; undefined otherwise. */
function lire(texte: string): Liste[] | undefined {
  let liste: unknown;
  try {
    liste = JSON.parse(texte);
  } catch {
    return undefined;
  }
  const valide = (c: Liste) =>
    (c.type === "snapshot" || c.type === "incremental") &&
    typeof c.name === "string" &&
    /^[0-9A-Za-z]{1,128}$/.test(c.name) &&
    Number.isSafeInteger(c.bytes) &&
    c.bytes >= 0;
  return Array.isArray(liste) && liste.every(valide) ? liste : undefined;
}

/**
 * Lines IndexedDB up with a listing: unfinished chunks no longer listed
 * are forgotten (complete ones stay), new ones are started.
 */
async function preparer(storage: Storage, doc: string, liste: Liste[]): Promise<Map<string, Morceau>> {
  const tenus = await storage.telechargement(doc);
  for (const [id, m] of tenus) {
    const listee = liste.find((c) => `${c.type}/${c.name}` === id);
    if (!listee && m.recu !== m.taille) await storage.oublierMorceau(doc, m.type, m.nom);
  }
  for (const c of liste) {
    const m = tenus.get(`${c.type}/${c.name}`);
    if (!m || m.taille !== c.bytes || m.recu > c.bytes) await storage.commencerMorceau(doc, c.type, c.name, c.bytes);
  }
  return storage.telechargement(doc);
}

/**
 * Fetches a chunk from `recu` on, keeping what arrives in IndexedDB.
 * Returns the bytes now held, "disparu" if the relay no longer has the
 * chunk, "refuse" if it refuses.
 */
async function morceau(
  url: string,
  doc: string,
  chunk: Liste,
  recu: number,
  storage: Storage,
  avance: (tenu: number) => void,
): Promise<number | "disparu" | "refuse"> {
  const plage: Record<string, string> = recu > 0 ? { Range: `bytes=${recu}-`, "If-Range": `"${chunk.name}"` } : {};
  const controle = new AbortController();
  let silence = setTimeout(() => controle.abort(), SILENCE_MS);
  const recommencer = async () => {
    await storage.commencerMorceau(doc, chunk.type, chunk.name, chunk.bytes);
    return 0;
  };
  try {
    const reponse = await requete(url, plage, controle.signal);
    if (reponse.status === 404) return "disparu";
    if (reponse.status === 416) return recommencer();
    if (reponse.status === 206) {
      const plageRecue = reponse.headers.get("Content-Range") ?? "";
      if (!plageRecue.startsWith(`bytes ${recu}-`) || !plageRecue.endsWith(`/${chunk.bytes}`)) return recommencer();
    } else if (reponse.status === 200) {
      // The whole chunk: what was kept starts over.
      if (recu > 0) recu = await recommencer();
    } else {
      return "refuse";
    }
    const lecteur = reponse.body?.getReader();
    if (!lecteur) return "refuse";
    let tampon: Uint8Array[] = [];
    let debut = recu;
    const garder = async () => {
      if (recu === debut) return;
      const bytes = new Uint8Array(recu - debut);
      let at = 0;
      for (const t of tampon) {
        bytes.set(t, at);
        at += t.byteLength;
      }
      await storage.ajouterAuMorceau(doc, chunk.type, chunk.name, debut, bytes);
      tampon = [];
      debut = recu;
    };
    try {
      for (;;) {
        let lu: ReadableStreamReadResult<Uint8Array>;
        try {
          lu = await lecteur.read();
        } catch (error) {
          throw new HorsLigne(String(error));
        }
        clearTimeout(silence);
        silence = setTimeout(() => controle.abort(), SILENCE_MS);
        if (lu.done) break;
        if (recu + lu.value.byteLength > chunk.bytes) {
          await lecteur.cancel();
          return recommencer();
        }
        tampon.push(lu.value);
        recu += lu.value.byteLength;
        avance(recu);
        if (recu - debut >= PIECE) await garder();
      }
    } finally {
      // Kept even when the link dropped: the next attempt resumes here.
      await garder();
    }
    return recu;
  } finally {
    clearTimeout(silence);
  }
}

/** `fetch`, its network failures turned into `HorsLigne`. */
async function requete(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  try {
    // Not the HTTP cache: the chunks go to IndexedDB, once is enough.
    return await fetch(url, { headers, cache: "no-store", signal });
  } catch (error) {
    throw new HorsLigne(String(error));
  }
}

async function corps(reponse: Response): Promise<string> {
  try {
    return await reponse.text();
  } catch (error) {
    throw new HorsLigne(String(error));
  }
}
