import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // tmpdir first: its teardown runs last, after the servers have stopped.
    globalSetup: ["test/setup/tmpdir.ts", "test/setup/memcached.ts", "test/setup/redis.ts"],
    reporters: ["default", "./test/setup/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
