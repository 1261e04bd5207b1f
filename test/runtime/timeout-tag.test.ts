/**
 * `timeout=` (issue 12): a compiled function's tag bounds how long a caller waits on another
 * caller's computation of the same key. The runtime clock is moved; nobody sleeps.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { configure } from "../../runtime/index";
import { setClock } from "../../runtime/clock";
import { close } from "../../runtime/state";
import { ManualClock, flush } from "../helpers/clock";
import { loadCompiled } from "../helpers/compiled";

let clock: ManualClock;
let mod: Record<string, any>;
beforeAll(() => {
  clock = new ManualClock();
  setClock(clock);
  configure({ namespace: `timeout-tag-${Date.now()}`, flightTimeout: 60_000 });
  mod = loadCompiled(`
    export const gates: Array<(v: string) => void> = [];
    /** @cache ttl=5m timeout=1 */
    export async function slow(id: string): Promise<string> {
      return new Promise<string>((resolve) => gates.push(resolve));
    }
  `);
});
afterAll(async () => {
  setClock();
  await close();
});

it("a joiner of a timeout=1 function stops waiting after 1 s of the runtime clock and runs the function itself", async () => {
  const first = mod.slow("k");
  await flush();
  expect(mod.gates).toHaveLength(1);
  let joined: string | undefined;
  void mod.slow("k").then((v: string) => (joined = v));
  await flush();
  expect(mod.gates).toHaveLength(1); // joined, not running
  await clock.advance(999);
  expect(mod.gates).toHaveLength(1);
  await clock.advance(1); // the configured flightTimeout (60 s) would keep it waiting
  expect(mod.gates).toHaveLength(2);
  mod.gates[1]("joiner's own");
  await flush();
  expect(joined).toBe("joiner's own");
  mod.gates[0]("leader's");
  expect(await first).toBe("leader's");
});
