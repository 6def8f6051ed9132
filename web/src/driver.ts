// The browser driver: carries out what sync-core's repo (wasm) decides.
// It feeds the repo what happens (socket opened, frame received, storage
// answered, timers, the user's edits) and carries out the outputs in order:
// a storage write is committed to IndexedDB before anything after it (a
// frame that advertises the change included). No protocol or schema
// decision lives here.
//
// The websocket to the relay reconnects by itself: exponential backoff with
// jitter (0.5 s to 30 s), and at once when the browser says it is online.
//
// A document this device has nothing of is first downloaded over HTTP,
// resumably (`telechargement.ts`), then opened: its load comes from
// IndexedDB and websocket sync brings only what is newer: a complete
// download is stored with a sync state with the relay that served it
// (sync-core's `syncStateAfterDownload`), so that sync costs little. If the
// relay does not serve it that way, websocket sync does it all; while the
// network is down, the download waits for it.

import { syncStateAfterDownload, type WasmRepo } from "./pkg/wasm_client.js";
import type { Role, Storage } from "./storage";
import { HorsLigne, telecharger } from "./telechargement";

type Output =
  | { kind: "send"; conn: number; bytes: Uint8Array }
  | { kind: "close"; conn: number; reason: string }
  | { kind: "load"; doc: string }
  | { kind: "write"; put: [string, Uint8Array][]; delete: string[] }
  | { kind: "changed"; doc: string }
  | { kind: "unavailable"; doc: string }
  | { kind: "ephemeral"; doc: string; sender: string; data: Uint8Array };

export interface Etat {
  /** The websocket to the relay is open and joined. */
  enLigne: boolean;
  /** Last time the relay had every local change (ms since the epoch). */
  derniereSynchro?: number;
  /** Local changes the relay has not acknowledged yet. */
  enAttente: number;
  /** Why the relay refused this device's invitation, in French. */
  invitationRefusee?: string;
  /** A first download in progress: percent received (by steps of 5). */
  telechargement?: number;
}

/** The invitation the connection is bound to. */
export interface Invitation {
  doc: string;
  token: string;
  role: Role;
}

/**
 * An invitation link against what this device holds for its territory:
 * none (`nouvelle`: joined without asking), the same token and role
 * (`identique`: nothing to do), or another one (`differente`: the user is
 * asked; `role` and `nom` are those held today).
 */
export type Comparaison =
  | { cas: "nouvelle" }
  | { cas: "identique" }
  | { cas: "differente"; role?: Role; nom: string };

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Ceiling of the backoff before step `attempts`, jittered into its upper half. */
function backoff(attempts: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempts);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** The sync state with the relay `relais` after downloading `morceaux` from it, if any. */
function amorce(doc: string, relais: string, morceaux: [string, Uint8Array][]): [string, Uint8Array] | undefined {
  try {
    const etat = syncStateAfterDownload(doc, relais, morceaux.map(([k]) => k), morceaux.map(([, v]) => v));
    return etat as [string, Uint8Array] | undefined;
  } catch (error) {
    // An id the core refuses: no sync state, sync does it the long way.
    console.warn("Essaim : pas d'état de synchronisation après le téléchargement", error);
    return undefined;
  }
}

export class Driver {
  private socket?: WebSocket;
  private conn = 0;
  private attempts = 0;
  /** The relay has answered on the current socket. */
  private joined = false;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private tickTimer?: ReturnType<typeof setTimeout>;
  private chain: Promise<void> = Promise.resolve();
  private readonly open = new Set<string>();
  /** Documents to download before they open, and those downloading now. */
  private readonly aTelecharger = new Set<string>();
  private readonly telechargeant = new Set<string>();
  private reprise?: ReturnType<typeof setTimeout>;
  private essaisTelechargement = 0;
  private readonly listeners = new Set<() => void>();
  private readonly unavailable = new Set<string>();
  /** Bumped whenever a document's content may have changed. */
  private readonly versions = new Map<string, number>();
  private readonly cache = new Map<string, { key: string; value: unknown }>();
  etat: Etat = { enLigne: false, enAttente: 0 };
  /** Roles of this device per territory, from its invitation links. */
  private readonly roles = new Map<string, Role>();
  /** Every invitation this device holds: one connection carries them all. */
  private invitations: Invitation[];

