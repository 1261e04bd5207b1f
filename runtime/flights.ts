/**
 * Single-flight per key, with bounds. Concurrent callers of one key in this process share one
 * read-or-compute (a flight), but:
 *
 * - **No joining across a write.** A write through `cache.*` to a key (or `invalidate()` of its
 *   group) detaches the flights under way for it: a call that starts after the write starts a
 *   flight of its own and never receives what a computation begun before the write produced.
 *   A tagged call's flight remembers the generations this process knew for its tag values when it
 *   began; once this process knows a newer one (its own `invalidateTag()`, or a `learn()` of
 *   another process's), a new call does not join it.
 * - **Bounded waits.** A joiner waits at most until the flight's deadline (its start plus the
 *   function's `timeout=` or `flightTimeout`), then runs the function itself; the flight is
 *   detached at its deadline, so a hung computation never blocks its key. At most
 *   {@link MAX_WAITERS} callers wait on one flight; the next caller starts a fresh one.
 * - **A copy per caller.** Joiners do not share the leader's object: each decodes its own copy of
 *   the encoded result (or runs its own call when there is nothing to copy).
 */
import type { Backend } from "./backends/backend";
import { clock } from "./clock";
import { groupOf, knownGeneration } from "./groups";

/** Most callers waiting on one flight; past it, a caller starts a new flight. */
export const MAX_WAITERS = 10_000;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Runs the waiter's own call (its deadline passed, or the flight's result is not shareable). */
  run(): Promise<unknown>;
}

/** One read-or-compute of a key, in this process. */
export interface Flight {
  readonly key: string;
  /** When its joiners stop waiting (ms, runtime clock). */
  readonly deadline: number;
  waiters: Waiter[] | undefined;
  /** Cancels the deadline timer (armed at the first join only: a lone caller costs no timer). */
  cancel: (() => void) | undefined;
  /** A tagged call's tag counters and the generations known for them when it began. */
  readonly bases?: readonly string[];
  readonly stamp?: readonly number[];
}

/** How a flight ended, for its joiners. */
export type Outcome =
  /** Each joiner gets `copy()`: its own decoded copy of the result. */
  | { readonly kind: "value"; readonly copy: () => unknown }
  /** Each joiner runs its own call (the body said `Uncached`, or the result cannot be copied). */
  | { readonly kind: "own" }
  | { readonly kind: "error"; readonly error: unknown };

export const OWN: Outcome = { kind: "own" };

const inflight = new Map<string, Flight>();

/**
 * The flight a new call of `key` may join, if any (past its deadline, full, or begun under tag
 * generations older than `backend`'s known ones, it is detached).
 */
export function joinable(key: string, backend?: Backend): Flight | undefined {
  const flight = inflight.get(key);
  if (flight === undefined) return undefined;
  if (clock.now() >= flight.deadline || (flight.waiters?.length ?? 0) >= MAX_WAITERS || isOutrun(flight, backend)) {
    inflight.delete(key);
    return undefined;
  }
  return flight;
}

/** Whether this process learnt of an invalidation of one of the flight's tag values since it began. */
function isOutrun(flight: Flight, backend: Backend | undefined): boolean {
  const { bases, stamp } = flight;
  if (bases === undefined || backend === undefined) return false;
  for (let i = 0; i < bases.length; i++) if (knownGeneration(backend, bases[i]) > stamp![i]) return true;
  return false;
}

/** Wait on `flight`, at most until its deadline; then `run` (the caller's own call). */
export function join<T>(flight: Flight, run: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    (flight.waiters ??= []).push({ resolve: resolve as (value: unknown) => void, reject, run });
    flight.cancel ??= clock.after(flight.deadline - clock.now(), () => expire(flight));
  });
}

/**
 * Start the flight of `key`; joiners wait on it for at most `bound` ms. A tagged call gives its tag
 * counters (`bases`) and the generations `backend` knows for them now (`known`, else looked up).
 */
export function begin(key: string, bound: number, backend?: Backend, bases?: readonly string[],
                      known?: readonly number[]): Flight {
  const tagged = bases !== undefined && backend !== undefined;
  const flight: Flight = { key, deadline: clock.now() + bound, waiters: undefined, cancel: undefined,
    bases: tagged ? bases : undefined, stamp: tagged ? known ?? bases.map((base) => knownGeneration(backend, base)) : undefined };
  inflight.set(key, flight);
  return flight;
}

/** Whether `flight` is still the flight of its key: no write to the key (or its group), deadline or landing detached it. */
export function isAttached(flight: Flight): boolean {
  return inflight.get(flight.key) === flight;
}

/** Whether anyone waits on `flight` (the outcome for joiners is built only then). */
export function hasWaiters(flight: Flight): boolean {
  return flight.waiters !== undefined;
}

/** End `flight`: it leaves the registry and its joiners get `outcome` (built only when there are joiners). */
export function land(flight: Flight, outcome: Outcome | (() => Outcome)): void {
  if (inflight.get(flight.key) === flight) inflight.delete(flight.key);
  const waiters = flight.waiters;
  if (waiters === undefined) return;
  flight.waiters = undefined;
  flight.cancel?.();
  flight.cancel = undefined;
  const result = typeof outcome === "function" ? outcome() : outcome;
  for (const waiter of waiters) {
    if (result.kind === "error") waiter.reject(result.error);
    else if (result.kind === "own") waiter.resolve(waiter.run());
    else {
      try {
        waiter.resolve(result.copy());
      } catch {
        waiter.resolve(waiter.run());
      }
    }
  }
}

/** The deadline passed: the flight is detached and each joiner runs its own call. */
function expire(flight: Flight): void {
  flight.cancel = undefined;
  if (inflight.get(flight.key) === flight) inflight.delete(flight.key);
  const waiters = flight.waiters;
  flight.waiters = undefined;
  for (const waiter of waiters ?? []) waiter.resolve(waiter.run());
}

/** A write to `key` resolved (or is starting): later calls must not join a flight begun before it. */
export function detachKey(key: string): void {
  inflight.delete(key);
}

/** `invalidate()` of `group`: detach every flight of the group. */
export function detachGroup(group: string): void {
  for (const key of inflight.keys()) if (groupOf(key) === group) inflight.delete(key);
}

/** Flights under way (attached) in this process; for tests and diagnostics. */
export function flightCount(): number {
  return inflight.size;
}
