import type { TestProject } from "vitest/node";
import { startRedis } from "../helpers/redis";

/**
 * vitest globalSetup: one redis-server for the whole run, provided to tests as `inject("redis")`
 * and to child processes as TSCACHING_TEST_REDIS. A failure to start fails the run: tests that
 * need Redis are never skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server;
  try {
    server = await startRedis();
  } catch (err) {
    throw new Error(`test setup could not start redis-server: ${(err as Error).message}`, { cause: err });
  }
  project.provide("redis", server.address);
  process.env.TSCACHING_TEST_REDIS = server.address;
  return () => server.stop();
}
