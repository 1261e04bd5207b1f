/**
 * A process too busy to read its sockets for longer than the timeout (a long synchronous task, a
 * GC pause, a starved CPU) is not a server that failed to answer. A reply that arrived during the
 * busy spell must be read before any deadline is judged: the request succeeds, the connection is
 * kept and the breaker counts nothing. On the real clock, against the real servers of the test
 * setup; nothing here measures speed, only outcomes.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { RedisBackend } from "../../runtime/backends/redis";
import type { Backend } from "../../runtime/backends/backend";
import type { CircuitChange } from "../../runtime/backends/memcached-breaker";
import { resolveOptions } from "../../runtime/config";

const TIMEOUT = 100;
/** Long past the timeout; a loopback server answers within it by orders of magnitude. */
const BUSY_MS = 4 * TIMEOUT;

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a synchronous task that keeps the event loop from reading sockets
  }
}

/**
 * Sends `count` gets, then keeps the event loop busy for {@link BUSY_MS} before it can read their
 * answers. The busy spell starts in a tick queued after the requests, so after anything a backend
 * queues to flush its writes (nextTick callbacks run first in, first out).
 */
function getWhileBusy(backend: Backend, keys: string[]): Promise<Array<{ value?: string; code?: string }>> {
  const answers = keys.map((key) => backend.get(key).then(
    (value) => ({ value: value?.toString() }),
    (error: { code?: string }) => ({ code: error.code ?? "?" })));
  process.nextTick(() => busy(BUSY_MS));
  return Promise.all(answers);
}

const made: Backend[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((b) => b.close()));
});

const backends: Array<[string, (onCircuit: (c: CircuitChange) => void) => Backend]> = [
  ["memcached", (onCircuit) => {
    const [host, port] = inject("memcached").split(":");
    return new MemcachedBackend({ servers: [{ host: host!, port: Number(port) }], timeout: TIMEOUT, onCircuit });
  }],
  ["redis", (onCircuit) =>
    new RedisBackend({ target: resolveOptions({ servers: `redis://${inject("redis")}` }).redis!, timeout: TIMEOUT, onCircuit })],
];

describe.each(backends)("%s, with the event loop busy past the timeout", (_name, make) => {
  it("one request: the answer that arrived meanwhile is used, not failed as a timeout", async () => {
    const changes: CircuitChange[] = [];
    const backend = make((c) => changes.push(c));
    made.push(backend);
    const key = `busy:one:${process.pid}:${Date.now()}`;
    await backend.set(key, "answered", 60);
    expect(await getWhileBusy(backend, [key])).toEqual([{ value: "answered" }]);
    expect(changes).toEqual([]);
  });

  it("64 requests in flight, six busy spells in a row: every one answered, the breaker never opens", async () => {
    const changes: CircuitChange[] = [];
    const backend = make((c) => changes.push(c));
    made.push(backend);
    const keys = Array.from({ length: 64 }, (_, i) => `busy:many:${process.pid}:${Date.now()}:${i}`);
    await Promise.all(keys.map((key, i) => backend.set(key, `v${i}`, 60)));
    // Five consecutive failures would open the breaker: six spells would show it.
    for (let spell = 0; spell < 6; spell++) {
      expect(await getWhileBusy(backend, keys)).toEqual(keys.map((_, i) => ({ value: `v${i}` })));
    }
    expect(changes).toEqual([]);
  });
});
