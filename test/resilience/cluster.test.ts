/**
 * A cluster losing a server: what lives on it besides entries. Each function's invalidation
 * counter is kept on two servers, so a function whose counter's home server dies keeps hitting on
 * the live servers, in running and in freshly started processes, and invalidation keeps working
 * through the outage and after the server comes back empty.
 */
import { describe, expect, it } from "vitest";
import type { MemcachedBackend } from "../../runtime/backends/memcached";
import { cache, cachedCall, configure, defineCached, keyHelper, type CacheError } from "../../runtime/index";
import { state } from "../../runtime/state";
import { useMemcachedServers } from "../helpers/cluster";
import { type MemcachedHandle } from "../helpers/memcached";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("one of three servers down", () => {
  const handles = useMemcachedServers(3);

  /** Configure a fresh process state; returns a function id whose counter's home is `victim`. */
  function setup(ns: string, victim: MemcachedHandle, errors: CacheError[] = []) {
    configure({ servers: handles.map((h) => h.address).join(","), namespace: ns, timeout: 100, invalidationCheck: 100,
      onError: (e) => errors.push(e) });
    const backend = state().backend as MemcachedBackend;
    for (let i = 0; ; i++) {
      const id = `cluster#fn${i}`;
      if (backend.ownerOf(`${ns}:${id}:~gen`) === victim.address) return { id, backend };
    }
  }

  it("a function whose invalidation counter's server died keeps hitting on the live servers", async () => {
    const victim = handles[0] as MemcachedHandle;
    const ns = `gen${Date.now()}`;
    const { id, backend } = setup(ns, victim);
    const spec = defineCached({ v: 1, id, ttl: 300 });
    const live = Array.from({ length: 60 }, (_, i) => i).filter((i) => backend.ownerOf(cache.keyOf(id, [i])) !== victim.address);
    let runs = 0;
    const call = (i: number) => cachedCall(spec, [i], async () => (runs++, `v${i}`));
    for (const i of live) await call(i);
    await victim.kill();
    try {
      await sleep(150); // past invalidationCheck: the generation is read again, from the copy
      runs = 0;
      for (const i of live) expect(await call(i)).toBe(`v${i}`);
      expect(runs).toBe(0);
      // A process started during the outage never knew the generation: it reads the other copy.
      setup(ns, victim);
      for (const i of live) expect(await call(i)).toBe(`v${i}`);
      expect(runs).toBe(0);
    } finally {
      await victim.restart();
    }
  });

  it("invalidate() works while a counter copy is down and is not undone when it comes back empty", async () => {
    const victim = handles[1] as MemcachedHandle;
    const ns = `inv${Date.now()}`;
    const { id, backend } = setup(ns, victim);
    const spec = defineCached({ v: 1, id, ttl: 300 });
    const helper = keyHelper<[number], string>(id);
    const i = Array.from({ length: 60 }, (_, k) => k).find((k) => backend.ownerOf(cache.keyOf(id, [k])) !== victim.address)!;
    let version = 1;
    const call = () => cachedCall(spec, [i], async () => `v${version}`);
    expect(await call()).toBe("v1");
    expect(await cache.invalidate(helper)).toBe(true);
    version = 2;
    expect(await call()).toBe("v2");
    await victim.kill();
    try {
      await sleep(150);
      expect(await cache.invalidate(helper)).toBe(true);
      version = 3;
      expect(await call()).toBe("v3");
      setup(ns, victim); // a fresh process sees the invalidation through the live copy
      expect(await call()).toBe("v3");
    } finally {
      await victim.restart();
    }
    // The restarted server's copy is empty (0): the other copy's higher count still wins.
    await sleep(700); // the breaker's probe closes it
    setup(ns, victim);
    version = 4;
    expect(await call()).toBe("v3");
    expect(await cache.invalidate(helper)).toBe(true);
    expect(await call()).toBe("v4");
    setup(ns, victim);
    expect(await call()).toBe("v4");
  });
});
