// Territories created on this device, until the relay registered them, and
// territories proposed to it (candidatures), until its team answered. Each
// is kept in IndexedDB (`creations`), so it survives reloads and offline.
//
// A creation makes a new organiser secret here (16 random bytes, hex) and
// sends only its SHA-256 (`cle`) with the demande to the relay's
// `POST /territoires`. On an `ouverte` relay the answer names the
// invitation the relay made from that hash: this device's token is
// `<invitation>.<secret>`, held like any invitation (`invitations.ts`), and
// the territory syncs. On a `sur-candidature` relay the answer is a
// candidature id, asked about (`GET /candidatures/{id}`) on start, when the
// browser comes online and while the home screen is shown; once accepted,
// the token is held the same way and the territory downloads. Sending
// retries with the connection's backoff, and at once on `online`.
//
// Also reads the relay's creation policy (`GET /territoires/creation`),
// cached in localStorage for offline use.
//
// Does not: create documents (the repo does) or open the socket (the
// driver reconnects when an invitation is added).

import type { Reseau, Theme, TypeTerritoire } from "../genere/agenda";
import type { Storage } from "../storage";
import { backoff } from "./backoff";

/** The relay's creation policy, as `GET /territoires/creation` names it. */
export type Politique = "ouverte" | "sur-candidature" | "fermee";

/** What a creation asks for, as the relay's `POST /territoires` takes it. */
export interface Demande {
  nom: string;
  type: TypeTerritoire;
  insee: string[];
  portes_entree: Theme[];
  reseaux: Reseau[];
  contact: string;
  motivation: string;
}

/** One creation kept on this device. */
export interface Creation {
  /** SHA-256 of `secret` (hex): its key, and what the relay stores. */
  cle: string;
  /** This device's organiser secret (32 hex). */
  secret: string;
  /** The document made here (`ouverte`); none for a candidature. */
  doc?: string;
  demande: Demande;
  creeLe: number;
  /** The candidature's id, once the relay recorded it. */
  candidature?: string;
  /** The team's reason, once refused. */
  motif?: string;
  /** Why the relay refused the demande itself (French, its words). */
  erreur?: string;
}

/** Where localStorage keeps the last policy read. */
const POLITIQUE = "essaim.politique-creation";
/** Shortest pause between two questions about candidatures. */
export const INTERVALLE_INTERROGATION = 30_000;

/** What a creation needs of the driver. */
export interface CreationsEvents {
  /**
   * The relay holds an organiser invitation for this device: keep it, sync
   * the territory (`candidature`: an accepted candidature, new here).
   */
  accepted(doc: string, token: string, nom: string, candidature: boolean): Promise<void>;
  /** Something shown changed. */
  changed(): void;
}

export class Creations {
  private kept: Creation[] = [];
  private attempts = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private sending = false;
  private lastPoll = 0;
  private started = false;

  constructor(
    private readonly storage: Storage,
    private readonly base: string,
    private readonly events: CreationsEvents,
  ) {
    window.addEventListener("online", () => {
      this.attempts = 0;
      void this.sendAll();
      void this.poll(true);
    });
  }

  /** Reads what IndexedDB keeps, then sends what waits and asks about candidatures; once. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.kept = await this.storage.creations<Creation>();
    this.events.changed();
    void this.sendAll();
    void this.poll(true);
  }

  /** The creations kept, oldest first. */
  list(): Creation[] {
    return [...this.kept].sort((a, b) => a.creeLe - b.creeLe);
  }

  /** Whether `doc` was made here and is not registered on the relay yet. */
  waiting(doc: string): boolean {
    return this.kept.some((c) => c.doc === doc && !c.erreur);
  }

  /** The relay's policy: the last one read (localStorage), refreshed from the relay when it answers. */
  cachedPolicy(): Politique | undefined {
    const stored = localStorage.getItem(POLITIQUE);
    return stored === "ouverte" || stored === "sur-candidature" || stored === "fermee" ? stored : undefined;
  }

