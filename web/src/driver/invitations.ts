// The invitations this device holds, at most one per territory, all sent
// on the one connection, and the role each gives (organisers edit,
// residents read). Joining from a link remembers it in IndexedDB, replacing
// the invitation held for that territory.
//
// A browser cannot read why a websocket was refused: when one closes before
// the relay answered, `checkRefused` asks the relay's `/invitation` about
// each token, reads why from its `Essaim-Refusal` header, forgets the
// invitations that no longer hold (one refused token refuses the whole
// connection) and words the reason in French for the person.
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

/** What a person reads when an invitation no longer holds, by the relay's reason. */
function refusalMessage(reason: string | null): string {
  switch (reason) {
    case "revoked":
      return "Votre invitation a été révoquée.";
    case "expired":
      return "Votre invitation a expiré.";
    default:
      return "Votre invitation n'est pas reconnue.";
  }
}

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

  /**
   * Asks the relay at `base` about each of `tokens` (those a socket was
   * refused with) and forgets those it refuses (401). Returns what to tell
   * the person, in French, if any was refused; undefined if none was, or
   * the network failed first.
   */
  async checkRefused(base: string, tokens: string[]): Promise<string | undefined> {
    let first: string | undefined;
    for (const invitation of this.held.filter((i) => tokens.includes(i.token))) {
      let response: Response;
      try {
        response = await fetch(`${base}/invitation?token=${encodeURIComponent(invitation.token)}`);
      } catch {
        return undefined; // Offline: nothing to tell yet.
      }
      if (response.status !== 401) continue;
      first ??= refusalMessage(response.headers.get(REFUSAL_HEADER));
      this.held = this.held.filter((i) => i.token !== invitation.token);
      await this.storage.retenir({ doc: invitation.doc, invitation: undefined });
    }
    if (first === undefined) return undefined;
    return `${first} Demandez un nouveau lien à un organisateur du territoire ; vos données restent sur cet appareil.`;
  }
}