  constructor(
    private readonly repo: WasmRepo,
    readonly storage: Storage,
    private readonly url: string,
    invitations: Invitation[] = [],
  ) {
    for (const i of invitations) this.roles.set(i.doc, i.role);
    this.invitations = invitations;
    this.carry(repo.takeStarted());
    window.addEventListener("online", () => {
      this.reconnectNow();
      this.reprendreTelechargements();
    });
    // A socket can outlive the network by minutes before TCP notices: when
    // the browser knows it is offline, drop it (edits queue locally).
    window.addEventListener("offline", () => this.dropSocket());
  }

  /** Whether this device may edit the territory (not a resident's link). */
  peutModifier(doc: string): boolean {
    return this.roles.get(doc) !== "habitant";
  }

  /**
   * What opening the invitation link `lien` would change on this device,
   * read from IndexedDB; nothing is written. A link can be crafted by
   * anyone, so the screen asks before a `differente` one replaces the
   * invitation held (see `ecrans/rejoindre.tsx`).
   */
  async comparerInvitation(lien: Invitation): Promise<Comparaison> {
    const connu = await this.storage.territoire(lien.doc);
    if (!connu?.invitation) return { cas: "nouvelle" };
    if (connu.invitation === lien.token && connu.role === lien.role) return { cas: "identique" };
    return { cas: "differente", role: connu.role, nom: connu.nom };
  }

  /**
   * Joins a territory from an invitation link: remembered in IndexedDB
   * (replacing the invitation held for it, if any: callers ask first, see
   * `comparerInvitation`), then the connection is reopened with its token.
   */
  async rejoindre(invitation: Invitation): Promise<void> {
    await this.storage.retenir({ doc: invitation.doc, invitation: invitation.token, role: invitation.role, rejointLe: Date.now() });
    this.roles.set(invitation.doc, invitation.role);
    this.invitations = [...this.invitations.filter((i) => i.doc !== invitation.doc), invitation];
    this.etat = { ...this.etat, invitationRefusee: undefined };
    this.dropSocket();
    this.reconnectNow();
  }

  /** Subscribes to any change (documents, connection state). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Opens a document: loaded from IndexedDB, then synced with the relay;
   * downloaded first if this device has nothing of it. False if `doc` is
   * not a valid document id (a broken link).
   */
  openDocument(doc: string): boolean {
    if (this.open.has(doc) || this.aTelecharger.has(doc)) return true;
    if (!this.documentValide(doc)) return false;
    this.aTelecharger.add(doc);
    void this.premierChargement(doc);
    return true;
  }

