/**
 * The memcached backend's facade: the `Backend` operations over the parts — protocol framing
 * (memcached-protocol.ts), deadlines (memcached-deadlines.ts), the circuit breaker
 * (memcached-breaker.ts) and the server connections (memcached-node.ts).
 */
import type { Backend, CasToken, Versioned } from "./backend";
import { systemClock, type Clock } from "../clock";
import { assertValidKey, backendError, byteLength, fnv1a32, pickServer, pickServerAmong, type BackendError } from "./hash";
import { Breaker, breakerSettings, type BreakerOptions, type CircuitChange } from "./memcached-breaker";
import { Deadlines, type Pending } from "./memcached-deadlines";
import { corkBurst, createNode, manageSocket, type Node } from "./memcached-node";
import {
  ADDED, ADDED_GETS, CONCATENATED, COUNTED, counterExtras, FOUND, frame, GET, GETS, normalize, OP, refusal, storeExtras, STORED,
  SWAPPED, touchExtras, type Outcomes,
} from "./memcached-protocol";

export type { BreakerOptions, CircuitChange, CircuitError, Outage } from "./memcached-breaker";

/** Options of {@link MemcachedBackend}. */
export interface MemcachedBackendOptions {
  /** Servers to spread keys over (rendezvous hashing on "host:port"). */
  servers: Array<{ host: string; port: number }>;
  /** Most milliseconds one operation may take before it rejects with `ETIMEDOUT`. Default 250. */
  timeout?: number;
  /** Most milliseconds spent establishing a connection (spanning several operations). Default 1000. */
  connectTimeout?: number;
  /** SASL username (memjs falls back to MEMCACHIER_USERNAME / MEMCACHE_USERNAME). */
  username?: string;
  /** SASL password (memjs falls back to MEMCACHIER_PASSWORD / MEMCACHE_PASSWORD). */
  password?: string;
  /** Largest value accepted, in bytes. Default 1 MiB − 1 KiB: memcached's 1 MiB item includes its header. */
  maxValueSize?: number;
  /** Enable TCP keep-alive on the connections. Default false. */
  keepAlive?: boolean;
  /**
   * Per-server circuit breaker: after `failures` consecutive failures a server is skipped at once
   * (requests reject with `ECIRCUIT` without waiting) for a cool-down; then one probe (a memcached
   * NOOP, sent in the background) closes it again once the server answers. `false` turns it off.
   */
  breaker?: BreakerOptions | false;
  /**
   * While a server's breaker is open, send its keys to the next server in rendezvous order instead
   * of skipping the cache for them. Default false: such copies would be served stale after the
   * owner comes back (its entries were not updated meanwhile) and are orphaned afterwards.
   */
  failover?: boolean;
  /** Told about every breaker opening and closing. Must not throw. */
  onCircuit?: (change: CircuitChange) => void;
  /** Time for deadlines and the breaker's cool-downs. Default: the real clock. */
  clock?: Clock;
}

/**
 * A memcached backend over memjs: one memjs Client per server, the server picked by rendezvous
 * hashing, each request built with memjs's framing and sent through memjs's connection handling.
 *
 * Beyond memjs it guarantees that every call settles within `timeout`, that a connection memcached
 * closes fails its requests instead of leaving them pending, and that idle sockets never keep the
 * process alive. A per-server circuit breaker stops a dead server from costing each call a timeout
 * (see {@link MemcachedBackendOptions.breaker}); memjs reconnects on the next request after any
 * failure, and the breaker's probe is such a request, so a restarted server is used again within
 * one cool-down. It speaks CAS (`gets`, `addGets`, `cas`, `deleteVersion`), which memjs does not.
 */
export class MemcachedBackend implements Backend {
  /** Largest value (bytes) accepted; larger ones reject with `E2BIG` without being sent. */
  readonly maxValueSize: number;
  readonly inProcess = false;
  readonly #nodes: Node[];
  readonly #seeds: number[];
  readonly #timeout: number;
  readonly #deadlines: Deadlines<Node>;
  readonly #failover: boolean;
  #closed = false;

