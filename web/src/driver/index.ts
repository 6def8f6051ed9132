// The browser driver: carries out what sync-core's repo (wasm) decides. It
// feeds the repo what happens (socket opened, frame received, storage
// answered, timers, the user's edits) and hands each call's outputs to the
// chain that carries them out in order; it tells the screens what changed
// and the state shown on every screen (`Status`). It is made of:
// - `chain.ts`: carries out outputs in order, a storage write committed to
//   IndexedDB before anything after it; stops for good when IndexedDB fails;
// - `connection.ts`: the one websocket to the relay and its reconnection;
// - `invitations.ts`: the invitations held, their roles, and why the relay
//   refused one;
// - `last-sync.ts`: the last synchronisation's time, kept across reloads;
// - `first-load.ts` and `download.ts`: a territory's first download over HTTP;
// - `creations.ts`: territories created here until the relay registered
//   them, and candidatures until its team answered;
// - `demandes.ts`: a resident's volunteerings, sent to the relay's HTTP API;
// - `outputs.ts`: the outputs' type.
//
// Does not: decide anything about protocol or schema (the repo does), or
// keep a copy of the read model (the wasm client keeps it per document
// heads; the driver parses what it hands over).

import type { WasmRepo } from "../pkg/wasm_client.js";
import type { Storage } from "../storage";
import { OutputChain } from "./chain";
import { Connection } from "./connection";
import { Creations } from "./creations";
import { Demandes } from "./demandes";
import { FirstLoads } from "./first-load";
import { type Comparaison, type Invitation, Invitations } from "./invitations";
import * as lastSyncStore from "./last-sync";
import type {
  Agenda,
  Carnet,
  ContactPrive,
  ContenuFiche,
  DifferenceSection,
  Edit,
  EditFiche,
  Evenement,
  Famille4F,
  Fiche,
  Output,
  Profil,
  RendezVous,
} from "../genere/agenda";

export type { Comparaison, Invitation };

/** What every screen shows of the driver (the status bar). */
export interface Status {
  /** The websocket to the relay is open and joined. */
  online: boolean;
  /** Last time the relay had every local change (ms since the epoch). */
  lastSync?: number;
  /** Local changes the relay has not acknowledged yet. */
  unacknowledged: number;
  /** Why the relay refused this device's invitation, in French. */
  invitationRefused?: string;
  /** A first download in progress: percent received (by steps of 5). */
  download?: number;
  /** Why the driver stopped for good (IndexedDB failed), in French. */
  stopped?: string;
}

/** Shown once IndexedDB failed: nothing more is stored nor synced. */
const STOPPED =
  "Synchronisation arrêtée\u00a0: cet appareil n'a pas pu enregistrer vos modifications " +
  "(stockage plein ou indisponible\u00a0?). Libérez de l'espace, puis rechargez la page.";
/** What an edit says once the driver stopped. */
/** Where the device keeps its person's name (localStorage). */
const CLE_NOM = "essaim-nom";
/** Rendez-vous windows kept parsed per document (`Driver.rendezVous`). */
const FENETRES_GARDEES = 4;

const CANNOT_EDIT = "Cet appareil ne peut plus rien enregistrer\u00a0: rechargez la page.";

export class Driver {
  status: Status = { online: false, unacknowledged: 0 };
  private readonly listeners = new Set<() => void>();
  /** Each document's agenda as last parsed, with its read model's version. */
  private readonly agendas = new Map<string, { version: number; agenda: Agenda }>();
  /** Each document's rendez-vous as last parsed, by window, with the read model's version. */
  private readonly rendezVousLus = new Map<string, { version: number; fenetres: Map<string, RendezVous[]> }>();
  /** Documents opened in the repo. */
  private readonly open = new Set<string>();
  private readonly unavailable = new Set<string>();
  private tickTimer?: ReturnType<typeof setTimeout>;
  /** A territory is being left: no more timers until the page reloads. */
  private leaving = false;
  private readonly chain: OutputChain;
  private readonly connection: Connection;
  private readonly invitations: Invitations;
  private readonly firstLoads: FirstLoads;
  /** Creations and candidatures kept until the relay answered them. */
  readonly creations: Creations;
  /** The relay's HTTP address (`/invitation`, the chunks, the invitations API). */
  readonly base: string;
  /** A resident's volunteerings, kept until the relay takes them. */
  readonly demandes: Demandes;

