// Item 5 as a suite process: see build-cost.mjs.
import { runBuildCost } from "../build-cost.mjs";

export async function run({ build }) {
  const log = (message) => console.log(`[bench build] ${message}`);
  return runBuildCost({ ...build, log });
}