  constructor(options: MemcachedBackendOptions) {
    if (options.servers.length === 0) throw new Error("MemcachedBackend needs at least one server");
    this.#timeout = options.timeout ?? 250;
    this.maxValueSize = options.maxValueSize ?? 1024 * 1024 - 1024;
    const clock = options.clock ?? systemClock;
    const settings = { connectTimeout: options.connectTimeout ?? 1000, keepAlive: options.keepAlive ?? false,
      username: options.username, password: options.password };
    const breaker = breakerSettings(options.breaker);
    const notify = (change: CircuitChange): void => {
      try {
        options.onCircuit?.(change);
      } catch {
        // A listener's bug must not break the backend.
      }
    };
    this.#nodes = options.servers.map(({ host, port }) => {
      const node: Node = createNode(host, port, settings, (address) => new Breaker(address, breaker, clock, notify,
        () => this.#closed ? Promise.reject(new Error("closed")) : this.#request(node, "noop", "", OP.noop, "", "", STORED, true)));
      return node;
    });
    if (new Set(this.#nodes.map((n) => n.address)).size !== this.#nodes.length) {
      throw new Error("MemcachedBackend servers must be distinct");
    }
    this.#seeds = this.#nodes.map((n) => fnv1a32(n.address));
    this.#failover = options.failover ?? false;
    this.#deadlines = new Deadlines<Node>(this.#timeout, clock, (pending) => this.#expired(pending));
  }

  /** Servers whose breaker is open right now ("host:port"). */
  get downServers(): string[] {
    return this.#nodes.filter((n) => n.breaker.open).map((n) => n.address);
  }

  /** The "host:port" of the server a request for `key` goes to now (with `failover`, not its owner while that is down). */
  serverFor(key: string): string {
    return this.#nodeFor(key).address;
  }

  /** The "host:port" of the server that owns `key` by rendezvous hashing, whatever its state. */
  ownerOf(key: string): string {
    return (this.#nodes[pickServer(key, this.#seeds)] as Node).address;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#send("get", key, OP.get, "", "", GET);
  }

  gets(key: string): Promise<Versioned | undefined> {
    return this.#send("get", key, OP.get, "", "", GETS);
  }

  addGets(key: string, value: Buffer | string, ttl: number): Promise<CasToken | undefined> {
    return this.#send("add", key, OP.add, () => storeExtras(ttl), () => this.#checkSize(value), ADDED_GETS);
  }

  cas(key: string, value: Buffer | string, ttl: number, cas: CasToken): Promise<boolean> {
    if (typeof cas !== "bigint" || cas <= 0n) return Promise.resolve(false); // not a version memcached gave
    return this.#send("cas", key, OP.set, () => storeExtras(ttl), () => this.#checkSize(value), SWAPPED, cas);
  }

  deleteVersion(key: string, cas: CasToken): Promise<boolean> {
    if (typeof cas !== "bigint" || cas <= 0n) return Promise.resolve(false);
    return this.#send("delete", key, OP.delete, "", "", SWAPPED, cas);
  }

  set(key: string, value: Buffer | string, ttl: number): Promise<void> {
    return this.#send("set", key, OP.set, () => storeExtras(ttl), () => this.#checkSize(value), STORED);
  }

  add(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    return this.#send("add", key, OP.add, () => storeExtras(ttl), () => this.#checkSize(value), ADDED);
  }

  replace(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    return this.#send("replace", key, OP.replace, () => storeExtras(ttl), () => this.#checkSize(value), FOUND);
  }

  append(key: string, value: Buffer | string): Promise<boolean> {
    return this.#send("append", key, OP.append, "", () => this.#checkSize(value), CONCATENATED);
  }

  prepend(key: string, value: Buffer | string): Promise<boolean> {
    // Not memjs's prepend(): memjs 1.3.2 sends the APPEND opcode for it.
    return this.#send("prepend", key, OP.prepend, "", () => this.#checkSize(value), CONCATENATED);
  }

  delete(key: string): Promise<boolean> {
    return this.#send("delete", key, OP.delete, "", "", FOUND);
  }

  incr(key: string, delta: number): Promise<number | undefined> {
    // memcached itself clamps decrements at 0; counters past 2^53 come back rounded, the price of the interface's `number`.
    return this.#send("incr", key, delta < 0 ? OP.decr : OP.incr, () => counterExtras(delta), "", COUNTED);
  }

  touch(key: string, ttl: number): Promise<boolean> {
    return this.#send("touch", key, OP.touch, () => touchExtras(ttl), "", FOUND);
  }

  async flush(): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.#request(node, "flush", "", OP.flush, "", "", STORED)));
  }

  /** Per-server stats; a server that fails to answer gets `{ error: message }` instead. */
  async stats(): Promise<Record<string, Record<string, string>>> {
    const entries = await Promise.all(
      this.#nodes.map((node) =>
        this.#run<Record<string, string>>(node, (done) => node.client.stats((err, _server, stats) => done(err, stats ?? {})))
          .then((stats) => [node.address, stats] as const, (err: Error) => [node.address, { error: err.message }] as const),
      ),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = backendError("memcached backend closed", "ECLOSED");
    this.#deadlines.failAll(error);
    // error() rather than memjs's close(): it destroys the socket at once instead of half-closing
    // it, and fails whatever memjs still holds.
    for (const node of this.#nodes) node.server.error(error);
  }

  #nodeFor(key: string): Node {
    const node = this.#nodes[pickServer(key, this.#seeds)] as Node;
    if (!node.breaker.open || !this.#failover) return node;
    // Failover: the owner is skipped; its keys go to the best of the servers still up.
    if (!this.#closed) node.breaker.maybeProbe();
    const next = pickServerAmong(key, this.#seeds, this.#nodes.map((n) => n.breaker.open));
    return next < 0 ? node : this.#nodes[next] as Node;
  }

  #checkSize(value: Buffer | string): Buffer | string {
    const size = byteLength(value);
    if (size > this.maxValueSize) {
      throw backendError(`value of ${size} bytes exceeds the ${this.maxValueSize}-byte limit`, "E2BIG");
    }
    return value;
  }

  /**
   * One keyed operation. Never throws: a bad key, ttl, delta or value (checked by the `extras` and
   * `value` thunks before anything is sent) is a rejection, like any other failure.
   */
  #send<T>(op: string, key: string, opcode: number, extras: Buffer | string | (() => Buffer),
    value: Buffer | string | (() => Buffer | string), outcomes: Outcomes<T>, cas?: bigint): Promise<T> {
    let node: Node;
    try {
      assertValidKey(key);
      if (typeof extras === "function") extras = extras();
      if (typeof value === "function") value = value();
      node = this.#nodeFor(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#request(node, op, key, opcode, extras, value, outcomes, false, cas);
  }

  /** Sends one request; its answer is read in memjs's callback, so the whole exchange is one promise. */
  #request<T>(node: Node, op: string, key: string, opcode: number, extras: Buffer | string,
    value: Buffer | string, outcomes: Outcomes<T>, probe = false, cas?: bigint): Promise<T> {
    return this.#run<T>(node, (done) => {
      const client = node.client;
      client.incrSeq();
      client.perform(key, frame(opcode, key, extras, value, client.seq, cas), client.seq, (err, response) => {
        if (err != null || response == null) return done(err ?? new Error("no response"));
        const interpret = outcomes[response.header.status];
        if (interpret) return done(null, interpret(response));
        // The server answered, with a failure of this operation (not of the server).
        done(null, undefined, refusal(response, node.address, op, key));
      });
    }, probe);
  }