  /** `url`: the relay's `/sync` (ws: or wss:); `held`: the invitations IndexedDB holds, oldest first. */
  constructor(
    private readonly repo: WasmRepo,
    readonly storage: Storage,
    url: string,
    held: Invitation[] = [],
  ) {
    const base = url.replace(/^ws/, "http").replace(/\/sync$/, "");
    this.base = base;
    this.status = { ...this.status, lastSync: lastSyncStore.read() };
    this.invitations = new Invitations(storage, held);
    this.chain = new OutputChain(repo, storage, {
      send: (conn, bytes) => this.connection.send(conn, bytes),
      close: (conn, reason) => this.connection.close(conn, reason),
      unavailable: (doc) => this.unavailable.add(doc),
      carried: (changed) => this.refresh(changed),
      stopped: (error) => this.stop(error),
    });
    this.connection = new Connection(url, () => this.invitations.tokens(), {
      opened: (conn) => this.chain.carry(repo.connected(Date.now(), conn)),
      // The relay is reachable again: so are its chunks.
      joined: () => {
        this.firstLoads.resume();
        this.demandes.resume();
      },
      received: (conn, bytes) => this.chain.carry(repo.received(Date.now(), conn, bytes)),
      closed: (conn, refusedTokens) => {
        if (refusedTokens) void this.checkRefused(refusedTokens);
        this.chain.carry(repo.disconnected(Date.now(), conn));
      },
    });
    this.firstLoads = new FirstLoads(
      storage,
      base,
      () => this.invitations.tokens(),
      (percent) => this.showDownload(percent),
      (doc) => this.openLoaded(doc),
    );
    this.creations = new Creations(storage, base, {
      accepted: async (doc, token, nom, candidature) => {
        await storage.retenir({ doc, nom });
        await this.rejoindre({ doc, token, role: "organisateur" });
        this.openDocument(doc);
        // An accepted candidature opens, if the person is on the home screen.
        if (candidature && location.hash.replace(/^#\/?/, "") === "") location.hash = `#/territoire/${doc}`;
      },
      changed: () => this.notify(),
    });
    this.demandes = new Demandes(storage, base, async (doc) => (await storage.territoire(doc))?.invitation, () => this.notify());
    this.chain.carry(repo.takeStarted());
  }

  /** Opens the connection to the relay; it stays open, reconnecting by itself. Sends the creations kept. */
  connect(): void {
    this.connection.connect();
    void this.creations.start();
  }

  /** Subscribes to any change (documents, connection state). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The organiser's token this device holds for `doc`, if any: the invitations API needs one. */
  jetonOrganisateur(doc: string): string | undefined {
    return this.invitations.organiserToken(doc);
  }

  /** Whether this device may edit the territory (not a resident's link). */
  peutModifier(doc: string): boolean {
    return this.invitations.canEdit(doc);
  }

  /**
   * Whether this device organises territory `doc`: it holds an
   * organiser's invitation to it, or created it, or holds it open and may
   * edit it (an open relay). Unlike `peutModifier`, false for a territory
   * this device knows nothing of: a sheet's reader from a link.
   */
  organise(doc: string): boolean {
    if (this.invitations.organiserToken(doc) !== undefined || this.creations.waiting(doc)) return true;
    return this.open.has(doc) && this.peutModifier(doc);
  }

  /**
   * What opening the invitation link `lien` would change on this device,
   * read from IndexedDB; nothing is written. A link can be crafted by
   * anyone, so the screen asks before a `differente` one replaces the
   * invitation held (see `ecrans/rejoindre.tsx`).
   */
  comparerInvitation(lien: Invitation): Promise<Comparaison> {
    return this.invitations.compare(lien);
  }

  /**
   * Joins a territory from an invitation link: remembered in IndexedDB
   * (replacing the invitation held for it, if any: callers ask first, see
   * `comparerInvitation`), then the connection is reopened with its token.
   */
  async rejoindre(invitation: Invitation): Promise<void> {
    await this.invitations.join(invitation);
    this.status = { ...this.status, invitationRefused: undefined };
    this.connection.drop();
    this.connection.reconnectNow();
  }

  /**
   * Keeps a demonstration territory on this device, read-only, without an
   * invitation (the relay lets anyone read it); `nom` is shown until the
   * document arrives. Also called at start for those kept.
   */
  async consulter(doc: string, nom?: string): Promise<void> {
    this.invitations.readOnly(doc);
    if (nom !== undefined) await this.storage.retenir({ doc, nom, demonstration: true });
  }

  /**
   * Leaves a territory: this device stops syncing for good, then forgets
   * everything it keeps of `doc` (its data, its invitation, a download,
   * volunteerings not sent). The repo in memory still holds the document
   * and cannot close one, so the driver syncs nothing more: the caller
   * reloads the page, which starts without it.
   */
  async quitter(doc: string): Promise<void> {
    this.leaving = true;
    this.connection.stop();
    this.firstLoads.stop();
    clearTimeout(this.tickTimer);
    this.invitations.forget(doc);
    // Writes under way (a sync message just received) land first.
    await this.chain.settled();
    await this.storage.oublier(doc);
  }

  /**
   * Opens a document: loaded from IndexedDB, then synced with the relay;
   * downloaded first if this device has nothing of it. False if `doc` is
   * not a valid document id (a broken link).
   */
  openDocument(doc: string): boolean {
    if (this.open.has(doc) || this.firstLoads.has(doc)) return true;
    if (!this.isValidDocument(doc)) return false;
    this.firstLoads.start(doc);
    return true;
  }

  /** Whether `doc` is a valid document id (the core refuses others). */
  isValidDocument(doc: string): boolean {
    try {
      this.repo.unacknowledgedChanges(doc);
      return true;
    } catch {
      return false;
    }
  }

  isUnavailable(doc: string): boolean {
    return this.unavailable.has(doc) && !this.repo.hasDocument(doc);
  }

  hasDocument(doc: string): boolean {
    return this.repo.hasDocument(doc);
  }

  createTerritory(profil: Partial<Profil>): string {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    const id = crypto.getRandomValues(new Uint8Array(16));
    const created = this.repo.createTerritory(Date.now(), id, JSON.stringify(profil)) as {
      doc: string;
      outputs: Output[];
    };
    this.open.add(created.doc);
    this.chain.carry(created.outputs);
    return created.doc;
  }

  /**
   * Applies an edit; throws the core's French message if it is invalid.
   * An organiser's first edit of an older territory first moves the
   * private contacts it keeps into its notebook (`migrerContacts`).
   */
  apply(doc: string, edit: Edit): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    this.migrerContacts(doc);
    this.signer(doc);
    this.edited(this.repo.apply(Date.now(), doc, JSON.stringify(edit)));
  }

  /** The name this device's person gave (asked once, kept on the device). */
  monNom(): string | undefined {
    try {
      return localStorage.getItem(CLE_NOM) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps this device's person's name; written into each territory at their next edit there. */
  definirMonNom(nom: string): void {
    try {
      localStorage.setItem(CLE_NOM, nom.trim());
    } catch {
      // Private browsing: asked again next time.
    }
    this.notify();
  }

  /**
   * Writes this device's person's name into territory `doc` (sync-core's
   * `Edit::DefinirNom`, under this repo's actor id) when it is not there
   * yet, so others see who changed what.
   */
  private signer(doc: string): void {
    const nom = this.monNom();
    if (!nom || this.agenda(doc)?.auteurs[this.repo.actor()]?.nom === nom) return;
    try {
      this.chain.carry(this.repo.apply(Date.now(), doc, JSON.stringify({ type: "definir_nom", nom } satisfies Edit)));
    } catch {
      // A name the core refuses is not written; the edit goes on.
    }
  }

  /**
   * The organisers' notebook of territory `doc` (sync-core's `Carnet`:
   * private contacts), opened on first use; undefined while it loads or
   * if the territory lists none yet. Only organisers' devices ever get it
   * from the relay.
   */
  carnet(doc: string): Carnet | undefined {
    const carnet = this.repo.hasDocument(doc) ? this.repo.carnetDe(doc) : undefined;
    if (!carnet) return undefined;
    this.openDocument(carnet);
    const json = this.repo.carnetJson(carnet);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /**
   * Sets actor `acteur`'s private contact in territory `doc`'s notebook,
   * making the notebook (listed by the territory) on first use, offline
   * too. Throws the core's French refusal; nothing is written.
   */
  definirContact(doc: string, acteur: string, contact: ContactPrive): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    const carnet = this.carnetPourEcrire(doc);
    const { email, tel, adresse, notes } = contact;
    this.edited(
      this.repo.definirContact(Date.now(), carnet, acteur, email ?? "", tel ?? "", adresse ?? "", notes ?? ""),
    );
  }

  /** Removes actor `acteur`'s private contact from territory `doc`'s notebook. */
  retirerContact(doc: string, acteur: string): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    this.edited(this.repo.retirerContact(Date.now(), this.carnetPourEcrire(doc), acteur));
  }

  /** The notebook to write into: the one listed (loaded), else a new one. */
  private carnetPourEcrire(doc: string): string {
    const carnet = this.repo.carnetDe(doc);
    if (carnet) {
      if (!this.repo.hasDocument(carnet)) {
        this.openDocument(carnet);
        throw new Error("Le carnet des organisateurs se charge encore\u00a0: réessayez dans un instant.");
      }
      return carnet;
    }
    const cree = this.repo.creerCarnet(Date.now(), doc, crypto.getRandomValues(new Uint8Array(16))) as {
      doc: string;
      outputs: Output[];
    };
    this.open.add(cree.doc);
    this.chain.carry(cree.outputs);
    return cree.doc;
  }

  /**
   * The experience sheets territory `doc` lists (issue 18), each opened
   * on first use: the relay opens one to this device's organisers once
   * the territory lists it and it names the territory. Empty while the
   * territory loads.
   */
  fiches(doc: string): string[] {
    if (!this.repo.hasDocument(doc)) return [];
    const fiches = this.repo.fichesDe(doc);
    for (const fiche of fiches) this.openDocument(fiche);
    return fiches;
  }

  /** This device's actor id (hex): the `dernier_auteur` of its edits. */
  monActeur(): string {
    return this.repo.actor();
  }

  /** Sheet `fiche`'s read model (sync-core's `Fiche`), opened on first use; undefined while it loads. */
  fiche(fiche: string): Fiche | undefined {
    this.openDocument(fiche);
    // Open but still empty (its changes not arrived yet): nothing to show,
    // and nothing to write into, which would make a second sheet beside it.
    if (!this.repo.hasDocument(fiche)) return undefined;
    const json = this.repo.ficheJson(fiche);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /**
   * Creates a sheet of territory `doc` (listed there), offline too, with
   * this device's person's name as its first contributor; returns its id.
   * Throws the core's French refusal (a missing title…).
   */
  creerFiche(doc: string, contenu: Partial<ContenuFiche>): string {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    const id = crypto.getRandomValues(new Uint8Array(16));
    const cree = this.repo.creerFiche(Date.now(), doc, id, this.monNom() || undefined, JSON.stringify(contenu)) as {
      doc: string;
      outputs: Output[];
    };
    this.open.add(cree.doc);
    this.chain.carry(cree.outputs);
    return cree.doc;
  }

  /** Applies an edit to the loaded sheet `fiche`, signed with « mon nom »; throws the core's French refusal. */
  modifierFiche(fiche: string, edit: EditFiche): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    this.edited(this.repo.appliquerFiche(Date.now(), fiche, JSON.stringify(edit), this.monNom() || undefined));
  }

  /** « Modifications depuis la version publiée » of the loaded sheet, section by section. */
  differencesFiche(fiche: string): DifferenceSection[] {
    const json = this.repo.differencesFiche(fiche);
    return json === undefined ? [] : JSON.parse(json);
  }

  /**
   * Accepts sheet `fiche`, proposed to territory `doc` by another
   * territory: `doc` lists it (the relay then opens it to `doc`'s
   * organisers, the sheet naming `doc` too). The territory must be loaded.
   */
  accepterFiche(doc: string, fiche: string): void {
    this.apply(doc, { type: "attacher_document", document: fiche, genre: "fiche" });
    this.openDocument(fiche);
  }

  /**
   * Moves the private contacts an older territory keeps in its own
   * document (readable by residents) into its notebook, on an organiser's
   * device; nothing when there are none, or while its notebook loads.
   */
  private migrerContacts(doc: string): void {
    if (!this.peutModifier(doc) || Object.keys(this.agenda(doc)?.contacts_prives ?? {}).length === 0) return;
    const carnet = this.repo.carnetDe(doc);
    if (carnet && !this.repo.hasDocument(carnet)) {
      this.openDocument(carnet);
      return;
    }
    try {
      this.chain.carry(this.repo.migrerContacts(Date.now(), doc, crypto.getRandomValues(new Uint8Array(16))));
    } catch {
      // Never in the way of the edit itself: tried again at the next one.
    }
  }

  /** The last `max` changes of territory `doc`, newest first, in sync-core's words. */
  historique(doc: string, max: number): Evenement[] {
    const json = this.repo.historiqueJson(doc, max);
    return json === undefined ? [] : JSON.parse(json);
  }

  /** Each actor's « 4 Fantastiques » family (set, or implied by its category), by actor id. */
  famillesActeurs(doc: string): Record<string, Famille4F> {
    return (this.repo.famillesActeurs(doc) as Record<string, Famille4F> | undefined) ?? {};
  }

  /**
   * Takes up action `action` of territory `source` into territory `cible`
   * as the draft `id` (essaimage: sync-core decides what is copied and
   * how the rhythm starts from `aPartirDe`, AAAA-MM-JJ). Both documents
   * must be loaded. Throws the core's French refusal; nothing is written.
   */
  essaimer(source: string, action: string, cible: string, id: string, aPartirDe: string): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    this.edited(this.repo.essaimer(Date.now(), source, action, cible, id, aPartirDe));
  }

  /**
   * `essaimer` for an action this device does not hold: `publique` is the
   * JSON of its `ActionPublique`, as the relay's
   * `/t/<id>/actions/<action>.json` served it. The target must be loaded.
   */
  essaimerPublique(publique: string, cible: string, id: string, aPartirDe: string): void {
    if (this.chain.stopped) throw new Error(CANNOT_EDIT);
    this.edited(this.repo.essaimerPublique(Date.now(), publique, cible, id, aPartirDe));
  }

  /**
   * The agenda read model, if the document is loaded: parsed once per
   * version and shared by every screen that asks (read only).
   */
  agenda(doc: string): Agenda | undefined {
    const version = this.repo.agendaVersion(doc);
    if (version === undefined) return undefined;
    const lu = this.agendas.get(doc);
    if (lu?.version === version) return lu.agenda;
    const json = this.repo.agendaJson(doc);
    if (json === undefined) return undefined;
    const agenda: Agenda = JSON.parse(json);
    this.agendas.set(doc, { version, agenda });
    return agenda;
  }

  /**
   * Rendez-vous between two instants (ms since the epoch), recurring ones
   * expanded: parsed once per version and window, and shared (read only).
   */
  rendezVous(doc: string, from: number, to: number): RendezVous[] {
    const version = this.repo.agendaVersion(doc);
    if (version === undefined) return [];
    let lus = this.rendezVousLus.get(doc);
    if (lus?.version !== version) {
      lus = { version, fenetres: new Map() };
      this.rendezVousLus.set(doc, lus);
    }
    const fenetre = `${from}/${to}`;
    const deja = lus.fenetres.get(fenetre);
    if (deja) return deja;
    const json = this.repo.rendezVousJson(doc, from, to);
    const liste: RendezVous[] = json === undefined ? [] : JSON.parse(json);
    // A screen asks for one or two windows (the agenda's, an action's next
    // occurrences); a few are kept.
    if (lus.fenetres.size >= FENETRES_GARDEES) lus.fenetres.delete(lus.fenetres.keys().next().value!);
    lus.fenetres.set(fenetre, liste);
    return liste;
  }

  /** Resolves once every output so far is carried out (writes committed). */
  settled(): Promise<void> {
    return this.chain.settled();
  }

  /** A document downloaded (or with something stored already): open it in the repo. */
  private openLoaded(doc: string): void {
    let outputs: Output[];
    try {
      outputs = this.repo.open(Date.now(), doc);
    } catch {
      return; // Checked by openDocument.
    }
    this.open.add(doc);
    this.chain.carry(outputs);
  }

  /**
   * Why the socket was refused with `tokens`, told in French; the
   * invitations that no longer hold are forgotten and the others reconnect
   * at once, so every other territory keeps syncing.
   */
  private async checkRefused(tokens: string[]): Promise<void> {
    const refusal = await this.invitations.checkRefused(this.base, tokens);
    // Joined meanwhile: the next socket carries a token.
    if (refusal === undefined || (refusal.kind === "required" && this.invitations.tokens().length > 0)) return;
    const before = this.status.invitationRefused;
    const message = before && !before.includes(refusal.message) ? `${before} ${refusal.message}` : refusal.message;
    this.status = { ...this.status, invitationRefused: message };
    this.notify();
    if (refusal.kind === "required") this.connection.waitForTokens();
    else this.connection.reconnectNow();
  }

  private showDownload(percent: number | undefined): void {
    if (percent === this.status.download) return;
    this.status = { ...this.status, download: percent };
    this.notify();
  }

  /** IndexedDB failed: the socket closes for good, nothing more opens, and the screen says so. */
  private stop(error: unknown): void {
    console.error("Essaim : stockage impossible", error);
    this.connection.stop();
    this.firstLoads.stop();
    clearTimeout(this.tickTimer);
    this.status = { ...this.status, online: false, stopped: STOPPED };
    this.notify();
  }

  private refresh(changed: boolean): void {
    let unacknowledged = 0;
    for (const doc of this.open) unacknowledged += this.repo.unacknowledgedChanges(doc) ?? 0;
    const before = this.status;
    const online = this.connection.online;
    const lastSync = online && unacknowledged === 0 ? Date.now() : before.lastSync;
    if (lastSync !== before.lastSync && lastSync !== undefined) lastSyncStore.write(lastSync);
    this.status = { ...before, online, unacknowledged, lastSync };
    this.scheduleTick();
    if (changed || before.unacknowledged !== unacknowledged || before.online !== online) this.notify();
  }

  private scheduleTick(): void {
    clearTimeout(this.tickTimer);
    const deadline = this.repo.nextDeadline();
    if (deadline === undefined || this.chain.stopped || this.leaving) return;
    const delay = Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1));
    this.tickTimer = setTimeout(() => this.chain.carry(this.repo.tick(Date.now())), delay);
  }

  /**
   * Carries out the outputs of an edit made on this device and shows it at
   * once: the document changed in memory, so the screens need not wait
   * for its write to IndexedDB (which still comes before any frame that
   * sends it, on the chain; a failed write stops everything as ever).
   */
  private edited(outputs: Output[]): void {
    this.chain.carry(outputs);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
