// Item 4: the miss path under a stampede. 1,000 concurrent calls on a cold key whose computation
// takes `bodyMs`; counted: how often the computation ran, and the time until all 1,000 callers
// have their value. Each round uses a fresh key per contender; contenders alternate.
import { loadProject } from "../lib/project.mjs";
import { median } from "../lib/measure.mjs";

export async function run({ servers, namespace, scale }) {
  const p = loadProject();
  p.configureTscaching(servers, `${namespace}.st`);
  const floor = new p.HandWrittenMemjs(servers, `${namespace}.stfloor`);
  const cm = new p.CacheManagerPeer(servers, `${namespace}.stcm`);
  const tcClient = p.TypeCacheablePeer.connect(servers, `${namespace}.sttc`);
  const tc = new p.TypeCacheablePeer();
  const contenders = [
    { name: "tscaching", who: "tscaching", fn: (key) => p.slowReport(key, scale.bodyMs) },
    { name: "memjs get + JSON.parse (floor)", who: "floor", fn: (key) => floor.slowReport(key, scale.bodyMs) },
    { name: "cache-manager wrap (Keyv memcache)", who: "cache-manager", fn: (key) => cm.slowReport(key, scale.bodyMs) },
    { name: "type-cacheable @Cacheable (memjs client)", who: "type-cacheable", fn: (key) => tc.slowReport(key, scale.bodyMs) },
  ];
  const runs = Object.fromEntries(contenders.map((c) => [c.name, { executions: [], ms: [], wrong: 0 }]));
  for (let r = 0; r < scale.stampedeRounds; r++) {
    const order = r % 2 ? [...contenders].reverse() : contenders;
    for (const c of order) {
      const key = `cold-${process.pid}-${Date.now()}-${r}`;
      const before = p.executions[c.who] ?? 0;
      globalThis.gc?.();
      const start = process.hrtime.bigint();
      const values = await Promise.all(Array.from({ length: scale.callers }, () => c.fn(key)));
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const expectedValue = JSON.stringify(p.makeUser(key.length));
      runs[c.name].wrong += values.filter((v) => JSON.stringify(v) !== expectedValue).length;
      runs[c.name].executions.push((p.executions[c.who] ?? 0) - before);
      runs[c.name].ms.push(ms);
    }
  }
  await Promise.all([p.closeTscaching(), cm.close()]);
  floor.close();
  tcClient.client.close();
  return {
    callers: scale.callers,
    bodyMs: scale.bodyMs,
    rounds: scale.stampedeRounds,
    contenders: contenders.map((c) => ({
      name: c.name,
      executionsMedian: median(runs[c.name].executions),
      executionsMax: Math.max(...runs[c.name].executions),
      executions: runs[c.name].executions,
      msMedian: median(runs[c.name].ms),
      ms: runs[c.name].ms,
      wrongValues: runs[c.name].wrong,
    })),
    checks: { tscachingErrors: p.cacheErrors.length },
  };
}
