/**
 * `tscaching keys` on a project with `tags=`: keys.ts gets a `tags` export, one helper per tag name
 * typed from the parameters it names; right uses compile with plain tsc, wrong ones do not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";
import { prepareProject } from "../helpers/project";
import { cli, compile } from "./run-cli";

const USES = `import { cache, type CacheTag } from "tscaching";
import { keys, tags } from "./keys.js";

export async function uses(): Promise<void> {
  await cache.invalidateTag(tags.user(42));
  await cache.invalidateTag(tags.user(42), tags.team("a"), tags.catalog());
  const tag: CacheTag = tags.team("b");
  await cache.invalidate(keys.getProfile);
  void tag;
  // @ts-expect-error user takes the number id of getProfile, not a string
  tags.user("x");
  // @ts-expect-error catalog takes no argument
  tags.catalog(1);
  // @ts-expect-error there is no tag named users
  tags.users(1);
  // @ts-expect-error invalidateTag takes tags, not keys
  await cache.invalidateTag(keys.getProfile(1));
}
`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

test("keys.ts exports typed tag helpers", async () => {
  const dir = prepareProject("tags");
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "src/uses.ts"), USES);
  const written = await cli(["keys"], { cwd: dir });
  expect(written.stderr).toBe("");
  expect(written.status).toBe(0);
  const text = fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8");
  expect(text).toContain("export const tags = {");
  expect(text).toContain('catalog: (): CacheTag => cache.tag("catalog"),');
  expect(text).toContain("user: (userId: Parameters<typeof m0.getMembership>[0]): CacheTag => cache.tag(\"user\", userId),");
  const built = await compile(dir, "tsc", ["--noEmit"]);
  expect(built.output).toBe("");
  expect(built.status).toBe(0);
}, 180_000);
