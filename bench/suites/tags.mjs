// Tags (issue: typed tags across functions): a tagged hit against an untagged one on a real
// memcached (goal ≤ 1.10×), and what invalidating a tag carried by 10,000 entries costs: the
// commands each server answered for it (memcached `stats`; goal: one per server) and its latency.
// The specs are what the transformer emits for `tags=user(id)` and for no tags.
import net from "node:net";
import { createRequire } from "node:module";
import { compare, serial } from "../lib/measure.mjs";

const require = createRequire(import.meta.url);

async function commandsServed(address) {
  const [host, port] = address.split(":");
  const text = await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => socket.write("stats\r\n"));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk;
      if (data.endsWith("END\r\n")) {
        socket.end();
        resolve(data);
      }
    });
    socket.on("error", reject);
  });
  const stat = (name) => Number(new RegExp(`STAT ${name} (\\d+)`).exec(text)?.[1] ?? 0);
  return ["cmd_get", "cmd_set", "cmd_touch", "incr_hits", "incr_misses", "decr_hits", "decr_misses", "delete_hits",
    "delete_misses", "cas_hits", "cas_misses", "cas_badval"].reduce((sum, name) => sum + stat(name), 0);
}

export async function run({ servers, namespace, scale }) {
  const { cache, cachedCall, configure, defineCached } = require("tscaching");
  const KEYS = scale.keys;
  const ENTRIES = 10_000;
  configure({ servers, namespace: `${namespace}.tags` });
  const record = (id) => ({ id, name: `user ${id}`, email: `user${id}@example.org`, roles: ["reader"] });
  const plain = defineCached({ v: 1, id: "bench#plain" });
  const tagged = defineCached({ v: 1, id: "bench#tagged", tags: [{ name: "user", args: [0] }] });
  const fns = {
    "tagged hit (tags=user(id))": (i) => cachedCall(tagged, [i % KEYS], async () => record(i % KEYS), [i % KEYS]),
    "untagged hit": (i) => cachedCall(plain, [i % KEYS], async () => record(i % KEYS)),
  };
  for (const fn of Object.values(fns)) for (let i = 0; i < KEYS; i++) await fn(i);
  const before = { ...Object.fromEntries([tagged, plain].map((s) => [s.id, s.misses])) };
  const comparison = await compare({
    contenders: Object.entries(fns).map(([name, fn]) => ({ name, run: (n) => serial(fn, n) })),
    rounds: scale.rounds, ops: scale.serialOps, warmup: Math.min(scale.serialOps, 2000),
    pairs: [["tagged hit (tags=user(id))", "untagged hit"]],
  });

  // One tag value carried by 10,000 entries of one function.
  const shop = defineCached({ v: 1, id: "bench#shop", tags: [{ name: "shop", args: [0] }] });
  await cache.invalidateTag(cache.tag("shop", 1)); // the first invalidation of a value creates its counters
  for (let from = 0; from < ENTRIES; from += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, i) => cachedCall(shop, [1, from + i], async () => from + i, [1])));
  }
  const addresses = servers.split(",");
  const counted = await Promise.all(addresses.map(commandsServed));
  const start = process.hrtime.bigint();
  const ok = await cache.invalidateTag(cache.tag("shop", 1));
  const invalidateMs = Number(process.hrtime.bigint() - start) / 1e6;
  const after = await Promise.all(addresses.map(commandsServed));
  await cache.close();
  return {
    results: [{ id: "tags-hit", mode: "serial, memcached", ...comparison }],
    invalidation: { entries: ENTRIES, servers: addresses.length, ok, ms: invalidateMs,
      commandsPerServer: after.map((n, i) => n - counted[i]) },
    checks: { missesDuringTimedRuns: { tagged: tagged.misses - before[tagged.id], plain: plain.misses - before[plain.id] } },
  };
}
