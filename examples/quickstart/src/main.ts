import { cache } from "tscaching";
import { keys } from "./keys";
import { getEmail, lookups, Profiles, setEmail } from "./users";

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${label.padEnd(38)} ${ms.toFixed(1).padStart(7)} ms  -> ${JSON.stringify(value)}`);
  return value;
}

async function main(): Promise<void> {
  const backend = process.env.TSCACHING_SERVERS ? `memcached at ${process.env.TSCACHING_SERVERS}` : "the in-memory backend";
  console.log(`tscaching demo on ${backend}\n`);
  await timed("getEmail('alice')  first call", () => getEmail("alice"));
  await timed("getEmail('alice')  second call", () => getEmail("alice"));
  await timed("getEmail('bob')    new argument", () => getEmail("bob"));

  // Invalidation through the generated, typed registry (`tscaching keys` wrote src/keys.ts).
  setEmail("alice", "alice@new.example");
  await cache.replace(keys.getEmail("alice"), "alice@new.example");
  await timed("getEmail('alice')  after replace", () => getEmail("alice"));
  await cache.delete(keys.getEmail("bob"));
  await timed("getEmail('bob')    after delete", () => getEmail("bob"));

  const en = new Profiles("en");
  const fr = new Profiles("fr");
  await timed("Profiles(en).greeting('alice')", () => en.greeting("alice"));
  await timed("Profiles(fr).greeting('alice')", () => fr.greeting("alice"));
  await timed("Profiles(en).greeting('alice') again", () => en.greeting("alice"));

  await timed("20 concurrent getEmail('carol')", () => Promise.all(Array.from({ length: 20 }, () => getEmail("carol"))).then((r) => r.length));
  console.log(`\noriginal function bodies ran ${lookups} times; cache stats:`, cache.stats());
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
