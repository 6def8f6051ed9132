// A resident's volunteerings: residents cannot write the territory's
// document, so "Je me propose" and "Me retirer" are requests to the relay's
// HTTP API (`POST`/`DELETE /t/{doc}/volontaires`, see
// `server/src/volontaires.rs`), which applies them as its own change; the
// entry comes back with sync.
//
// Each volunteering is kept in IndexedDB (`volontariats`) with the random
// secret drawn for it: the relay stores only its SHA-256 (`preuve`), and the
// secret alone withdraws it later. A request waits there until the relay
// answers: sent at once if online, again on the browser's `online` event,
// when the socket joins (`resume`) and with backoff after a network
// failure, a 429 or a 5xx. A definitive refusal (any other 4xx) drops it,
// and its French reason is shown.
//
// Does not: decide whether a request is valid (the relay's core does), or
// read the document (the screen compares with the read model).

import type { Storage } from "../storage";
import { VOLONTARIATS } from "../storage";
import { backoff } from "./backoff";

/** Where a volunteering stands on this device. */
export type EtatVolontariat =
  /** To send to the relay (the proposal). */
  | "a-envoyer"
  /** The relay took it (the entry comes back with sync). */
  | "envoye"
  /** Withdrawal to send. */
  | "a-retirer";

/** One volunteering made on this device, as stored. */
export interface Volontariat {
  volontaire: string;
  doc: string;
  action: string;
  besoin: string;
  nom: string;
  message?: string;
  /** 64 hex digits, never sent before withdrawing. */
  secret: string;
  etat: EtatVolontariat;
  creeLe: number;
}

/** The name this device gave last, offered again. */
const NOM = "essaim.nom";

export class Demandes {
  private liste: Volontariat[] = [];
  /** The last definitive refusal per need (`doc/action/besoin`), in French. */
  private readonly refus = new Map<string, string>();
  private running = false;
  private again = false;
  private attempts = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;

  /**
   * `base`: the relay's HTTP address; `token`: the invitation token held
   * for a territory; `changed`: something to show changed.
   */
  constructor(
    private readonly storage: Storage,
    private readonly base: string,
    private readonly token: (doc: string) => Promise<string | undefined>,
    private readonly changed: () => void,
  ) {
    window.addEventListener("online", () => this.resume());
    void this.storage.all<Volontariat>(VOLONTARIATS).then((liste) => {
      this.liste = liste;
      this.changed();
      this.resume();
    });
  }

  /** This device's volunteerings for one need. */
  du(doc: string, action: string, besoin: string): Volontariat[] {
    return this.liste.filter((v) => v.doc === doc && v.action === action && v.besoin === besoin);
  }

  /** The relay's last refusal for that need, if any. */
  refusPour(doc: string, action: string, besoin: string): string | undefined {
    return this.refus.get(`${doc}/${action}/${besoin}`);
  }

  /** The name given last on this device. */
  nomRetenu(): string {
    return localStorage.getItem(NOM) ?? "";
  }

  /** "Je me propose": kept on the device, sent when the relay is reachable. */
  async proposer(doc: string, action: string, besoin: string, nom: string, message?: string): Promise<void> {
    localStorage.setItem(NOM, nom);
    const v: Volontariat = {
      volontaire: `h${hex(crypto.getRandomValues(new Uint8Array(8)))}`,
      doc,
      action,
      besoin,
      nom,
      ...(message ? { message } : {}),
      secret: hex(crypto.getRandomValues(new Uint8Array(32))),
      etat: "a-envoyer",
      creeLe: Date.now(),
    };
    this.refus.delete(`${doc}/${action}/${besoin}`);
    await this.garder(v);
    this.resume();
  }

  /** "Me retirer": sent with the secret when the relay is reachable. */
  async retirer(volontaire: string): Promise<void> {
    const v = this.liste.find((x) => x.volontaire === volontaire);
    if (!v) return;
    await this.garder({ ...v, etat: "a-retirer" });
    this.resume();
  }

  /** Sends every waiting request, one after the other. */
  resume(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    clearTimeout(this.retryTimer);
    let retry: number | undefined;
    try {
      do {
        this.again = false;
        for (const v of this.liste.filter((x) => x.etat !== "envoye")) {
          const wait = await this.send(v);
          if (wait !== undefined) {
            retry = wait;
            break;
          }
        }
      } while (this.again && retry === undefined);
    } finally {
      this.running = false;
    }
    if (retry !== undefined) this.retryTimer = setTimeout(() => this.resume(), retry);
    else this.attempts = 0;
  }

  /** Sends one request; undefined once answered, or how long to wait before trying again. */
  private async send(v: Volontariat): Promise<number | undefined> {
    const token = await this.token(v.doc);
    if (token === undefined) return undefined; // No invitation held: nothing to send it with.
    const retrait = v.etat === "a-retirer";
    const url = `${this.base}/t/${v.doc}/volontaires${retrait ? `/${v.volontaire}` : ""}`;
    const body = retrait
      ? { action: v.action, besoin: v.besoin, secret: v.secret }
      : { action: v.action, besoin: v.besoin, volontaire: v.volontaire, nom: v.nom, message: v.message, preuve: await preuve(v.secret) };
    let response: Response;
    try {
      response = await fetch(url, {
        method: retrait ? "DELETE" : "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      return backoff(this.attempts++); // Offline.
    }
    if (response.ok) {
      this.attempts = 0;
      // A withdrawal asked meanwhile stays to send.
      const current = this.liste.find((x) => x.volontaire === v.volontaire);
      if (retrait) await this.oublier(v);
      else if (current?.etat === "a-envoyer") await this.garder({ ...current, etat: "envoye" });
      return undefined;
    }
    if (response.status === 429 || response.status >= 500) {
      const after = Number(response.headers.get("Retry-After"));
      return after > 0 ? Math.min(after * 1000, 3_600_000) : backoff(this.attempts++);
    }
    // A 401's body is the relay's English for programs: the person reads this.
    const raison =
      response.status === 401
        ? "votre invitation n'est plus valable ; demandez un nouveau lien à un organisateur."
        : (await response.text().catch(() => "")).trim() || `refus du relais (${response.status})`;
    this.refus.set(`${v.doc}/${v.action}/${v.besoin}`, raison);
    await this.oublier(v);
    return undefined;
  }

  private async garder(v: Volontariat): Promise<void> {
    await this.storage.put(VOLONTARIATS, v);
    this.liste = [...this.liste.filter((x) => x.volontaire !== v.volontaire), v];
    this.changed();
  }

  private async oublier(v: Volontariat): Promise<void> {
    await this.storage.remove(VOLONTARIATS, v.volontaire);
    this.liste = this.liste.filter((x) => x.volontaire !== v.volontaire);
    this.changed();
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The proof the relay stores: hex SHA-256 of the secret's text. */
async function preuve(secret: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))));
}
