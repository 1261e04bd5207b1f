/**
 * What a TypeScript user would pick instead of tscaching, on the same memcached and values.
 *
 * - cache-manager 7 `wrap` over Keyv 5 with the official @keyv/memcache store (memjs inside).
 * - @type-cacheable/core 14 `@Cacheable` with its default key (md5 of the serialized arguments).
 *   type-cacheable ships adapters for redis, ioredis, node-cache and lru-cache but none for
 *   memcached, so this is the memjs `CacheClient` a user writes (JSON values, as its adapters do).
 * - typescript-memoize 1 `@Memoize`: in-process only (it keeps the returned promise), so it is a
 *   peer of the memory backend, not of memcached.
 */
import { setTimeout as sleep } from "node:timers/promises";
import KeyvMemcache from "@keyv/memcache";
import cacheManager, { Cacheable, type CacheClient } from "@type-cacheable/core";
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { Client } from "memjs";
import { Memoize } from "typescript-memoize";
import { executed, makePayload, makeUser, type Payload, type User } from "./values";

const silent = { log: (): void => {} };

export class CacheManagerPeer {
  readonly #cache: ReturnType<typeof createCache>;

  constructor(servers: string, namespace: string) {
    const store = new KeyvMemcache(servers, { logger: silent, retries: 1 });
    this.#cache = createCache({ stores: [new Keyv({ store, namespace })], ttl: 3_600_000 });
  }

  getUser(id: number): Promise<User> {
    return this.#cache.wrap(`user:${id}`, () => {
      executed("cache-manager");
      return makeUser(id);
    });
  }

  getPayload(bytes: number, id: number): Promise<Payload> {
    return this.#cache.wrap(`payload:${bytes}:${id}`, () => {
      executed("cache-manager");
      return makePayload(bytes, id);
    });
  }

  slowReport(key: string, ms: number): Promise<User> {
    return this.#cache.wrap(`report:${key}:${ms}`, async () => {
      executed("cache-manager");
      await sleep(ms);
      return makeUser(key.length);
    });
  }

  async close(): Promise<void> {
    await this.#cache.disconnect();
  }
}

/** A memcached CacheClient for type-cacheable, as its redis/node-cache adapters are written. */
export class MemjsCacheClient implements CacheClient {
  readonly client: Client;

  constructor(servers: string, private readonly prefix: string, private readonly ttl = 3600) {
    this.client = Client.create(servers, { logger: silent, retries: 1 });
  }

  async get(cacheKey: string): Promise<unknown> {
    const { value } = await this.client.get(`${this.prefix}:${cacheKey}`);
    return value === null ? undefined : JSON.parse(value.toString("utf8"));
  }

  async set(cacheKey: string, value: unknown, ttl?: number): Promise<void> {
    await this.client.set(`${this.prefix}:${cacheKey}`, JSON.stringify(value), { expires: ttl ?? this.ttl });
  }

  async del(cacheKey: string | string[]): Promise<void> {
    for (const key of Array.isArray(cacheKey) ? cacheKey : [cacheKey]) await this.client.delete(`${this.prefix}:${key}`);
  }

  async keys(): Promise<string[]> {
    return []; // memcached cannot list keys
  }

  async delHash(): Promise<void> {
    // no hashes in memcached
  }

  getClientTTL(): number {
    return this.ttl;
  }
}

export class TypeCacheablePeer {
  static connect(servers: string, prefix: string): MemjsCacheClient {
    const client = new MemjsCacheClient(servers, prefix);
    cacheManager.setClient(client);
    return client;
  }

  @Cacheable({ ttlSeconds: 3600 })
  async getUser(id: number): Promise<User> {
    executed("type-cacheable");
    return makeUser(id);
  }

  @Cacheable({ ttlSeconds: 3600 })
  async getPayload(bytes: number, id: number): Promise<Payload> {
    executed("type-cacheable");
    return makePayload(bytes, id);
  }

  @Cacheable({ ttlSeconds: 3600 })
  async slowReport(key: string, ms: number): Promise<User> {
    executed("type-cacheable");
    await sleep(ms);
    return makeUser(key.length);
  }
}

export class MemoizePeer {
  @Memoize({ expiring: 3_600_000 })
  async getUser(id: number): Promise<User> {
    executed("typescript-memoize");
    return makeUser(id);
  }
}

/**
 * BentoCache 1 with only its L1 layer (its memory driver, default options): `get`, and `set` on a
 * miss, as the lru-cache floor does. BentoCache is ESM-only: loaded with a dynamic import.
 */
export class BentoL1Peer {
  readonly #bento: { get(o: { key: string }): Promise<unknown>; set(o: { key: string; value: unknown; ttl: string }): Promise<unknown>;
    disconnectAll(): Promise<void> };

  private constructor(bento: any) {
    this.#bento = bento;
  }

  static async create(): Promise<BentoL1Peer> {
    const { BentoCache, bentostore } = await import("bentocache");
    const { memoryDriver } = await import("bentocache/drivers/memory");
    return new BentoL1Peer(new BentoCache({ default: "l1", stores: { l1: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) } }));
  }

  async getUser(id: number): Promise<User> {
    const key = `user:${id}`;
    let user = (await this.#bento.get({ key })) as User | undefined;
    if (user === undefined) {
      executed("bentocache");
      user = makeUser(id);
      await this.#bento.set({ key, value: user, ttl: "1h" });
    }
    return user;
  }

  close(): Promise<void> {
    return this.#bento.disconnectAll();
  }
}
