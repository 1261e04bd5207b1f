/**
 * The Redis (and Valkey) backend: the `Backend` operations over ioredis, with the memcached
 * backend's guarantees — every call settles within `timeout`, a circuit breaker per connection,
 * idle sockets never keep the process alive — and its CAS semantics, built from Lua scripts over
 * entries stored as hashes `{ v: value, c: version }` (redis-scripts.ts).
 */
import { randomBytes } from "node:crypto";
import type { Backend, CasToken, Versioned } from "./backend";
import { systemClock, type Clock } from "../clock";
import { assertValidDelta, assertValidKey, assertValidTtl, backendError, byteLength } from "./hash";
import { Breaker, breakerSettings, type BreakerOptions, type CircuitChange } from "./memcached-breaker";
import { Deadlines, type Pending } from "./memcached-deadlines";
import { createClient, holdProcess, lastError, usable, type ClientSettings, type ScriptedClient } from "./redis-client";
import { RedisBus } from "./redis-bus";
import { alsoFailed, classify, tooBig } from "./redis-errors";
import { parseInfo } from "./redis-info";
import { nodeAddress, type RedisTarget } from "./redis-url";

export type { RedisTarget } from "./redis-url";

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions {
  /** The server, or a cluster's seed nodes (see redis-url.ts for the URL forms). */
  target: RedisTarget;
  /** Most milliseconds one operation may take before it rejects with `ETIMEDOUT`. Default 250. */
  timeout?: number;
  /** Most milliseconds spent establishing a connection. Default 1000. */
  connectTimeout?: number;
  /** ACL user / password where the URL gives none. */
  username?: string;
  password?: string;
  /** Largest value accepted, in bytes. Default 1 MiB − 1 KiB, as memcached's. */
  maxValueSize?: number;
  /** TCP keep-alive on the connections. Default false. */
  keepAlive?: boolean;
  /** The circuit breaker (see the memcached backend's); one per server, one for a whole cluster. `false` turns it off. */
  breaker?: BreakerOptions | false;
  /** Told about every breaker opening and closing. Must not throw. */
  onCircuit?: (change: CircuitChange) => void;
  /** Time for deadlines and the breaker's cool-downs. Default: the real clock. */
  clock?: Clock;
}

/** The one connection (a server, or a cluster through ioredis's Cluster) and its state. */
interface Node {
  readonly address: string;
  client: ScriptedClient;
  readonly breaker: Breaker;
  inFlight: number;
}

const MASK64 = (1n << 64n) - 1n;

/**
 * A Redis backend. Versions (the CAS tokens) are chosen by the client: a random 64-bit start per
 * backend, counting up, so that two processes practically never pick the same one and a version
 * is never reused after its entry is deleted (Redis has no CAS values of its own).
 */
export class RedisBackend implements Backend {
  readonly maxValueSize: number;
  readonly inProcess = false;
  /** Pub/sub for the local tier (runtime/bus.ts): PUBLISH on this connection, a dedicated subscriber. */
  readonly bus: RedisBus;
  readonly #node: Node;
  readonly #timeout: number;
  readonly #deadlines: Deadlines<Node>;
  readonly #settings: ClientSettings;
  readonly #target: RedisTarget;
  #version: bigint = randomBytes(8).readBigUInt64BE();
  #closed = false;

  constructor(options: RedisBackendOptions) {
    if (options.target.nodes.length === 0) throw new Error("RedisBackend needs at least one server");
    this.#target = options.target;
    this.#timeout = options.timeout ?? 250;
    this.maxValueSize = options.maxValueSize ?? 1024 * 1024 - 1024;
    const clock = options.clock ?? systemClock;
    this.#settings = { connectTimeout: options.connectTimeout ?? 1000, keepAlive: options.keepAlive ?? false,
      username: options.username, password: options.password };
    const notify = (change: CircuitChange): void => {
      try {
        options.onCircuit?.(change);
      } catch {
        // A listener's bug must not break the backend.
      }
    };
    const address = options.target.nodes.map(nodeAddress).join(",");
    const breaker = new Breaker(address, breakerSettings(options.breaker), clock, notify,
      () => this.#probe(), "redis");
    this.#node = { address, client: createClient(options.target, this.#settings), breaker, inFlight: 0 };
    this.#deadlines = new Deadlines<Node>(this.#timeout, clock, (pending) => this.#expired(pending));
    this.bus = new RedisBus(options.target, this.#settings, (channel, message) => this.#run(this.#node, (c) => c.publish(channel, message)));
  }

  /** Servers whose breaker is open right now. */
  get downServers(): string[] {
    return this.#node.breaker.open ? [this.#node.address] : [];
  }

  /**
   * The one store every key goes to: the server ("host:port"), or the cluster (its seeds), which
   * spreads keys by hash slot itself. So tscaching keeps one copy of a group's counter here (a
   * cluster's replicas, not a second key, keep it through a master's loss).
   */
  ownerOf(key: string): string {
    void key;
    return this.#node.address;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#keyed(key, (c) => c.hgetBuffer(key, "v"), (v) => v ?? undefined);
  }

  gets(key: string): Promise<Versioned | undefined> {
    return this.#keyed(key, (c) => c.hmgetBuffer(key, "v", "c"), ([value, cas]) =>
      value == null ? undefined : { value, cas: cas == null ? 0n : BigInt(cas.toString("latin1")) });
  }

