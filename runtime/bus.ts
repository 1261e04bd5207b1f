/**
 * The bus (BentoCache's design): on a store with pub/sub (Redis), every write and invalidation made
 * through `cache.*` is announced to the other processes, and each process that keeps a local tier
 * (`local=`) listens, so that another process's write ends its copies at once — within one bus
 * round trip (the PUBLISH and its delivery), not after `local` seconds.
 *
 * - Announced: `cache.set/add/replace/delete/incr/decr/append/prepend/touch` (the key),
 *   `invalidate()` (the group), `invalidateTag()` (the tag values), `flushAll()`. Not the stores of
 *   cached calls: a computed result never makes another process's copy wrong (it is stored only
 *   where no entry was, see store.ts). The message is queued on the command connection right
 *   after the write's reply, before the write resolves; its own reply is not waited for, and a
 *   failed publish is reported and never fails the write.
 * - Received (from another process; a process ignores its own): a key's copy goes, and flights of
 *   the key begun before the message are detached (they may have read the old value: a write
 *   wins, flights.ts); a group's copies go and its generation is re-read from the store at once;
 *   a tag value's generation likewise (its entries are then misses); a flush clears the tier.
 * - Trust: anyone who may publish on the server can send anything. Messages are bounded and parsed
 *   strictly (bus-message.ts); none carries a value or a generation: the worst a forged one can do
 *   is drop copies and cause counter reads — extra misses, never a wrong value.
 * - Fallback: while the subscriber is not subscribed (connecting, lost, reconnecting) messages are
 *   missed, so a copy is bounded by its `local=` alone, as on memcached. When the subscriber is
 *   (re)subscribed the tier is cleared: a copy filled meanwhile may have missed a message. A failed
 *   attempt to subscribe (server down, no permission) is reported once per spell without the bus.
 *
 * Memcached has no pub/sub: there the backend has no `bus`, and every hook here does nothing.
 */
import { randomBytes } from "node:crypto";
import type { Backend } from "./backends/backend";
import { formatMessage, MAX_TAGS_PER_MESSAGE, parseMessage, type BusMessage } from "./bus-message";
import { detachGroup, detachKey } from "./flights";
import { recheck } from "./groups";
import type { LocalTier } from "./local-tier";
import { backendError, report, state, type RuntimeState } from "./state";
import { tagBase, type CacheTag } from "./tags";

/** The topic `flushAll()` is announced on: it empties the whole database, every namespace in it. */
const FLUSH_TOPIC = "*flush";

/** What one process's bus over one backend knows, and counts (for tests and diagnostics). */
export interface BusStatus {
  /** This process's id in messages (its own are ignored). */
  readonly origin: string;
  /** Whether this process listens (a local tier exists over a backend with pub/sub). */
  listening: boolean;
  /** Whether the subscriber is subscribed right now. */
  up: boolean;
  /** Messages applied (from other processes). */
  applied: number;
  /** This process's own messages, ignored. */
  own: number;
  /** Messages that were not messages of the grammar (or not about this namespace), ignored. */
  malformed: number;
}

const buses = new WeakMap<Backend, BusStatus>();

function busOf(backend: Backend): BusStatus {
  let bus = buses.get(backend);
  if (bus === undefined) {
    bus = { origin: randomBytes(16).toString("base64url"), listening: false, up: false, applied: 0, own: 0, malformed: 0 };
    buses.set(backend, bus);
  }
  return bus;
}

/** The bus of `backend` as this process sees it; `undefined` where the backend has no pub/sub. */
export function busStatus(backend: Backend): Readonly<BusStatus> | undefined {
  return backend.bus === undefined ? undefined : busOf(backend);
}

function announce(topic: string | undefined, kind: BusMessage["kind"], items: readonly string[], about: string): void {
  const { backend, options } = state();
  const transport = backend.bus;
  if (transport === undefined) return;
  const message = formatMessage(busOf(backend).origin, kind, items);
  transport.publish(topic ?? options.namespace, message).catch((error: unknown) => {
    // Closed by cache.close() after the write: the message was written out before it, or is moot.
    if ((error as { code?: string } | undefined)?.code === "ECLOSED") return;
    report(backendError(error, { key: about }));
  });
}

/** A write of `key` through this process (after it settled, before it resolves). */
export function announceKey(key: string): void {
  announce(undefined, "key", [key], key);
}

/** `invalidate()` of `group` (a key prefix `namespace:idPart:`). */
export function announceGroup(group: string): void {
  announce(undefined, "group", [group], group);
}

/** `invalidateTag(...tags)`, in messages of at most {@link MAX_TAGS_PER_MESSAGE} tag values. */
export function announceTags(tags: readonly CacheTag[]): void {
  if (state().backend.bus === undefined) return;
  const namespace = state().options.namespace;
  const bases: string[] = [];
  for (const tag of tags) {
    try {
      bases.push(tagBase(namespace, tag));
    } catch {
      // A tag that cannot form a key was not invalidated either (invalidateTag reported it).
    }
  }
  for (let i = 0; i < bases.length; i += MAX_TAGS_PER_MESSAGE) {
    const chunk = bases.slice(i, i + MAX_TAGS_PER_MESSAGE);
    announce(undefined, "tags", chunk, chunk[0]!);
  }
}

/** `flushAll()`: every namespace's copies over this database. */
export function announceFlush(): void {
  announce(FLUSH_TOPIC, "flush", [], "*");
}

/**
 * Announce a flush made on `backend` outside the cache operations (`tscaching flush`): resolves once
 * sent (or at once where the backend has no pub/sub); never rejects, the flush itself is done.
 */
export function announceFlushOn(backend: Backend): Promise<void> {
  return backend.bus?.publish(FLUSH_TOPIC, formatMessage(busOf(backend).origin, "flush")).catch(() => undefined) ?? Promise.resolve();
}

/**
 * Start listening for `tier`, the local tier just created for `current` (once per backend; the
 * backend's `close()` ends it). Nothing where the backend has no pub/sub.
 */
export function listen(current: RuntimeState, tier: LocalTier): void {
  const { backend, options } = current;
  const transport = backend.bus;
  if (transport === undefined) return;
  const bus = busOf(backend);
  if (bus.listening) return;
  bus.listening = true;
  const namespace = options.namespace;
  // One report per spell without the bus (the subscriber retries with backoff meanwhile).
  let reported = false;
  transport.listen([namespace, FLUSH_TOPIC], (_topic, raw) => receive(backend, bus, tier, namespace, raw), (up) => {
    bus.up = up;
    // Copies filled while nothing listened may have missed a message.
    if (up) {
      tier.clear();
      reported = false;
    }
  }, (error) => {
    if (reported) return;
    reported = true;
    report(backendError(new Error(`${error.message}; until it subscribes, local copies end by their local= bound alone ` +
      "(not reported again until it has subscribed)", { cause: error }), { key: namespace }));
  });
}

function receive(backend: Backend, bus: BusStatus, tier: LocalTier, namespace: string, raw: Buffer): void {
  const message = parseMessage(raw, namespace);
  if (message === undefined) {
    bus.malformed++;
    return;
  }
  if (message.origin === bus.origin) {
    bus.own++;
    return;
  }
  bus.applied++;
  switch (message.kind) {
    case "key":
      detachKey(message.key);
      tier.drop(message.key);
      break;
    case "group":
      detachGroup(message.group);
      tier.dropGroup(message.group);
      recheck(backend, message.group);
      break;
    case "tags":
      for (const base of message.bases) recheck(backend, base);
      break;
    case "flush":
      tier.clear();
      break;
  }
}
