// The invitations this device holds, at most one per territory, all sent
// on the one connection, and the role each gives (organisers edit,
// residents read). Joining from a link remembers it in IndexedDB, replacing
// the invitation held for that territory.
//
// A browser cannot read why a websocket was refused: when one closes before
// the relay answered, `checkRefused` asks the relay's `/invitation` about
// each token, reads why from its `Essaim-Refusal` header, forgets the
// invitations that no longer hold (one refused token refuses the whole
// connection, so the others reconnect without it at once) and words the
// reason in French for the person, naming the territory. A socket refused
// with no token at all is a relay that takes only invitations (`required`).
//
// Does not: open or close the socket (the driver reconnects after a
// change), or decide access (the relay does).

import type { Role, Storage } from "../storage";

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

/** The relay's header saying why it refused a token (`server/src/gate.rs`, `Refusal`). */
const REFUSAL_HEADER = "Essaim-Refusal";

/** What a person reads when an invitation to `nom` no longer holds, by the relay's reason. */
function refusalMessage(reason: string | null, nom: string | undefined): string {
  const a = nom ? `à «\u00a0${nom}\u00a0»` : "à ce territoire";
  switch (reason) {
    case "revoked":
      return `Votre invitation ${a} a été révoquée.`;
    case "expired":
      return `Votre invitation ${a} a expiré.`;
    default:
      return `Votre invitation ${a} n'est pas reconnue.`;
  }
}

/** What a person reads when the relay takes only invitations and this device holds none. */
export const REQUIRED =
  "Ce relais n'accepte que les invitations\u00a0: vos territoires restent sur cet appareil, sans synchronisation, " +
  "jusqu'à ce que vous ouvriez un lien d'invitation reçu d'un organisateur.";

/** What `checkRefused` found. */
export type Refusal =
  /** Some invitations no longer hold: forgotten; `message` names their territories. */
  | { kind: "forgotten"; message: string }
  /** The relay takes only invitations, and this device sent none. */
  | { kind: "required"; message: string };

export class Invitations {
  private held: Invitation[];
  private readonly roles = new Map<string, Role>();

  /** `held`: the invitations IndexedDB holds, oldest first. */
  constructor(
    private readonly storage: Storage,
    held: Invitation[],
  ) {
    for (const i of held) this.roles.set(i.doc, i.role);
    this.held = held;
  }

  /** The tokens to send on the connection. */
  tokens(): string[] {
    return this.held.map((i) => i.token);
  }

  /** The organiser's token this device holds for `doc`, if any (the invitations API needs one). */
  organiserToken(doc: string): string | undefined {
    return this.held.find((i) => i.doc === doc && i.role === "organisateur")?.token;
  }

  /** A territory read without an invitation (a demonstration): read-only, unless an invitation says otherwise. */
  readOnly(doc: string): void {
    if (!this.roles.has(doc)) this.roles.set(doc, "habitant");
  }

  /** Whether this device may edit the territory (not a resident's link). */
  canEdit(doc: string): boolean {
    return this.roles.get(doc) !== "habitant";
  }

  /** What opening the link `link` would change on this device; nothing is written. */
  async compare(link: Invitation): Promise<Comparaison> {
    const known = await this.storage.territoire(link.doc);
    if (!known?.invitation) return { cas: "nouvelle" };
    if (known.invitation === link.token && known.role === link.role) return { cas: "identique" };
    return { cas: "differente", role: known.role, nom: known.nom };
  }

  /** Remembers `invitation`, replacing the one held for its territory, if any. */
  async join(invitation: Invitation): Promise<void> {
    await this.storage.retenir({ doc: invitation.doc, invitation: invitation.token, role: invitation.role, rejointLe: Date.now() });
    this.roles.set(invitation.doc, invitation.role);
    this.held = [...this.held.filter((i) => i.doc !== invitation.doc), invitation];
  }

  /** Forgets the invitation and role held for `doc` (the territory is left; IndexedDB is the caller's). */
  forget(doc: string): void {
    this.roles.delete(doc);
    this.held = this.held.filter((i) => i.doc !== doc);
  }

  /**
   * Asks the relay at `base` about each of `tokens` (those a socket was
   * refused with; none: the relay may take only invitations) and forgets
   * those it refuses (401). Returns what to tell the person, in French;
   * undefined if nothing was refused, or the network failed first.
   */
  async checkRefused(base: string, tokens: string[]): Promise<Refusal | undefined> {
    if (tokens.length === 0) {
      const response = await fetch(`${base}/invitation`).catch(() => undefined);
      const required = response?.status === 401 && response.headers.get(REFUSAL_HEADER) === "required";
      return required ? { kind: "required", message: REQUIRED } : undefined;
    }
    const messages: string[] = [];
    for (const invitation of this.held.filter((i) => tokens.includes(i.token))) {
      let response: Response;
      try {
        response = await fetch(`${base}/invitation?token=${encodeURIComponent(invitation.token)}`);
      } catch {
        break; // Offline: nothing more to tell yet.
      }
      if (response.status !== 401) continue;
      const nom = (await this.storage.territoire(invitation.doc))?.nom || undefined;
      messages.push(refusalMessage(response.headers.get(REFUSAL_HEADER), nom));
      this.held = this.held.filter((i) => i.token !== invitation.token);
      await this.storage.retenir({ doc: invitation.doc, invitation: undefined });
    }
    if (messages.length === 0) return undefined;
    const conseil = "Demandez un nouveau lien à un organisateur du territoire\u00a0; vos données restent sur cet appareil.";
    return { kind: "forgotten", message: `${messages.join(" ")} ${conseil}` };
  }
}