  addGets(key: string, value: Buffer | string, ttl: number): Promise<CasToken | undefined> {
    const version = this.#nextVersion();
    return this.#write(key, value, ttl, (c, ms) => c.tcAdd(key, value, ms, version.toString()), (r) => r === 1 ? version : undefined);
  }

  cas(key: string, value: Buffer | string, ttl: number, cas: CasToken): Promise<boolean> {
    if (typeof cas !== "bigint" || cas <= 0n) return Promise.resolve(false); // not a version this backend gave
    return this.#write(key, value, ttl, (c, ms) => c.tcCas(key, value, ms, this.#nextVersion().toString(), cas.toString()), (r) => r === 1);
  }

  deleteVersion(key: string, cas: CasToken): Promise<boolean> {
    if (typeof cas !== "bigint" || cas <= 0n) return Promise.resolve(false);
    return this.#keyed(key, (c) => c.tcDeleteVersion(key, cas.toString()), (r) => r === 1);
  }

  set(key: string, value: Buffer | string, ttl: number): Promise<void> {
    return this.#write(key, value, ttl, (c, ms) => c.tcSet(key, value, ms, this.#nextVersion().toString()), () => undefined);
  }

  add(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    return this.#write(key, value, ttl, (c, ms) => c.tcAdd(key, value, ms, this.#nextVersion().toString()), (r) => r === 1);
  }

  replace(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    return this.#write(key, value, ttl, (c, ms) => c.tcReplace(key, value, ms, this.#nextVersion().toString()), (r) => r === 1);
  }

  append(key: string, value: Buffer | string): Promise<boolean> {
    return this.#concat(key, value, "0");
  }

  prepend(key: string, value: Buffer | string): Promise<boolean> {
    return this.#concat(key, value, "1");
  }

  delete(key: string): Promise<boolean> {
    return this.#keyed(key, (c) => c.del(key), (r) => r === 1);
  }

  incr(key: string, delta: number): Promise<number | undefined> {
    try {
      assertValidDelta(delta);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#keyed(key, (c) => c.tcIncr(key, String(Math.abs(delta)), delta < 0 ? "0" : "1", this.#nextVersion().toString()),
      // Counters past 2^53 come back rounded, the price of the interface's `number` (as on memcached).
      (r) => r == null ? undefined : Number(r));
  }

