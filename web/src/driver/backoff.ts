// How long to wait before the next attempt at something the network
// failed: exponential from 0.5 s to 30 s, jittered so that devices cut off
// together do not all come back at the same instant. Used by the socket's
// reconnection and by first downloads waiting for the network.

const MIN_MS = 500;
const MAX_MS = 30_000;

/** The ceiling before attempt `attempts` (from 0), jittered into its upper half. */
export function backoff(attempts: number): number {
  const ceiling = Math.min(MAX_MS, MIN_MS * 2 ** attempts);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
