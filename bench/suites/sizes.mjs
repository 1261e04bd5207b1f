// Item 6: value size. The memcached hit path of tscaching vs the hand-written floor for ~100 B,
// ~10 KB and ~500 KB values, and the codec alone (tscaching's stored format vs bare JSON), to
// show what the header, the length check and the copy cost as values grow.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, serial } from "../lib/measure.mjs";

export const SIZES = [
  { label: "100 B", bytes: 100, ids: 1024 },
  { label: "10 KB", bytes: 10 * 1024, ids: 256 },
  { label: "500 KB", bytes: 500 * 1024, ids: 8 },
];

function loadCodec() {
  try {
    const codec = createRequire(import.meta.url)(fileURLToPath(new URL("../../dist/runtime/codec.js", import.meta.url)));
    if (typeof codec.encodeValue === "function" && typeof codec.decodeValue === "function") return codec;
  } catch {
    // an internal module: another layout simply skips the codec-only rows
  }
  return undefined;
}

export async function run({ servers, namespace, scale }) {
  const p = loadProject();
  p.configureTscaching(servers, `${namespace}.sz`);
  const floor = new p.HandWrittenMemjs(servers, `${namespace}.szfloor`);
  const codec = loadCodec();
  const results = [];
  const codecResults = [];
  for (const size of SIZES.map((s) => ({ ...s, ids: Math.min(s.ids, scale.keys) }))) {
    const ops = Math.min(4000, Math.max(scale.minSizeOps, Math.round(scale.sizeBudgetBytes / Math.max(size.bytes, 2000))));
    const fns = {
      tscaching: (i) => p.getPayload(size.bytes, i % size.ids),
      "memjs get + JSON.parse (floor)": (i) => floor.getPayload(size.bytes, i % size.ids),
    };
    for (const fn of Object.values(fns)) await preload(fn, size.ids);
    await assertSameValues(fns, [0, size.ids - 1]);
    const before = { ...p.executions };
    const names = Object.keys(fns);
    const result = await compare({
      contenders: names.map((name) => ({ name, run: (n) => serial(fns[name], n) })),
      rounds: scale.rounds, ops, warmup: Math.min(ops, 200), pairs: [[names[0], names[1]]],
    });
    const misses = Object.keys(p.executions).reduce((sum, k) => sum + p.executions[k] - (before[k] ?? 0), 0);
    const value = p.makePayload(size.bytes, 0);
    const json = JSON.stringify(value);
    results.push({ id: `size-${size.bytes}`, mode: `serial, ${size.label}`, size: size.label, jsonBytes: Buffer.byteLength(json),
      missesDuringTimedRuns: misses, ...result });

    if (codec) {
      const stored = Buffer.from(codec.encodeValue(value));
      const raw = Buffer.from(json);
      const codecOps = Math.min(50_000, Math.max(scale.minSizeOps, Math.round(scale.codecBudgetBytes / Math.max(size.bytes, 1000))));
      const loop = (fn) => async (n) => {
        for (let i = 0; i < n; i++) fn();
      };
      const decode = await compare({
        contenders: [
          { name: "tscaching decodeValue(Buffer)", run: loop(() => codec.decodeValue(stored)) },
          { name: "JSON.parse(buffer.toString())", run: loop(() => JSON.parse(raw.toString("utf8"))) },
        ],
        rounds: scale.rounds, ops: codecOps, pairs: [["tscaching decodeValue(Buffer)", "JSON.parse(buffer.toString())"]],
      });
      const encode = await compare({
        contenders: [
          { name: "tscaching encodeValue", run: loop(() => codec.encodeValue(value)) },
          { name: "JSON.stringify", run: loop(() => JSON.stringify(value)) },
        ],
        rounds: scale.rounds, ops: codecOps, pairs: [["tscaching encodeValue", "JSON.stringify"]],
      });
      codecResults.push({ size: size.label, storedBytes: stored.length, jsonBytes: raw.length, decode, encode });
    }
  }
  await p.closeTscaching();
  floor.close();
  return { results, codec: codec ? codecResults : "not available (dist/runtime/codec.js has no encodeValue/decodeValue)",
    checks: { tscachingErrors: p.cacheErrors.length } };
}
