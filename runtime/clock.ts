/**
 * The one clock the runtime reads: flight bounds, lock waits, stale expiry, the memcached
 * backend's deadlines and circuit breaker. Tests move it (`setClock`) instead of sleeping, so that
 * time-based behaviour is tested by events, never by how fast a loaded machine happens to be.
 */
import { setImmediate } from "node:timers";

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Run `fn` once `ms` milliseconds have passed. The timer never keeps the process alive.
   * Returns a function that cancels it.
   */
  after(ms: number, fn: () => void): () => void;
}

/** The real clock: `Date.now` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

let current: Clock = systemClock;

/**
 * The runtime's clock. Its methods always go to the clock set last, so a part that keeps a
 * reference to it (a backend) follows a later `setClock`.
 */
export const clock: Clock & { readonly isSystem: boolean } = {
  now: () => current.now(),
  after: (ms, fn) => current.after(ms, fn),
  get isSystem() {
    return current === systemClock;
  },
};

/**
 * Replace the runtime's clock (tests); no argument restores the real one. Internal: not exported
 * from the package's entry point.
 */
export function setClock(next: Clock = systemClock): void {
  current = next;
  recentUses = 0;
}

/** Most answers one reading of the real clock gives in {@link recentNow} (when no turn of the event loop ends it first). */
const RECENT_USES = 16;
/** The last reading {@link recentNow} took of the real clock, and how many more answers it may give. */
let recent = 0;
let recentUses = 0;
let recentExpiry: NodeJS.Immediate | undefined;

const endRecent = (): void => {
  recentUses = 0;
  recentExpiry = undefined;
};

/**
 * The runtime clock's time, read for a hot path where a clock read is the costliest step (a local
 * tier hit: `Date.now()` costs about as much as the rest of the hit). On the real clock one reading
 * serves until the current turn of the event loop ends (an immediate ends it) and for at most
 * {@link RECENT_USES} answers, so a loop of calls that never yields to the event loop still sees
 * time move. The answer is never later than {@link clock}'s `now()`, only a little earlier: what
 * expires by it may be answered a turn late, never early. A set clock (tests) is read every time.
 */
export function recentNow(): number {
  if (current !== systemClock) return current.now();
  if (recentUses > 0) {
    recentUses--;
    return recent;
  }
  recent = systemClock.now();
  recentUses = RECENT_USES - 1;
  if (recentExpiry === undefined) {
    recentExpiry = setImmediate(endRecent);
    recentExpiry.unref();
  }
  return recent;
}

/** A promise that resolves after `ms` on the runtime clock. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.after(ms, resolve);
  });
}
