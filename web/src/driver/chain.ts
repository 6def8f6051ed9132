// Carries out the repo's outputs in order, on one promise chain: a storage
// write is committed to IndexedDB before anything after it (a frame that
// advertises the change included), and a `load` is answered from IndexedDB,
// the outputs of that answer carried out, before the outputs after it.
//
// A failed IndexedDB write (or read) stops the chain for good: nothing
// after it is carried out, then or later, and `stopped` is called once, so
// that the driver closes the socket rather than sync what was not stored.
//
// Does not: decide anything (the repo does), own the socket (sends and
// closes go to the `Carrier`), or keep any state of documents.

import type { WasmRepo } from "../pkg/wasm_client.js";
import type { Storage } from "../storage";
import type { Output } from "../genere/agenda";

/** What the chain needs from the driver to carry outputs out. */
export interface Carrier {
  send(conn: number, bytes: Uint8Array): void;
  close(conn: number, reason: string): void;
  /** The relay does not have `doc` (or this device may not read it). */
  unavailable(doc: string): void;
  /** One call's outputs are carried out; `changed`: some document may have changed. */
  carried(changed: boolean): void;
  /** Storage failed: the chain carries out nothing more. Called once. */
  stopped(error: unknown): void;
}

export class OutputChain {
  private chain: Promise<void> = Promise.resolve();
  private isStopped = false;

  constructor(
    private readonly repo: WasmRepo,
    private readonly storage: Storage,
    private readonly carrier: Carrier,
  ) {}

  /** Queues outputs behind those already queued; ignored once stopped. */
  carry(outputs: Output[]): void {
    if (this.isStopped) return;
    this.chain = this.chain.then(() => this.carryOut(outputs));
    // Outputs queued before the failure is seen skip their turn: a
    // rejected chain runs no `then`.
    this.chain.catch((error) => this.stop(error));
  }

  /**
   * Resolves once every output queued so far is carried out (writes
   * committed); rejects once storage failed.
   */
  settled(): Promise<void> {
    return this.chain;
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  private stop(error: unknown): void {
    if (this.isStopped) return;
    this.isStopped = true;
    this.carrier.stopped(error);
  }

  private async carryOut(outputs: Output[]): Promise<void> {
    let changed = false;
    for (const output of outputs) {
      switch (output.kind) {
        case "write":
          await this.storage.write(output.put, output.delete);
          break;
        case "send":
          this.carrier.send(output.conn, output.bytes);
          break;
        case "close":
          this.carrier.close(output.conn, output.reason);
          break;
        case "load": {
          const { keys, values } = await this.storage.load(output.doc);
          await this.carryOut(this.repo.loaded(Date.now(), output.doc, keys, values));
          changed = true;
          break;
        }
        case "unavailable":
          this.carrier.unavailable(output.doc);
          changed = true;
          break;
        case "changed":
          changed = true;
          break;
        case "ephemeral":
          break;
      }
    }
    this.carrier.carried(changed);
  }
}
