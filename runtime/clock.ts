/**
 * The one clock the runtime reads: flight bounds, lock waits, stale expiry, the memcached
 * backend's deadlines and circuit breaker. Tests move it (`setClock`) instead of sleeping, so that
 * time-based behaviour is tested by events, never by how fast a loaded machine happens to be.
 */

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
}

/** A promise that resolves after `ms` on the runtime clock. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.after(ms, resolve);
  });
}
