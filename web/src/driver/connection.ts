// The one websocket to the relay's `/sync`, carrying every invitation token
// this device holds (`?token=a,b`). Each socket is a new connection number
// for the repo (`conn`). It reconnects by itself: exponential backoff with
// jitter (`backoff.ts`), at once when the browser says it is online; when
// the browser says it is offline it drops the socket (one can outlive the
// network by minutes before TCP notices; edits queue locally). `stop`
// closes it for good; `waitForTokens` holds it closed until there is a
// token to send (a relay that takes only invitations refuses every socket
// without one, and counts each against this address).
//
// Does not: read frames (the repo does), decide which tokens to send or
// why the relay refused them (`invitations.ts`), or carry out outputs.

import { backoff } from "./backoff";

/** What happens on the connection, for the driver to feed the repo. */
export interface ConnectionEvents {
  opened(conn: number): void;
  /** The relay's first frame on this socket: it let the device in. */
  joined(): void;
  received(conn: number, bytes: Uint8Array): void;
  /**
   * The socket is gone. `refusedTokens`: it closed by itself before the
   * relay answered, with these tokens, maybe none (a refusal, or the relay
   * is down); undefined when the relay had answered, or the driver closed it.
   */
  closed(conn: number, refusedTokens: string[] | undefined): void;
}

export class Connection {
  private socket?: WebSocket;
  private conn = 0;
  private attempts = 0;
  /** The relay has answered on the current socket. */
  private hasJoined = false;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private isStopped = false;
  /** The relay takes only invitations: no socket until there is a token to send. */
  private tokensRequired = false;

  /** `tokens`: those to send, asked again for each socket. */
  constructor(
    private readonly url: string,
    private readonly tokens: () => string[],
    private readonly events: ConnectionEvents,
  ) {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.drop());
  }

  /** Open and let in by the relay. */
  get online(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.hasJoined;
  }

  connect(): void {
    clearTimeout(this.reconnectTimer);
    if (this.socket || this.isStopped) return;
    const tokens = this.tokens();
    if (this.tokensRequired && tokens.length === 0) return;
    const conn = ++this.conn;
    const query = tokens.length > 0 ? `?token=${encodeURIComponent(tokens.join(","))}` : "";
    const socket = new WebSocket(`${this.url}${query}`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => this.events.opened(conn);
    socket.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      this.attempts = 0;
      if (!this.hasJoined) {
        this.hasJoined = true;
        this.events.joined();
      }
      this.events.received(conn, new Uint8Array(event.data));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      const answered = this.hasJoined;
      this.socket = undefined;
      this.hasJoined = false;
      this.events.closed(conn, answered ? undefined : tokens);
      this.scheduleReconnect();
    };
  }

  /** Sends on socket `conn`, if it is still the open one. */
  send(conn: number, bytes: Uint8Array): void {
    if (conn === this.conn && this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  /** Closes socket `conn` (the repo's decision), if it is still the current one. */
  close(conn: number, reason: string): void {
    if (conn === this.conn) this.socket?.close(1000, reason.slice(0, 120));
  }

  /** Forgets the socket at once (its close handshake may never finish), and reconnects later. */
  drop(): void {
    if (!this.forget()) return;
    this.events.closed(this.conn, undefined);
    this.scheduleReconnect();
  }

  /** Reconnects now, the backoff started over. */
  reconnectNow(): void {
    this.attempts = 0;
    if (!this.socket) this.connect();
  }

  /** Opens no socket without a token from now on (the relay said `required`). */
  waitForTokens(): void {
    this.tokensRequired = true;
  }

  /** Closes the socket for good: no reconnection, whatever happens. */
  stop(): void {
    this.isStopped = true;
    clearTimeout(this.reconnectTimer);
    this.forget();
  }

  /** Closes the current socket without a word to anyone; false if there is none. */
  private forget(): boolean {
    const socket = this.socket;
    if (!socket) return false;
    this.socket = undefined;
    this.hasJoined = false;
    socket.onclose = null;
    socket.onmessage = null;
    socket.onopen = null;
    socket.close();
    return true;
  }

  private scheduleReconnect(): void {
    if (this.isStopped) return;
    const delay = backoff(this.attempts);
    this.attempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
