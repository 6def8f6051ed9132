// Opening a document: if this device has nothing of it, its chunks are
// first downloaded over HTTP, resumably (`download.ts`); then the driver
// opens it, its load comes from IndexedDB and websocket sync brings only
// what is newer. A complete download is stored with a sync state with the
// relay that served it (sync-core's `syncStateAfterDownload`), so that sync
// costs little. If the relay does not serve it that way, websocket sync
// does it all; while the network is down, the download waits for it:
// retried with backoff, at once on the browser's `online` event and when
// the socket joins (`resume`).
//
// Does not: open the document in the repo (`opened` is told when to), or
// read or write chunks itself (`download.ts`, `storage.ts`).

import { syncStateAfterDownload } from "../pkg/wasm_client.js";
import type { Storage } from "../storage";
import { backoff } from "./backoff";
import { download, Offline } from "./download";

export class FirstLoads {
  /** Documents to download before they open, and those downloading now. */
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private retryTimer?: ReturnType<typeof setTimeout>;
  private attempts = 0;
  private isStopped = false;

  /**
   * `base`: the relay's HTTP address; `tokens`: the invitation tokens to
   * send; `progress`: percent received of the downloads in progress (by
   * steps of 5), undefined once none is; `opened`: the document is ready
   * to open in the repo.
   */
  constructor(
    private readonly storage: Storage,
    private readonly base: string,
    private readonly tokens: () => string[],
    private readonly progress: (percent: number | undefined) => void,
    private readonly opened: (doc: string) => void,
  ) {
    window.addEventListener("online", () => this.resume());
  }

  /** Whether `doc` waits for its first download. */
  has(doc: string): boolean {
    return this.waiting.has(doc);
  }

  /** Downloads `doc` if nothing of it is stored here, then opens it. */
  start(doc: string): void {
    this.waiting.add(doc);
    void this.load(doc);
  }

  /** The network is back: every waiting download tries again. */
  resume(): void {
    for (const doc of this.waiting) void this.load(doc);
  }

  /** Opens nothing more, and retries nothing. */
  stop(): void {
    this.isStopped = true;
    clearTimeout(this.retryTimer);
  }

  private async load(doc: string): Promise<void> {
    if (this.running.has(doc) || !this.waiting.has(doc) || this.isStopped) return;
    this.running.add(doc);
    try {
      if (await this.storage.isEmpty(doc)) {
        const tokens = this.tokens().join(",");
        const end = await download(this.base, doc, tokens, this.storage, (done, total) =>
          this.progress(total > 0 ? Math.floor((100 * done) / total / 5) * 5 : 0),
        );
        const relay = end === "refused" ? undefined : end.relay;
        // Complete or refused: what is complete is stored, the rest syncs.
        await this.storage.finishDownload(doc, relay === undefined ? undefined : (chunks) => seed(doc, relay, chunks));
      }
      this.attempts = 0;
    } catch (error) {
      if (error instanceof Offline) {
        this.running.delete(doc);
        clearTimeout(this.retryTimer);
        if (!this.isStopped) this.retryTimer = setTimeout(() => this.resume(), backoff(this.attempts++));
        return;
      }
      // IndexedDB failed: websocket sync, as before downloads existed.
      console.error("Essaim : téléchargement impossible", error);
    }
    this.running.delete(doc);
    this.waiting.delete(doc);
    if (this.waiting.size === 0) this.progress(undefined);
    if (!this.isStopped) this.opened(doc);
  }
}

/** The sync state with the relay `relay` after downloading `chunks` from it, if any. */
function seed(doc: string, relay: string, chunks: [string, Uint8Array][]): [string, Uint8Array] | undefined {
  try {
    const state = syncStateAfterDownload(doc, relay, chunks.map(([k]) => k), chunks.map(([, v]) => v));
    return state as [string, Uint8Array] | undefined;
  } catch (error) {
    // An id the core refuses: no sync state, sync does it the long way.
    console.warn("Essaim : pas d'état de synchronisation après le téléchargement", error);
    return undefined;
  }
}
