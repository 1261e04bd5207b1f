/**
 * The physical floors: what a careful user would hand-write with no library in between.
 *
 * - memcached: one memjs client, `await client.get(key)`, `JSON.parse` of the bytes; on a miss the
 *   computation and a `client.set`. No key canonicalisation, no header, no copy, no timeout, no
 *   in-flight sharing (so a stampede runs the body once per caller).
 * - memory: a bare lru-cache `get` inside an async function, holding the objects themselves.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LRUCache } from "lru-cache";
import { Client } from "memjs";
import { executed, makePayload, makeUser, type Payload, type User } from "./values";

const silent = { log: (): void => {} };

export class HandWrittenMemjs {
  readonly client: Client;

  constructor(servers: string, readonly prefix: string) {
    this.client = Client.create(servers, { logger: silent, retries: 1 });
  }

  async #cached<T>(key: string, compute: () => Promise<T> | T): Promise<T> {
    const { value } = await this.client.get(key);
    if (value !== null) return JSON.parse(value.toString("utf8")) as T;
    const result = await compute();
    await this.client.set(key, JSON.stringify(result), { expires: 3600 });
    return result;
  }

  getUser(id: number): Promise<User> {
    return this.#cached(`${this.prefix}:user:${id}`, () => {
      executed("floor");
      return makeUser(id);
    });
  }

  getPayload(bytes: number, id: number): Promise<Payload> {
    return this.#cached(`${this.prefix}:payload:${bytes}:${id}`, () => {
      executed("floor");
      return makePayload(bytes, id);
    });
  }

  slowReport(key: string, ms: number): Promise<User> {
    return this.#cached(`${this.prefix}:report:${key}:${ms}`, async () => {
      executed("floor");
      await sleep(ms);
      return makeUser(key.length);
    });
  }

  close(): void {
    this.client.close();
  }
}

const lru = new LRUCache<string, User>({ max: 10_000, ttl: 3_600_000 });

/** The memory floor: a bare lru-cache get wrapped in an async function. */
export async function lruGetUser(id: number): Promise<User> {
  const key = `user:${id}`;
  let user = lru.get(key);
  if (user === undefined) {
    executed("lru");
    user = makeUser(id);
    lru.set(key, user);
  }
  return user;
}

const lruText = new LRUCache<string, string>({ max: 10_000, ttl: 3_600_000 });

/**
 * lru-cache holding JSON text, parsed on every hit: like tscaching's memory backend, every caller
 * gets its own copy (a caller mutating the result cannot corrupt the cache).
 */
export async function lruJsonGetUser(id: number): Promise<User> {
  const key = `user:${id}`;
  const text = lruText.get(key);
  if (text !== undefined) return JSON.parse(text) as User;
  executed("lru+JSON");
  const user = makeUser(id);
  lruText.set(key, JSON.stringify(user));
  return user;
}
