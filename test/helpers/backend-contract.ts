/**
 * The backend contract: what every backend (memory, memcached, Redis, a Redis Cluster) must do,
 * as one suite run once per backend by test/runtime/backend-contract.test.ts and
 * test/runtime/redis-cluster.test.ts.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../../runtime/backends/backend";

export interface Subject {
  name: string;
  /** A backend on the shared store (other test files may use it: keys must be unique). */
  create(): Backend;
  /** A backend nobody else uses, for flush; `dispose` releases what it needed. */
  createPrivate(): Promise<{ backend: Backend; dispose(): Promise<void> }>;
  /** Lets `ms` pass for expiry: the memory backend's injected clock, real time for memcached. */
  advance(ms: number): Promise<void>;
  statsKeys(): string[];
}

const bytes = (value: Buffer | string | undefined): Buffer | undefined =>
  value === undefined ? undefined : Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8");

const code = async (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(
    () => undefined,
    (err: { code?: string }) => err.code ?? "no code",
  );

export function backendContract(subject: Subject): void {
  describe(`${subject.name} backend contract`, () => {
    let backend: Backend;
    const run = randomUUID().slice(0, 8);
    let n = 0;
    const key = (label: string): string => `contract:${subject.name}:${run}:${label}:${n++}`;

    beforeAll(() => {
      backend = subject.create();
    });
    afterAll(() => backend.close());

    it("misses with undefined", async () => {
      expect(await backend.get(key("miss"))).toBeUndefined();
    });

    it("round-trips strings and arbitrary bytes", async () => {
      const text = key("text");
      const binary = key("binary");
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await backend.set(text, "héllo ✓", 0);
      await backend.set(binary, allBytes, 0);
      expect(bytes(await backend.get(text))).toEqual(Buffer.from("héllo ✓"));
      expect(bytes(await backend.get(binary))).toEqual(allBytes);
      await backend.set(text, "", 0);
      expect(bytes(await backend.get(text))).toEqual(Buffer.alloc(0));
    });

    it("adds only where no entry exists", async () => {
      const k = key("add");
      expect(await backend.add(k, "first", 0)).toBe(true);
      expect(await backend.add(k, "second", 0)).toBe(false);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("first"));
    });

    it("replaces only where an entry exists", async () => {
      const k = key("replace");
      expect(await backend.replace(k, "nothing", 0)).toBe(false);
      expect(await backend.get(k)).toBeUndefined();
      await backend.set(k, "old", 0);
      expect(await backend.replace(k, "new", 0)).toBe(true);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("new"));
    });

    it("appends and prepends to existing entries only", async () => {
      const k = key("concat");
      expect(await backend.append(k, "x")).toBe(false);
      expect(await backend.prepend(k, "x")).toBe(false);
      expect(await backend.get(k)).toBeUndefined();
      await backend.set(k, "b", 0);
      expect(await backend.append(k, "c")).toBe(true);
      expect(await backend.prepend(k, "a")).toBe(true);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("abc"));
    });

    it("refuses an append that would outgrow the size limit and keeps the entry", async () => {
      const k = key("grow");
      await backend.set(k, Buffer.alloc(backend.maxValueSize, 1), 0);
      expect(await backend.append(k, Buffer.alloc(2048, 2))).toBe(false);
      expect(bytes(await backend.get(k))?.length).toBe(backend.maxValueSize);
    });

    it("deletes", async () => {
      const k = key("delete");
      await backend.set(k, "v", 0);
      expect(await backend.delete(k)).toBe(true);
      expect(await backend.get(k)).toBeUndefined();
      expect(await backend.delete(k)).toBe(false);
    });

    it("increments and decrements counters as memcached does", async () => {
      const k = key("counter");
      await backend.set(k, "10", 0);
      expect(await backend.incr(k, 5)).toBe(15);
      expect(await backend.incr(k, -3)).toBe(12);
      expect(await backend.incr(k, -100)).toBe(0);
      // Shorter results are rewritten in place, padded with spaces.
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("0 "));
      expect(await backend.incr(k, 7)).toBe(7);
      await backend.set(k, "4294967296", 0);
      expect(await backend.incr(k, 1)).toBe(4294967297);
      await backend.set(k, "18446744073709551615", 0);
      expect(await backend.incr(k, 2)).toBe(1); // 64-bit wrap-around
    });

    it("does not create a missing counter", async () => {
      const k = key("no-counter");
      expect(await backend.incr(k, 1)).toBeUndefined();
      expect(await backend.incr(k, -1)).toBeUndefined();
      expect(await backend.get(k)).toBeUndefined();
    });

    it("rejects incr on a non-numeric value", async () => {
      const k = key("not-a-number");
      await backend.set(k, "abc", 0);
      expect(await code(backend.incr(k, 1))).toBe("ENONNUMERIC");
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("abc"));
    });

    it("expires entries by ttl, touch included", async () => {
      const [plain, touched, untouched, persistent] = ["ttl", "touched", "untouched", "persistent"].map(key);
      await backend.set(plain as string, "v", 2);
      await backend.set(touched as string, "v", 0);
      expect(await backend.touch(touched as string, 2)).toBe(true);
      await backend.set(untouched as string, "v", 2);
      expect(await backend.touch(untouched as string, 0)).toBe(true);
      await backend.set(persistent as string, "v", 0);
      expect(await backend.touch(key("touch-missing"), 5)).toBe(false);
      expect(bytes(await backend.get(plain as string))).toEqual(Buffer.from("v"));
      await subject.advance(2_600);
      expect(await backend.get(plain as string)).toBeUndefined();
      expect(await backend.get(touched as string)).toBeUndefined();
      expect(bytes(await backend.get(untouched as string))).toEqual(Buffer.from("v"));
      expect(bytes(await backend.get(persistent as string))).toEqual(Buffer.from("v"));
    });

    it("stores ttls beyond 30 days (memcached's absolute-time threshold)", async () => {
      const k = key("long-ttl");
      await backend.set(k, "v", 31 * 24 * 3600);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("v"));
      expect(await backend.touch(k, 365 * 24 * 3600)).toBe(true);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("v"));
    });

    it("rejects oversized values with E2BIG and stores nothing", async () => {
      const k = key("big");
      const big = Buffer.alloc(backend.maxValueSize + 1);
      expect(await code(backend.set(k, big, 0))).toBe("E2BIG");
      expect(await code(backend.add(k, big, 0))).toBe("E2BIG");
      expect(await code(backend.replace(k, big, 0))).toBe("E2BIG");
      expect(await backend.get(k)).toBeUndefined();
      await backend.set(k, "small", 0);
      expect(await code(backend.append(k, big))).toBe("E2BIG");
      expect(await code(backend.replace(k, big, 0))).toBe("E2BIG");
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("small"));
      await backend.set(k, Buffer.alloc(backend.maxValueSize), 0);
    });

    it("rejects keys memcached cannot hold with EBADKEY", async () => {
      for (const bad of ["", "a".repeat(251), "é".repeat(126), "with space", "new\nline", "tab\t", "nul\0"]) {
        expect(await code(backend.set(bad, "v", 0)), JSON.stringify(bad)).toBe("EBADKEY");
        expect(await code(backend.get(bad)), JSON.stringify(bad)).toBe("EBADKEY");
      }
      const longest = `${key("k")}:`.padEnd(250, "k");
      await backend.set(longest, "v", 0);
      expect(bytes(await backend.get(longest))).toEqual(Buffer.from("v"));
    });

    it("rejects negative or non-finite ttls and unsafe deltas with EINVAL", async () => {
      const k = key("invalid");
      expect(await code(backend.set(k, "v", -1))).toBe("EINVAL");
      expect(await code(backend.set(k, "v", Number.NaN))).toBe("EINVAL");
      await backend.set(k, "1", 0);
      expect(await code(backend.incr(k, 0.5))).toBe("EINVAL");
      expect(await code(backend.incr(k, 2 ** 60))).toBe("EINVAL");
    });

    it("gets a value with its version; every write makes a new version", async () => {
      const k = key("gets");
      expect(await backend.gets(k)).toBeUndefined();
      await backend.set(k, "v1", 0);
      const first = await backend.gets(k);
      expect(bytes(first?.value)).toEqual(Buffer.from("v1"));
      expect((await backend.gets(k))?.cas).toBe(first?.cas);
      await backend.set(k, "v1", 0);
      expect((await backend.gets(k))?.cas).not.toBe(first?.cas);
    });

    it("addGets takes a lease only where no entry exists, and names its version", async () => {
      const k = key("lease");
      const lease = await backend.addGets(k, "lease", 60);
      expect(lease).toBeDefined();
      expect((await backend.gets(k))?.cas).toBe(lease);
      expect(await backend.addGets(k, "other", 60)).toBeUndefined();
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("lease"));
    });

    it("cas stores only over the version it names", async () => {
      const k = key("cas");
      const lease = (await backend.addGets(k, "lease", 60))!;
      expect(await backend.cas(k, "v1", 60, lease)).toBe(true);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("v1"));
      // The lease's version is spent: a second store with it fails.
      expect(await backend.cas(k, "v1-again", 60, lease)).toBe(false);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("v1"));
    });

    it.each(["set", "replace", "delete", "append", "incr", "expiry"] as const)(
      "cas fails after a %s of the entry", async (write) => {
        const k = key(`cas-${write}`);
        await backend.set(k, "7", write === "expiry" ? 1 : 60);
        const version = (await backend.gets(k))!.cas;
        if (write === "set") await backend.set(k, "8", 60);
        else if (write === "replace") expect(await backend.replace(k, "8", 60)).toBe(true);
        else if (write === "delete") expect(await backend.delete(k)).toBe(true);
        else if (write === "append") expect(await backend.append(k, "0")).toBe(true);
        else if (write === "incr") expect(await backend.incr(k, 1)).toBe(8);
        else await subject.advance(2_100);
        expect(await backend.cas(k, "stale", 60, version)).toBe(false);
        const now = await backend.get(k);
        expect(now === undefined ? undefined : bytes(now)?.toString()).not.toBe("stale");
      });

    it("deleteVersion removes only the version it names", async () => {
      const k = key("delete-version");
      const lease = (await backend.addGets(k, "lease", 60))!;
      await backend.set(k, "v2", 60);
      expect(await backend.deleteVersion(k, lease)).toBe(false);
      expect(bytes(await backend.get(k))).toEqual(Buffer.from("v2"));
      const current = (await backend.gets(k))!.cas;
      expect(await backend.deleteVersion(k, current)).toBe(true);
      expect(await backend.get(k)).toBeUndefined();
      expect(await backend.deleteVersion(k, current)).toBe(false);
    });

    it("declares its capabilities: inProcess, and peekDerived / ownerOf where it has them", async () => {
      expect(typeof backend.inProcess).toBe("boolean");
      const k = key("peek");
      if (backend.peekDerived !== undefined) {
        // An in-process backend answers synchronously what get answers, and remembers what it derived.
        expect(backend.inProcess).toBe(true);
        expect(backend.peekDerived(k, () => "derived", true)).toBeUndefined();
        await backend.set(k, "stored", 60);
        let derivations = 0;
        const derive = (raw: Buffer | string) => (derivations++, bytes(raw)!.toString());
        expect(backend.peekDerived(k, derive, true)).toBe("stored");
        expect(backend.peekDerived(k, derive, true)).toBe("stored");
        expect(derivations).toBe(1);
        await backend.set(k, "rewritten", 60);
        expect(backend.peekDerived(k, derive, true)).toBe("rewritten");
        expect(() => backend.peekDerived!("bad key", derive, false)).toThrow();
      }
      if (backend.ownerOf !== undefined) {
        expect(backend.ownerOf(k)).toMatch(/^[^\s]+:\d+$/);
        expect(backend.ownerOf(k)).toBe(backend.ownerOf(k));
      }
      expect(backend.peekDerived !== undefined || backend.ownerOf !== undefined).toBe(true);
    });

    it("cas on a missing key fails and stores nothing", async () => {
      const k = key("cas-missing");
      await backend.set(k, "v", 60);
      const version = (await backend.gets(k))!.cas;
      await backend.delete(k);
      expect(await backend.cas(k, "v2", 60, version)).toBe(false);
      expect(await backend.get(k)).toBeUndefined();
    });

    it("keeps many concurrent operations apart", async () => {
      const keys = Array.from({ length: 200 }, (_, i) => key(`many-${i}`));
      await Promise.all(keys.map((k, i) => backend.set(k, `value-${i}`, 0)));
      const values = await Promise.all(keys.map((k) => backend.get(k)));
      expect(values.map((v) => bytes(v)?.toString())).toEqual(keys.map((_, i) => `value-${i}`));
    });

    it("flushes every entry", async () => {
      const { backend: own, dispose } = await subject.createPrivate();
      try {
        await own.set("flush:a", "1", 0);
        await own.set("flush:b", "2", 0);
        await own.flush();
        expect(await own.get("flush:a")).toBeUndefined();
        expect(await own.get("flush:b")).toBeUndefined();
        await own.set("flush:a", "3", 0);
        expect(bytes(await own.get("flush:a"))).toEqual(Buffer.from("3"));
      } finally {
        await dispose();
      }
    });

    it("reports stats per server", async () => {
      const stats = await backend.stats();
      expect(Object.keys(stats).sort()).toEqual(subject.statsKeys());
      for (const entry of Object.values(stats)) expect(Number(entry.curr_items)).toBeGreaterThan(0);
    });
  });
}