  async readPolicy(): Promise<Politique | undefined> {
    try {
      const response = await fetch(`${this.base}/territoires/creation`);
      if (response.ok) {
        const { politique } = (await response.json()) as { politique: Politique };
        localStorage.setItem(POLITIQUE, politique);
        return politique;
      }
    } catch {
      // Offline: the last policy read.
    }
    return this.cachedPolicy();
  }

  /**
   * Keeps a new creation (for the document `doc` made here, or a
   * candidature without one), durably, then sends it when it can.
   */
  async add(demande: Demande, doc?: string): Promise<void> {
    const secret = hex(crypto.getRandomValues(new Uint8Array(16)));
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
    const creation: Creation = { cle: hex(new Uint8Array(digest)), secret, doc, demande, creeLe: Date.now() };
    await this.storage.garderCreation(creation);
    this.kept.push(creation);
    this.events.changed();
    this.attempts = 0;
    void this.sendAll();
  }

  /** Forgets a refused creation (the person read why). */
  async forget(cle: string): Promise<void> {
    await this.storage.oublierCreation(cle);
    this.kept = this.kept.filter((c) => c.cle !== cle);
    this.events.changed();
  }

  /**
   * Asks the relay about each candidature waiting; at most once every
   * `INTERVALLE_INTERROGATION` unless `now` (start, back online).
   */
  async poll(now = false): Promise<void> {
    if (!now && Date.now() - this.lastPoll < INTERVALLE_INTERROGATION) return;
    this.lastPoll = Date.now();
    for (const creation of this.kept.filter((c) => c.candidature && !c.motif)) {
      let response: Response;
      try {
        response = await fetch(`${this.base}/candidatures/${creation.candidature}`);
      } catch {
        return; // Offline: asked again when online.
      }
      if (!response.ok) continue;
      await this.answered(creation, await response.json());
    }
  }

  /** Sends every creation not sent yet, in order; on a network failure, again after a backoff. */
  private async sendAll(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    clearTimeout(this.retryTimer);
    try {
      for (const creation of this.list().filter((c) => !c.candidature && !c.erreur)) {
        const retryAfter = await this.send(creation);
        if (retryAfter !== undefined) {
          this.retryTimer = setTimeout(() => void this.sendAll(), retryAfter);
          return;
        }
      }
      this.attempts = 0;
    } finally {
      this.sending = false;
    }
  }

  /** Sends one creation; the delay before trying again if it must wait. */
  private async send(creation: Creation): Promise<number | undefined> {
    const { cle, doc, demande } = creation;
    let response: Response;
    try {
      response = await fetch(`${this.base}/territoires`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...(doc ? { document: doc } : {}), cle, ...demande }),
      });
    } catch {
      return backoff(this.attempts++);
    }
    if (response.status === 429 || response.status >= 500) {
      const seconds = Number(response.headers.get("Retry-After"));
      return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : backoff(this.attempts++);
    }
    if (!response.ok) {
      await this.update(creation, { erreur: (await response.text()).trim() });
      return undefined;
    }
    await this.answered(creation, await response.json());
    return undefined;
  }

  /** What the relay answered about a creation. */
  private async answered(creation: Creation, answer: Reponse): Promise<void> {
    if (answer.etat === "acceptee" && answer.territoire && answer.invitation) {
      const token = `${answer.invitation}.${creation.secret}`;
      await this.events.accepted(answer.territoire, token, creation.demande.nom, creation.doc === undefined);
      await this.forget(creation.cle);
    } else if (answer.etat === "en-attente" && answer.candidature && !creation.candidature) {
      await this.update(creation, { candidature: answer.candidature });
    } else if (answer.etat === "refusee") {
      await this.update(creation, { motif: answer.motif ?? "" });
    }
  }

  private async update(creation: Creation, change: Partial<Creation>): Promise<void> {
    const updated = { ...creation, ...change };
    await this.storage.garderCreation(updated);
    this.kept = this.kept.map((c) => (c.cle === creation.cle ? updated : c));
    this.events.changed();
  }
}

/** The relay's answer to `POST /territoires` and `GET /candidatures/{id}`. */
interface Reponse {
  etat: "acceptee" | "en-attente" | "refusee";
  territoire?: string;
  invitation?: string;
  candidature?: string;
  motif?: string;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