  touch(key: string, ttl: number): Promise<boolean> {
    try {
      assertValidTtl(ttl);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#keyed(key, (c) => c.tcTouch(key, ms(ttl)), (r) => r === 1);
  }

  /** FLUSHDB: every key of the configured database (on a cluster, of every master), not only tscaching's. */
  async flush(): Promise<void> {
    await this.#run(this.#node, async (client) => {
      const servers = "nodes" in client && typeof client.nodes === "function" && this.#target.cluster ? client.nodes("master") : [client];
      await Promise.all(servers.map((server) => server.flushdb()));
    });
  }

  /**
   * INFO of every server (every master of a cluster), keyed by "host:port", with memcached's names
   * added for the common figures (curr_items, bytes, get_hits, ...); `{ error }` where it failed.
   */
  async stats(): Promise<Record<string, Record<string, string>>> {
    const first = nodeAddress(this.#target.nodes[0]!);
    try {
      return await this.#run(this.#node, async (client) => {
        if (!this.#target.cluster) return { [first]: parseInfo(await client.info(), this.#target.db) };
        await client.ping(); // connects the cluster, so that its masters are known
        const masters = (client as unknown as { nodes(role: string): Array<ScriptedClient & { options: { host: string; port: number } }> })
          .nodes("master");
        const entries = await Promise.all(masters.map(async (server) => {
          const name = `${server.options.host}:${server.options.port}`;
          return [name, await server.info().then((info) => parseInfo(info, 0), (err: Error) => ({ error: err.message }))] as const;
        }));
        return Object.fromEntries(entries);
      });
    } catch (error) {
      return { [first]: { error: (error as Error).message } };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.bus.close();
    this.#deadlines.failAll(backendError("redis backend closed", "ECLOSED"));
    this.#node.client.disconnect();
  }

  /**
   * The breaker's probe: connect (bounded by connectTimeout, not by the per-request timeout: a
   * fresh connection under load can take longer than one request may), then a PING.
   */
  async #probe(): Promise<unknown> {
    if (this.#closed) throw new Error("closed");
    const node = this.#node;
    if (!usable(node.client)) node.client = createClient(this.#target, this.#settings);
    if (node.client.status === "wait") {
      holdProcess(node.client, true);
      try {
        await node.client.connect();
      } finally {
        if (node.inFlight === 0) holdProcess(node.client, false);
      }
    }
    return this.#run(node, (c) => c.ping(), true);
  }

  #nextVersion(): bigint {
    this.#version = (this.#version + 1n) & MASK64;
    if (this.#version === 0n) this.#version = 1n; // 0 is never a version (cas() refuses it)
    return this.#version;
  }

  #concat(key: string, value: Buffer | string, before: "0" | "1"): Promise<boolean> {
    const size = byteLength(value);
    if (size > this.maxValueSize) return Promise.reject(tooBig(size, this.maxValueSize));
    return this.#keyed(key, (c) => c.tcConcat(key, value, this.#nextVersion().toString(), String(this.maxValueSize), before), (r) => r === 1);
  }

  /** A store: key, ttl and size checked before anything is sent (a rejection, never a throw). */
  #write<R, T>(key: string, value: Buffer | string, ttl: number, send: (client: ScriptedClient, ttlMs: number) => Promise<R>,
    interpret: (reply: R) => T): Promise<T> {
    try {
      assertValidTtl(ttl);
      const size = byteLength(value);
      if (size > this.maxValueSize) throw tooBig(size, this.maxValueSize);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#keyed(key, (c) => send(c, ms(ttl)), interpret);
  }

  #keyed<R, T>(key: string, send: (client: ScriptedClient) => Promise<R>, interpret: (reply: R) => T): Promise<T> {
    try {
      assertValidKey(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run(this.#node, send).then(interpret);
  }

  /**
   * Runs one exchange under our own deadline, in-flight accounting and circuit breaker. A probe
   * runs while the breaker is open and leaves the accounting to its caller.
   */
  #run<R>(node: Node, send: (client: ScriptedClient) => Promise<R>, probe = false): Promise<R> {
    if (this.#closed) return Promise.reject(backendError("redis backend closed", "ECLOSED"));
    const breaker = node.breaker;
    if (breaker.open && !probe) return Promise.reject(breaker.refuse());
    const epoch = breaker.epoch;
    if (!usable(node.client)) node.client = createClient(this.#target, this.#settings);
    const client = node.client;
    return new Promise<R>((resolve, reject) => {
      const finish = (failure: unknown, result?: R): void => {
        if (pending.settled) return;
        pending.settled = true;
        this.#deadlines.dequeue();
        if (--node.inFlight === 0) holdProcess(client, false);
        if (failure == null) {
          if (!probe && (breaker.failures !== 0 || breaker.open)) breaker.answered();
          resolve(result as R);
          return;
        }
        let err = classify(failure, node.address, lastError(client));
        if (err.answered) {
          // The server answered, with a failure of this operation (not of the server).
          if (!probe && (breaker.failures !== 0 || breaker.open)) breaker.answered();
        } else if (!probe && err.code !== "ECLOSED") {
          err = breaker.failed(epoch) ? Object.assign(err, { failure: breaker.lastFailure }) : alsoFailed(err, breaker.lastFailure);
        }
        reject(err);
      };
      const pending = this.#deadlines.entry(node, finish);
      this.#deadlines.enqueue(pending);
      if (node.inFlight++ === 0) holdProcess(client, true);
      let sent: Promise<R>;
      try {
        sent = send(client);
      } catch (err) {
        finish(err);
        return;
      }
      sent.then((result) => finish(null, result), (err: unknown) => finish(err ?? new Error("no answer")));
    });
  }

  /** A request's deadline passed: it fails, and a connection that stopped answering is dropped (the next request reconnects). */
  #expired(pending: Pending<Node>): void {
    const { node } = pending;
    pending.fail(backendError(`redis ${node.address} did not answer within ${this.#timeout} ms`, "ETIMEDOUT"));
    // A connection still being made is left to connectTimeout.
    if (node.client.status === "ready") node.client.disconnect();
  }
}

const ms = (ttl: number): number => Math.ceil(ttl * 1000);
