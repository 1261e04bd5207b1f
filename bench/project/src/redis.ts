/**
 * The Redis contenders, on the same values as the memcached ones:
 *
 * - floor: one ioredis client, `await client.get(key)`, `JSON.parse`; on a miss the computation
 *   and a `SET key value EX`. No header, no copy, no timeout, no in-flight sharing.
 * - cache-manager 7 `wrap` over Keyv 5 with the official @keyv/redis store (node-redis inside).
 */
import KeyvRedis from "@keyv/redis";
import { createCache } from "cache-manager";
import { Redis } from "ioredis";
import { Keyv } from "keyv";
import { executed, makeUser, type User } from "./values";

export class HandWrittenIoredis {
  readonly client: Redis;

  constructor(url: string, readonly prefix: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1 });
  }

  async getUser(id: number): Promise<User> {
    const key = `${this.prefix}:user:${id}`;
    const value = await this.client.get(key);
    if (value !== null) return JSON.parse(value) as User;
    executed("floor-redis");
    const result = makeUser(id);
    await this.client.set(key, JSON.stringify(result), "EX", 3600);
    return result;
  }

  close(): void {
    this.client.disconnect();
  }
}

export class CacheManagerRedisPeer {
  readonly #cache: ReturnType<typeof createCache>;
  readonly #store: KeyvRedis<unknown>;

  constructor(url: string, namespace: string) {
    this.#store = new KeyvRedis(url);
    this.#cache = createCache({ stores: [new Keyv({ store: this.#store, namespace })], ttl: 3_600_000 });
  }

  getUser(id: number): Promise<User> {
    return this.#cache.wrap(`user:${id}`, () => {
      executed("cache-manager-redis");
      return makeUser(id);
    });
  }

  close(): Promise<void> {
    return this.#store.disconnect(true);
  }
}
