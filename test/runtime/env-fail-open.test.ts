/**
 * A bad environment value never makes a cached call fail: the process runs uncached and says so
 * once, loudly (onError and a process warning naming the variable). configure() with bad options
 * still throws its TypeError.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import { cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, state } from "../../runtime/state";

const VARIABLES = ["TSCACHING_SERVERS", "TSCACHING_TIMEOUT", "TSCACHING_NAMESPACE", "TSCACHING_DISABLED"];
let saved: Record<string, string | undefined>;
let warnings: Error[];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeEach(async () => {
  saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) delete process.env[name];
  warnings = [];
  process.on("warning", onWarning);
  await close();
});

afterEach(async () => {
  process.off("warning", onWarning);
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  configure({});
});

/** Two calls of one cached function: how often its body ran, and what each call answered. */
async function twoCalls(id: string): Promise<{ runs: number; answers: number[] }> {
  const spec = defineCached({ v: 1, id });
  let runs = 0;
  const answers = [await cachedCall(spec, [], async () => ++runs), await cachedCall(spec, [], async () => ++runs)];
  return { runs, answers };
}

/** Lets process warnings (emitted on the next tick) arrive. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test.each([
  ["TSCACHING_SERVERS", ":99999"],
  ["TSCACHING_SERVERS", "127.0.0.1:11211 127.0.0.1:11212"],
  ["TSCACHING_TIMEOUT", "abc"],
  ["TSCACHING_NAMESPACE", ""],
])("%s=%j: calls run uncached, reported once with the variable's name", async (name, value) => {
  process.env[name] = value;
  const first = await twoCalls(`env#${name}${value}`);
  expect(first).toEqual({ runs: 2, answers: [1, 2] });
  const second = await twoCalls(`env#${name}${value}#2`);
  expect(second.runs).toBe(2);
  await settle();
  const ours = warnings.filter((w) => w.message.includes(name));
  expect(ours).toHaveLength(1);
  expect(ours[0]!.message).toMatch(/uncached/);
});

test("a bad variable reaches onError once when configure() leaves it to the environment", async () => {
  process.env.TSCACHING_TIMEOUT = "abc";
  const errors: CacheError[] = [];
  configure({ onError: (error) => errors.push(error) });
  expect((await twoCalls("env#onError")).runs).toBe(2);
  expect((await twoCalls("env#onError2")).runs).toBe(2);
  await settle();
  expect(errors).toHaveLength(1);
  expect(errors[0]!.code).toBe("ECONFIG");
  expect(errors[0]!.message).toMatch(/TSCACHING_TIMEOUT/);
  expect(warnings.filter((w) => w.message.includes("TSCACHING_TIMEOUT"))).toHaveLength(1);
});

test("an option given to configure() wins over a bad variable, which is then not read", async () => {
  process.env.TSCACHING_TIMEOUT = "abc";
  configure({ timeout: 100 });
  expect(state().options.enabled).toBe(true);
  expect((await twoCalls("env#overridden")).runs).toBe(1);
});

test("configure() with bad options still throws its TypeError", () => {
  process.env.TSCACHING_TIMEOUT = "abc";
  expect(() => configure({ timeout: -1 })).toThrow(TypeError);
  expect(() => configure({ servers: ":99999" })).toThrow(TypeError);
});

test.each(["1", "true", "yes", "on", "TRUE", " On "])("TSCACHING_DISABLED=%j turns caching off", async (value) => {
  process.env.TSCACHING_DISABLED = value;
  expect((await twoCalls(`env#disabled${value}`)).runs).toBe(2);
  await settle();
  expect(warnings).toHaveLength(0);
});

test.each(["0", "false", "no", "off", ""])("TSCACHING_DISABLED=%j keeps caching on", async (value) => {
  process.env.TSCACHING_DISABLED = value;
  expect((await twoCalls(`env#enabled${value}`)).runs).toBe(1);
});

test("TSCACHING_DISABLED=maybe is reported and the process runs uncached", async () => {
  process.env.TSCACHING_DISABLED = "maybe";
  expect((await twoCalls("env#maybe")).runs).toBe(2);
  await settle();
  expect(warnings.filter((w) => w.message.includes("TSCACHING_DISABLED"))).toHaveLength(1);
});
