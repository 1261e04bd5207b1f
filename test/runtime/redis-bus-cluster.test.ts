/**
 * The bus (issue 16) over a real Redis Cluster (three masters started here): a PUBLISH reaches
 * every node, so the subscriber, a plain connection to one seed node, hears what another process
 * publishes through ioredis's Cluster on whichever node — its writes and invalidations end this
 * process's `local=60` copies within seconds.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { busStatus } from "../../runtime/bus";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, state } from "../../runtime/state";
import { startRedisCluster, type RedisClusterHandle } from "../helpers/redis";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";

let cluster: RedisClusterHandle;
let runtime: TranspiledRuntime;
let writer: RuntimeProcess;
const namespace = `busc-${Date.now()}`;
const errors: CacheError[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  // Generations trusted for a minute: only the bus explains an invalidation seen within seconds.
  configure({ servers: cluster.url, namespace, timeout: 2_000, invalidationCheck: 60_000, onError: (e) => errors.push(e) });
  runtime = transpileRuntime();
  writer = await startRuntimeProcess(runtime, { TSCACHING_SERVERS: cluster.url, TSCACHING_NAMESPACE: namespace, TSCACHING_TIMEOUT: "2000" });
}, 90_000);

afterEach(() => {
  expect(errors).toEqual([]);
  expect(writer.stderr).toBe("");
});

afterAll(async () => {
  await close();
  await writer?.stop();
  await cluster?.stop();
  runtime?.dispose();
});

it("another process's set, delete, invalidate and invalidateTag end local copies at once", async () => {
  const spec = defineCached({ v: 1, id: `busc#${randomUUID().slice(0, 8)}`, ttl: 600, local: 60, tags: [{ name: "team", args: [0] }] });
  let runs = 0;
  const row = (arg: string) => cachedCall<string>(spec, [arg], async () => `computed ${++runs}`, [arg]);
  expect(await row("k")).toBe("computed 1");
  await until(() => busStatus(state().backend)?.up === true);
  const register = `if (!runtime.cachedFunctions().some((f) => f.id === ${JSON.stringify(spec.id)})) ` +
    `runtime.defineCached({ v: 1, id: ${JSON.stringify(spec.id)} });`;
  const steps: Array<[string, string]> = [
    [`return cache.invalidateTag(cache.tag("team", "k"))`, "computed 3"],
    [`return cache.invalidate({ id: ${JSON.stringify(spec.id)} })`, "computed 4"],
  ];
  // The tier was cleared when the bus came up: refill, then check the copy answers.
  expect(await row("k")).toBe("computed 1");
  const before = cache.stats().functions[spec.id]!.localHits!;
  expect(await row("k")).toBe("computed 1");
  expect(cache.stats().functions[spec.id]!.localHits).toBe(before + 1);
  // The tagged key (tag generation 0) is the plain key: the writer may address it with keyOf.
  expect(await writer.run(`${register} return cache.delete(cache.keyOf(${JSON.stringify(spec.id)}, ["k"]))`)).toBe(true);
  await eventually(row, "computed 2");
  for (const [code, expected] of steps) {
    expect(await writer.run(code)).toBe(true);
    await eventually(row, expected);
  }
}, 60_000);

async function eventually(row: (arg: string) => Promise<string>, expected: string, bound = 5_000): Promise<void> {
  const limit = Date.now() + bound;
  let got = await row("k");
  while (got !== expected && Date.now() < limit) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    got = await row("k");
  }
  expect(got, `seen within ${bound} ms`).toBe(expected);
}

async function until(condition: () => boolean, bound = 15_000): Promise<void> {
  const limit = Date.now() + bound;
  while (!condition() && Date.now() < limit) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
