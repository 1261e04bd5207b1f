/**
 * The per-server circuit breaker of the memcached and Redis backends: after `failures` consecutive
 * failures a server is skipped at once (requests reject with `ECIRCUIT` without waiting) for a
 * cool-down; then one probe (sent in the background by the next request) closes it again once the
 * server answers. Each failed probe
 * doubles the cool-down up to a maximum. Time comes from the runtime's clock.
 */
import type { Clock } from "../clock";
import { backendError, type BackendError } from "./hash";

/** Circuit-breaker settings of the memcached backend. */
export interface BreakerOptions {
  /**
   * Consecutive failures (connection errors, timeouts) that open a server's breaker. Requests that
   * were in flight together and fail together (a killed server fails all of them at once) count as
   * one failure. Default 5.
   */
  failures?: number;
  /** Milliseconds the breaker stays open before one probe is sent; doubles after a failed probe. Default 500. */
  cooldown?: number;
  /** Longest cool-down in milliseconds. Default 3000. */
  maxCooldown?: number;
}

/** A breaker changing state: `open` (the server is skipped) or `closed` (it answers again). */
export interface CircuitChange {
  /** "host:port". */
  readonly server: string;
  readonly state: "open" | "closed";
  /** Consecutive failures that opened it (`open` only). */
  readonly failures?: number;
  /** Milliseconds until the first probe (`open` only). */
  readonly retryIn?: number;
}

/** One opening of a breaker, shared by every request it refuses, so that a reporter can tell it once. */
export interface Outage {
  /** When the breaker opened (ms since the epoch). */
  readonly since: number;
  /** Set by whoever reported the outage (the runtime reports only the first refused call). */
  reported: boolean;
}

/** The error a request gets while its server's breaker is open. */
export interface CircuitError extends BackendError {
  readonly code: "ECIRCUIT";
  /** The server whose breaker is open. */
  readonly server: string;
  /** The current opening; the same object for every request it refuses. */
  readonly outage: Outage;
}

/** Resolve breaker options to settings (`undefined`: no breaker). */
export function breakerSettings(options: BreakerOptions | false | undefined): Required<BreakerOptions> | undefined {
  if (options === false) return undefined;
  const given = options ?? {};
  return {
    failures: given.failures ?? 5,
    cooldown: given.cooldown ?? 500,
    maxCooldown: Math.max(given.maxCooldown ?? 3_000, given.cooldown ?? 500),
  };
}

/** One server's breaker. */
export class Breaker {
  /** Consecutive failures counted (0 after any answer). */
  failures = 0;
  /** Bumped at each counted failure: a request that started before the bump does not count again. */
  epoch = 0;
  /** Whether the breaker is open: requests for this server reject with ECIRCUIT. */
  open = false;
  /** The last failure counted: every request it failed carries it as `failure`. */
  lastFailure: object = {};
  /** When open: the time (ms) from which the next request may start a probe. */
  #retryAt = 0;
  /** Current cool-down in ms (doubles after each failed probe, up to the maximum). */
  #cooldown = 0;
  #probing = false;
  /** The current opening (while open). */
  #outage: Outage = { since: 0, reported: false };

  constructor(private readonly address: string, private readonly settings: Required<BreakerOptions> | undefined,
              private readonly clock: Clock, private readonly notify: (change: CircuitChange) => void,
              /** Sends one probe (a NOOP, a PING) to the server, bypassing the breaker. */
              private readonly probe: () => Promise<unknown>,
              /** What the server is, for messages ("memcached", "redis"). */
              private readonly kind = "memcached") {}

  /** A request while open: refused at once, and maybe the time for a probe. */
  refuse(): CircuitError {
    this.maybeProbe();
    const error = backendError(`${this.kind} ${this.address} is marked down after repeated failures (circuit open); ` +
      "request not sent", "ECIRCUIT");
    return Object.assign(error, { code: "ECIRCUIT" as const, server: this.address, outage: this.#outage });
  }

  /** The server answered (any status): it is up. */
  answered(): void {
    this.failures = 0;
    if (this.open) this.#close();
  }

  /** Count a failure of a request that started at `epoch`; false when it is part of a failure already counted. */
  failed(epoch: number): boolean {
    // Requests that were in flight together fail together (a killed server resets them all at
    // once): only the first of them counts, so a burst does not open the breaker by itself.
    if (epoch !== this.epoch) return false;
    this.epoch++;
    this.failures++;
    this.lastFailure = {};
    if (this.settings !== undefined && !this.open && this.failures >= this.settings.failures) {
      this.open = true;
      this.#outage = { since: this.clock.now(), reported: false };
      this.#cooldown = this.settings.cooldown;
      this.#retryAt = this.clock.now() + this.#cooldown;
      this.notify({ server: this.address, state: "open", failures: this.failures, retryIn: this.#cooldown });
    }
    return true;
  }

  /** Half-open: once the cool-down passed, one probe goes out in the background; its answer closes the breaker. */
  maybeProbe(): void {
    if (this.#probing || this.clock.now() < this.#retryAt) return;
    this.#probing = true;
    this.probe().then(
      () => {
        this.#probing = false;
        if (this.open) this.#close();
      },
      () => {
        this.#probing = false;
        if (!this.open || this.settings === undefined) return;
        this.#cooldown = Math.min(this.#cooldown * 2, this.settings.maxCooldown);
        this.#retryAt = this.clock.now() + this.#cooldown;
      },
    );
  }

  #close(): void {
    this.open = false;
    this.failures = 0;
    this.#probing = false;
    this.notify({ server: this.address, state: "closed" });
  }
}