  /**
   * Runs one memjs exchange on `node` under our own deadline, in-flight accounting and circuit
   * breaker. A probe runs while the breaker is open and leaves the accounting to its caller.
   */
  #run<T>(node: Node, start: (done: (err: unknown, result?: T, refused?: Error) => void) => void, probe = false): Promise<T> {
    if (this.#closed) return Promise.reject(backendError("memcached backend closed", "ECLOSED"));
    const breaker = node.breaker;
    if (breaker.open && !probe) return Promise.reject(breaker.refuse());
    const epoch = breaker.epoch;
    return new Promise<T>((resolve, reject) => {
      // `refused`: the server answered, but with a failure of the operation (the breaker counts an answer).
      const finish = (failure: unknown, result?: T, refused?: Error): void => {
        if (pending.settled) return;
        pending.settled = true;
        let err = failure == null ? null : normalize(failure, node.address);
        this.#deadlines.dequeue();
        node.inFlight--;
        manageSocket(node);
        if (!probe) {
          if (err === null) {
            if (breaker.failures !== 0 || breaker.open) breaker.answered();
          } else if ((err as BackendError).code !== "ECLOSED") {
            err = breaker.failed(epoch) ? Object.assign(err, { failure: breaker.lastFailure }) : alsoFailed(err, breaker.lastFailure);
          }
        }
        if (err) reject(err);
        else if (refused) reject(refused);
        else resolve(result as T);
      };
      const pending = this.#deadlines.entry(node, finish);
      this.#deadlines.enqueue(pending);
      corkBurst(node);
      node.inFlight++;
      try {
        start(finish);
      } catch (err) {
        finish(err);
      }
      manageSocket(node);
    });
  }

  /** A request's deadline passed: it fails, and a connected socket that stopped answering is dropped. */
  #expired(pending: Pending<Node>): void {
    const { node } = pending;
    const err = backendError(`memcached ${node.address} did not answer within ${this.#timeout} ms`, "ETIMEDOUT");
    pending.fail(err);
    // memjs's error() fails its other callbacks and forgets the socket, so the next call reconnects
    // instead of queueing behind it. A connection still being made is left to connectTimeout,
    // which may span several calls.
    if (node.server.connected && node.server._socket) node.server.error(err);
  }
}

/**
 * A request's failure that is the same event as one already counted (they were in flight together
 * when the connection failed): same message and code, and the same `failure` token as the counted
 * one, so that a reporter can tell the event once rather than once per request.
 */
function alsoFailed(err: Error, failure: object): Error {
  return Object.assign(new Error(err.message, { cause: err }), { code: (err as BackendError).code, failure });
}
