import type { TestProject } from "vitest/node";
import { startMemcached } from "../helpers/memcached";

/**
 * vitest globalSetup: one memcached for the whole run, provided to tests as `inject("memcached")`
 * and to child processes as TSCACHING_TEST_MEMCACHED. A failure to start fails the run: tests that
 * need memcached are never skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server;
  try {
    server = await startMemcached();
  } catch (err) {
    throw new Error(`test setup could not start memcached: ${(err as Error).message}`, { cause: err });
  }
  project.provide("memcached", server.address);
  process.env.TSCACHING_TEST_MEMCACHED = server.address;
  return () => server.stop();
}
