/**
 * Class instances as key parts, on both backends: an instance whose state the key encoder cannot
 * see (#private fields, non-enumerable properties, anonymous classes, two classes of one name)
 * never shares an entry with another. The call runs uncached with one EKEY report; a class that
 * names its key (`[cacheKey]()` or `toJSON()`) is cached by it.
 */
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { cacheKey, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";

class UserId {
  #id: string;
  constructor(id: string) { this.#id = id; }
  get id(): string { return this.#id; }
}

class TenantRef {
  constructor(id: string) { Object.defineProperty(this, "id", { value: id }); }
}

const anonymous = [class { #v = "a"; read() { return this.#v; } }, class { #v = "b"; read() { return this.#v; } }];
function makeNamed(v: string) {
  return class Account { readonly kind = "account"; #v = v; read() { return this.#v; } };
}
const named = [makeNamed("a"), makeNamed("b")];

class KeyedUser {
  #id: string;
  constructor(id: string) { this.#id = id; }
  get id(): string { return this.#id; }
  [cacheKey]() { return this.#id; }
}

class JsonUser {
  #id: string;
  constructor(id: string) { this.#id = id; }
  get id(): string { return this.#id; }
  toJSON() { return { id: this.#id }; }
}

const backends = [
  ["memory", () => ""],
  ["memcached", () => inject("memcached")],
] as const;

describe.each(backends)("on the %s backend", (backendName, servers) => {
  let errors: CacheError[];
  let runs: number;
  beforeEach(() => {
    errors = [];
    runs = 0;
    configure({ servers: servers(), namespace: `classkeys${backendName}${Date.now()}`, onError: (e) => errors.push(e) });
  });
  afterAll(() => close());

  const profiles = defineCached({ v: 1, id: "test#getProfile", ttl: 60 });
  const getProfile = (user: { id: string } | object, read: () => string) =>
    cachedCall(profiles, [user], async () => (runs++, `profile of ${read()}`));

  it("getProfile(new UserId('bob')) after alice's gets bob's profile: uncached, one EKEY each", async () => {
    const alice = new UserId("alice");
    const bob = new UserId("bob");
    expect(await getProfile(alice, () => alice.id)).toBe("profile of alice");
    expect(await getProfile(bob, () => bob.id)).toBe("profile of bob");
    expect(runs).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
    expect(errors[0]!.message).toMatch(/cannot form a key at args\[0\]; ran uncached/);
  });

  it("non-enumerable state is not shared", async () => {
    const a = new TenantRef("a");
    const b = new TenantRef("b");
    expect(await getProfile(a, () => (a as unknown as { id: string }).id)).toBe("profile of a");
    expect(await getProfile(b, () => (b as unknown as { id: string }).id)).toBe("profile of b");
    expect(runs).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
  });

  it("two anonymous classes are not shared", async () => {
    const [a, b] = anonymous.map((C) => new C());
    expect(await getProfile(a!, () => a!.read())).toBe("profile of a");
    expect(await getProfile(b!, () => b!.read())).toBe("profile of b");
    expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
  });

  it("two classes of one name are not shared", async () => {
    const [a, b] = named.map((C) => new C());
    expect(await getProfile(a!, () => a!.read())).toBe("profile of a");
    expect(await getProfile(b!, () => b!.read())).toBe("profile of b");
    expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
  });

  it("a class with a [cacheKey]() method is cached by its key", async () => {
    expect(await getProfile(new KeyedUser("alice"), () => "alice")).toBe("profile of alice");
    expect(await getProfile(new KeyedUser("alice"), () => "other")).toBe("profile of alice");
    expect(await getProfile(new KeyedUser("bob"), () => "bob")).toBe("profile of bob");
    expect(runs).toBe(2);
    expect(errors).toEqual([]);
  });

  it("a class with toJSON() is cached by its JSON form", async () => {
    expect(await getProfile(new JsonUser("alice"), () => "alice")).toBe("profile of alice");
    expect(await getProfile(new JsonUser("alice"), () => "other")).toBe("profile of alice");
    expect(await getProfile(new JsonUser("bob"), () => "bob")).toBe("profile of bob");
    expect(runs).toBe(2);
    expect(errors).toEqual([]);
  });
});
