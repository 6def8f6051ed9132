// The time of the last synchronisation (the relay had every local change),
// kept in localStorage so that the status bar still tells it after a
// reload or offline, instead of "jamais synchronisé". One value per
// origin, that is per relay: the status bar is the device's, not a
// territory's. Written at most once a second.
//
// Does not: decide when the device is synchronised (the driver does).

const KEY = "essaim:derniere-synchronisation";
const EVERY_MS = 1000;

let written = 0;

/** The last synchronisation stored, if any (ms since the epoch). */
export function read(): number | undefined {
  try {
    const value = Number(localStorage.getItem(KEY));
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined; // Storage unavailable: nothing to show.
  }
}

/** Keeps `at` (ms since the epoch), unless one was kept less than a second ago. */
export function write(at: number): void {
  if (at - written < EVERY_MS) return;
  written = at;
  try {
    localStorage.setItem(KEY, String(at));
  } catch {
    // Storage full or unavailable: the status bar says so after a reload.
  }
}