  /** Whether `doc` is a valid document id (the core refuses others). */
  documentValide(doc: string): boolean {
    try {
      this.repo.unacknowledgedChanges(doc);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Downloads the document if nothing of it is stored here, then opens
   * it. Offline, it stays waiting: retried with backoff, on `online` and
   * when the socket joins.
   */
  private async premierChargement(doc: string): Promise<void> {
    if (this.telechargeant.has(doc) || !this.aTelecharger.has(doc)) return;
    this.telechargeant.add(doc);
    try {
      if (await this.storage.vide(doc)) {
        const base = this.url.replace(/^ws/, "http").replace(/\/sync$/, "");
        const tokens = this.invitations.map((i) => i.token).join(",");
        const fin = await telecharger(base, doc, tokens, this.storage, (fait, total) => this.progres(fait, total));
        const relais = fin === "refuse" ? undefined : fin.relais;
        // Complete or refused: what is complete is stored, the rest syncs.
        await this.storage.terminerTelechargement(doc, relais === undefined ? undefined : (m) => amorce(doc, relais, m));
      }
      this.essaisTelechargement = 0;
    } catch (error) {
      if (error instanceof HorsLigne) {
        this.telechargeant.delete(doc);
        clearTimeout(this.reprise);
        this.reprise = setTimeout(() => this.reprendreTelechargements(), backoff(this.essaisTelechargement++));
        return;
      }
      // IndexedDB failed: websocket sync, as before downloads existed.
      console.error("Essaim : téléchargement impossible", error);
    }
    this.telechargeant.delete(doc);
    this.aTelecharger.delete(doc);
    if (this.aTelecharger.size === 0) this.etat = { ...this.etat, telechargement: undefined };
    let outputs: Output[];
    try {
      outputs = this.repo.open(Date.now(), doc);
    } catch {
      return; // Checked by openDocument.
    }
    this.open.add(doc);
    this.carry(outputs);
  }

  private reprendreTelechargements(): void {
    for (const doc of this.aTelecharger) void this.premierChargement(doc);
  }

  private progres(fait: number, total: number): void {
    const pourcent = total > 0 ? Math.floor((100 * fait) / total / 5) * 5 : 0;
    if (pourcent === this.etat.telechargement) return;
    this.etat = { ...this.etat, telechargement: pourcent };
    for (const listener of this.listeners) listener();
  }

  isUnavailable(doc: string): boolean {
    return this.unavailable.has(doc) && !this.repo.hasDocument(doc);
  }

  hasDocument(doc: string): boolean {
    return this.repo.hasDocument(doc);
  }

  createTerritory(profil: object): string {
    const id = crypto.getRandomValues(new Uint8Array(16));
    const created = this.repo.createTerritory(Date.now(), id, JSON.stringify(profil)) as {
      doc: string;
      outputs: Output[];
    };
    this.open.add(created.doc);
    this.bump(created.doc);
    this.carry(created.outputs);
    return created.doc;
  }

  /** Applies an edit; throws the core's French message if it is invalid. */
  apply(doc: string, edit: object): void {
    const outputs = this.repo.apply(Date.now(), doc, JSON.stringify(edit));
    this.bump(doc);
    this.carry(outputs);
  }

  /** The agenda read model; recomputed only when the document changed. */
  agenda(doc: string): unknown {
    return this.cached("agenda", doc, "", () => {
      const json = this.repo.agendaJson(doc);
      return json === undefined ? undefined : JSON.parse(json);
    });
  }

  /** Rendez-vous in a window; recomputed only when the document changed. */
  rendezVous(doc: string, from: number, to: number): unknown[] {
    return this.cached("rendez-vous", doc, `${from}:${to}`, () => {
      const json = this.repo.rendezVousJson(doc, from, to);
      return json === undefined ? [] : JSON.parse(json);
    });
  }

  /**
   * Reading the whole agenda costs tens of milliseconds with hundreds of
   * actions, and screens re-render on every acknowledgement: one value per
   * kind and document, kept while the document's version stays the same.
   */
  private cached<T>(kind: string, doc: string, args: string, compute: () => T): T {
    const key = `${this.versions.get(doc) ?? 0}:${args}`;
    const slot = `${kind}:${doc}`;
    const hit = this.cache.get(slot);
    if (hit && hit.key === key) return hit.value as T;
    const value = compute();
    this.cache.set(slot, { key, value });
    return value;
  }

  private bump(doc: string): void {
    this.versions.set(doc, (this.versions.get(doc) ?? 0) + 1);
  }

  /** Resolves once every output so far is carried out (writes committed). */
  settled(): Promise<void> {
    return this.chain;
  }

  connect(): void {
    clearTimeout(this.reconnectTimer);
    if (this.socket) return;
    const conn = ++this.conn;
    const held = this.invitations;
    const tokens = held.map((i) => i.token).join(",");
    const socket = new WebSocket(tokens ? `${this.url}?token=${encodeURIComponent(tokens)}` : this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => this.carry(this.repo.connected(Date.now(), conn));
    socket.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      this.attempts = 0;
      // The relay is reachable again: so are its chunks.
      if (!this.joined) this.reprendreTelechargements();
      this.joined = true;
      this.carry(this.repo.received(Date.now(), conn, new Uint8Array(event.data)));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      if (!this.joined && held.length > 0) this.verifierInvitations(held);
      this.socket = undefined;
      this.joined = false;
      this.carry(this.repo.disconnected(Date.now(), conn));
      this.scheduleReconnect();
    };
  }

  /**
   * A browser cannot read why a websocket was refused: when one closes
   * before the relay answered, ask the relay about each invitation, to
   * tell the user rather than retry in silence, and to reconnect with the
   * ones that still hold (one refused token refuses the whole connection).
   */
  private async verifierInvitations(held: Invitation[]): Promise<void> {
    const base = this.url.replace(/^ws/, "http").replace(/\/sync$/, "/invitation");
    const refusees: string[] = [];
    for (const invitation of held) {
      let reponse: Response;
      try {
        reponse = await fetch(`${base}?token=${encodeURIComponent(invitation.token)}`);
      } catch {
        return; // Offline: nothing to tell yet.
      }
      if (reponse.status !== 401) continue;
      const raison = await reponse.text();
      refusees.push(
        raison.includes("revoked")
          ? "Votre invitation a été révoquée."
          : raison.includes("expired")
            ? "Votre invitation a expiré."
            : "Votre invitation n'est pas reconnue.",
      );
      this.invitations = this.invitations.filter((i) => i.token !== invitation.token);
      await this.storage.retenir({ doc: invitation.doc, invitation: undefined });
    }
    if (refusees.length === 0) return;
    const texte = `${refusees[0]} Demandez un nouveau lien à un organisateur du territoire ; vos données restent sur cet appareil.`;
    this.etat = { ...this.etat, invitationRefusee: texte };
    for (const listener of this.listeners) listener();
    this.reconnectNow();
  }

  /** Forgets the socket at once (its close handshake may never finish). */
  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    this.joined = false;
    socket.onclose = null;
    socket.onmessage = null;
    socket.close();
    this.carry(this.repo.disconnected(Date.now(), this.conn));
    this.scheduleReconnect();
  }

  private reconnectNow(): void {
    this.attempts = 0;
    if (!this.socket) this.connect();
  }

  private scheduleReconnect(): void {
    const delay = backoff(this.attempts);
    this.attempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Queues outputs behind those already queued, and carries them out. */
  private carry(outputs: Output[]): void {
    this.chain = this.chain.then(() => this.carryOut(outputs)).catch((error) => {
      // A storage failure: stop rather than pretend. The page says so.
      console.error("Essaim: stockage impossible", error);
      this.socket?.close();
      throw error;
    });
  }

  private async carryOut(outputs: Output[]): Promise<void> {
    let changed = false;
    for (const output of outputs) {
      switch (output.kind) {
        case "write":
          await this.storage.write(output.put, output.delete);
          break;
        case "send":
          if (output.conn === this.conn && this.socket?.readyState === WebSocket.OPEN) {
            this.socket.send(output.bytes);
          }
          break;
        case "close":
          if (output.conn === this.conn) this.socket?.close(1000, output.reason.slice(0, 120));
          break;
        case "load": {
          const { keys, values } = await this.storage.load(output.doc);
          await this.carryOut(this.repo.loaded(Date.now(), output.doc, keys, values));
          this.bump(output.doc);
          changed = true;
          break;
        }
        case "unavailable":
          this.unavailable.add(output.doc);
          this.bump(output.doc);
          changed = true;
          break;
        case "changed":
          this.bump(output.doc);
          changed = true;
          break;
        case "ephemeral":
          break;
      }
    }
    this.refresh(changed);
  }

  private refresh(changed: boolean): void {
    let enAttente = 0;
    for (const doc of this.open) enAttente += this.repo.unacknowledgedChanges(doc) ?? 0;
    const before = this.etat;
    const enLigne = this.socket?.readyState === WebSocket.OPEN && this.joined;
    const derniereSynchro = enLigne && enAttente === 0 ? Date.now() : before.derniereSynchro;
    this.etat = { ...before, enLigne, enAttente, derniereSynchro };
    this.scheduleTick();
    if (changed || before.enAttente !== enAttente || before.enLigne !== enLigne) {
      for (const listener of this.listeners) listener();
    }
  }

  private scheduleTick(): void {
    const deadline = this.repo.nextDeadline();
    clearTimeout(this.tickTimer);
    if (deadline === undefined) return;
    const delay = Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1));
    this.tickTimer = setTimeout(() => this.carry(this.repo.tick(Date.now())), delay);
  }
}
