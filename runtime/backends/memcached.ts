import type { Socket } from "node:net";
import { Client, Server, Utils, type Response } from "memjs";
import type { Backend } from "./backend";
import {
  assertValidDelta, assertValidKey, assertValidTtl, backendError, byteLength, fnv1a32, pickServer, pickServerAmong, type BackendError,
} from "./hash";

/** Circuit-breaker settings of {@link MemcachedBackend}. */
export interface BreakerOptions {
  /**
   * Consecutive failures (connection errors, timeouts) that open a server's breaker. Requests that
   * were in flight together and fail together (a killed server fails all of them at once) count as
   * one failure. Default 5.
   */
  failures?: number;
  /** Milliseconds the breaker stays open before one probe is sent; doubles after a failed probe. Default 500. */
  cooldown?: number;
  /** Longest cool-down in milliseconds. Default 3000. */
  maxCooldown?: number;
}

/** A breaker changing state: `open` (the server is skipped) or `closed` (it answers again). */
export interface CircuitChange {
  /** "host:port". */
  readonly server: string;
  readonly state: "open" | "closed";
  /** Consecutive failures that opened it (`open` only). */
  readonly failures?: number;
  /** Milliseconds until the first probe (`open` only). */
  readonly retryIn?: number;
}

/** One opening of a breaker, shared by every request it refuses, so that a reporter can tell it once. */
export interface Outage {
  /** When the breaker opened (ms since the epoch). */
  readonly since: number;
  /** Set by whoever reported the outage (the runtime reports only the first refused call). */
  reported: boolean;
}

/** The error a request gets while its server's breaker is open. */
export interface CircuitError extends BackendError {
  readonly code: "ECIRCUIT";
  /** The server whose breaker is open. */
  readonly server: string;
  /** The current opening; the same object for every request it refuses. */
  readonly outage: Outage;
}

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
}

/** memjs's Server with the internals this backend manages (see {@link MemcachedBackend}). */
type RawServer = Server & { _socket?: Socket; connected: boolean; responseBuffer: Buffer };

interface Node {
  readonly address: string;
  readonly client: Client;
  readonly server: RawServer;
  /** Operations not yet settled; the socket keeps the process alive only while this is > 0. */
  inFlight: number;
  /** The socket whose close handling was last taken over. */
  adopted: Socket | undefined;
  // Circuit breaker.
  /** Consecutive failures counted (0 after any answer). */
  failures: number;
  /** Bumped at each counted failure: a request that started before the bump does not count again. */
  epoch: number;
  /** Whether the breaker is open: requests for this server reject with ECIRCUIT. */
  open: boolean;
  /** When open: the time (ms) from which the next request may start a probe. */
  retryAt: number;
  /** Current cool-down in ms (doubles after each failed probe, up to the maximum). */
  cooldown: number;
  /** A probe is in flight. */
  probing: boolean;
  /** The current opening (while open). */
  outage: Outage;
  /** The last failure counted: every request it failed carries it as `failure`. */
  lastFailure: object;
}

type Outcomes<T> = Partial<Record<number, (response: Response) => T>>;

const OP = { get: 0x00, set: 0x01, add: 0x02, replace: 0x03, delete: 0x04, incr: 0x05, decr: 0x06,
  flush: 0x08, noop: 0x0a, append: 0x0e, prepend: 0x0f, touch: 0x1c } as const;
const [OK, NOT_FOUND, EXISTS, TOO_LARGE, NOT_STORED, NON_NUMERIC] = [0x00, 0x01, 0x02, 0x03, 0x05, 0x06];
/** memcached reads a larger expiration as an absolute unix time. */
const MAX_RELATIVE_TTL = 60 * 60 * 24 * 30;
/** incr/decr expiration telling memcached not to create a missing counter. */
const NO_CREATE = 0xffffffff;
// memjs logs every non-success status (misses included) to the console; errors reach callers anyway.
const SILENT = { log: (): void => {} };

/**
 * A memcached backend over memjs: one memjs Client per server, the server picked by rendezvous
 * hashing, each request built with memjs's framing and sent through memjs's connection handling.
 *
 * Beyond memjs it guarantees that every call settles within `timeout`, that a connection memcached
 * closes fails its requests instead of leaving them pending, and that idle sockets never keep the
 * process alive. A per-server circuit breaker stops a dead server from costing each call a timeout
 * (see {@link MemcachedBackendOptions.breaker}); memjs reconnects on the next request after any
 * failure, and the breaker's probe is such a request, so a restarted server is used again within
 * one cool-down.
 */
export class MemcachedBackend implements Backend {
  /** Largest value (bytes) accepted; larger ones reject with `E2BIG` without being sent. */
  readonly maxValueSize: number;
  readonly #nodes: Node[];
  readonly #seeds: number[];
  readonly #timeout: number;
  readonly #pending = new Set<(error: Error) => void>();
  readonly #breaker: Required<BreakerOptions> | undefined;
  readonly #failover: boolean;
  readonly #onCircuit: ((change: CircuitChange) => void) | undefined;
  #closed = false;

  constructor(options: MemcachedBackendOptions) {
    if (options.servers.length === 0) throw new Error("MemcachedBackend needs at least one server");
    this.#timeout = options.timeout ?? 250;
    this.maxValueSize = options.maxValueSize ?? 1024 * 1024 - 1024;
    const serverOptions = {
      // memjs's deadline is only a backstop: ours fires first and also covers dropped callbacks.
      timeout: (this.#timeout + 100) / 1000,
      conntimeout: (options.connectTimeout ?? 1000) / 1000,
      keepAlive: options.keepAlive ?? false,
    };
    this.#nodes = options.servers.map(({ host, port }) => {
      const server = new Server(host, port, options.username, options.password, serverOptions) as RawServer;
      // memjs counts attempts in `retries`: 1 means no retry, so a call never outlives our timeout.
      const client = new Client([server], { retries: 1, failover: false, logger: SILENT });
      return { address: `${host}:${port}`, client, server, inFlight: 0, adopted: undefined,
        failures: 0, epoch: 0, open: false, retryAt: 0, cooldown: 0, probing: false, outage: { since: 0, reported: false },
        lastFailure: {} };
    });
    if (new Set(this.#nodes.map((n) => n.address)).size !== this.#nodes.length) {
      throw new Error("MemcachedBackend servers must be distinct");
    }
    this.#seeds = this.#nodes.map((n) => fnv1a32(n.address));
    const breaker = options.breaker ?? {};
    this.#breaker = breaker === false ? undefined : {
      failures: breaker.failures ?? 5,
      cooldown: breaker.cooldown ?? 500,
      maxCooldown: Math.max(breaker.maxCooldown ?? 3_000, breaker.cooldown ?? 500),
    };
    this.#failover = options.failover ?? false;
    this.#onCircuit = options.onCircuit;
  }

  /** Servers whose breaker is open right now ("host:port"). */
  get downServers(): string[] {
    return this.#nodes.filter((n) => n.open).map((n) => n.address);
  }

  /** The "host:port" of the server a request for `key` goes to now (with `failover`, not its owner while that is down). */
  serverFor(key: string): string {
    return this.#nodeFor(key).address;
  }

  /** The "host:port" of the server that owns `key` by rendezvous hashing, whatever its state. */
  ownerOf(key: string): string {
    return (this.#nodes[pickServer(key, this.#seeds)] as Node).address;
  }

  async get(key: string): Promise<Buffer | undefined> {
    // Copy: memjs hands out a slice of its receive buffer, which would pin unrelated responses.
    return this.#send("get", key, OP.get, "", "", { [OK]: (r) => Buffer.from(r.val), [NOT_FOUND]: () => undefined });
  }

  async set(key: string, value: Buffer | string, ttl: number): Promise<void> {
    await this.#send("set", key, OP.set, storeExtras(ttl), this.#checkSize(value), { [OK]: () => undefined });
  }

  async add(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    const outcomes = { [OK]: () => true, [EXISTS]: () => false };
    return this.#send("add", key, OP.add, storeExtras(ttl), this.#checkSize(value), outcomes);
  }

  async replace(key: string, value: Buffer | string, ttl: number): Promise<boolean> {
    const outcomes = { [OK]: () => true, [NOT_FOUND]: () => false };
    return this.#send("replace", key, OP.replace, storeExtras(ttl), this.#checkSize(value), outcomes);
  }

  async append(key: string, value: Buffer | string): Promise<boolean> {
    return this.#concat("append", OP.append, key, value);
  }

  async prepend(key: string, value: Buffer | string): Promise<boolean> {
    // Not memjs's prepend(): memjs 1.3.2 sends the APPEND opcode for it.
    return this.#concat("prepend", OP.prepend, key, value);
  }

  async delete(key: string): Promise<boolean> {
    return this.#send("delete", key, OP.delete, "", "", { [OK]: () => true, [NOT_FOUND]: () => false });
  }

  async incr(key: string, delta: number): Promise<number | undefined> {
    assertValidDelta(delta);
    // Built by hand: memjs's increment() writes the amount as 32 bits, misreads 64-bit results and
    // creates missing counters unless given NO_CREATE. memcached itself clamps decrements at 0;
    // counters past 2^53 come back rounded, the price of the interface's `number`.
    const extras = Buffer.alloc(20);
    extras.writeBigUInt64BE(BigInt(Math.abs(delta)), 0);
    extras.writeUInt32BE(NO_CREATE, 16);
    const outcomes = { [OK]: (r: Response) => Number(r.val.readBigUInt64BE(0)), [NOT_FOUND]: () => undefined };
    return this.#send("incr", key, delta < 0 ? OP.decr : OP.incr, extras, "", outcomes);
  }

  async touch(key: string, ttl: number): Promise<boolean> {
    const extras = Buffer.alloc(4);
    extras.writeUInt32BE(expiration(ttl), 0);
    return this.#send("touch", key, OP.touch, extras, "", { [OK]: () => true, [NOT_FOUND]: () => false });
  }

  async flush(): Promise<void> {
    const outcomes = { [OK]: () => undefined };
    await Promise.all(this.#nodes.map((node) => this.#request(node, "flush", "", OP.flush, "", "", outcomes)));
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
    for (const abort of [...this.#pending]) abort(error);
    // error() rather than memjs's close(): it destroys the socket at once instead of half-closing
    // it, and fails whatever memjs still holds.
    for (const node of this.#nodes) node.server.error(error);
  }

  #nodeFor(key: string): Node {
    const node = this.#nodes[pickServer(key, this.#seeds)] as Node;
    if (!node.open || !this.#failover) return node;
    // Failover: the owner is skipped; its keys go to the best of the servers still up.
    this.#maybeProbe(node);
    const next = pickServerAmong(key, this.#seeds, this.#nodes.map((n) => n.open));
    return next < 0 ? node : this.#nodes[next] as Node;
  }

  #checkSize(value: Buffer | string): Buffer | string {
    const size = byteLength(value);
    if (size > this.maxValueSize) {
      throw backendError(`value of ${size} bytes exceeds the ${this.maxValueSize}-byte limit`, "E2BIG");
    }
    return value;
  }

  #concat(op: string, opcode: number, key: string, value: Buffer | string): Promise<boolean> {
    // The binary protocol answers NOT_STORED both for a missing key and for a result over the item
    // size limit; either way nothing changed.
    const outcomes = { [OK]: () => true, [NOT_FOUND]: () => false, [NOT_STORED]: () => false };
    return this.#send(op, key, opcode, "", this.#checkSize(value), outcomes);
  }

  async #send<T>(op: string, key: string, opcode: number, extras: Buffer | string, value: Buffer | string,
    outcomes: Outcomes<T>): Promise<T> {
    assertValidKey(key);
    return this.#request(this.#nodeFor(key), op, key, opcode, extras, value, outcomes);
  }

  async #request<T>(node: Node, op: string, key: string, opcode: number, extras: Buffer | string,
    value: Buffer | string, outcomes: Outcomes<T>, probe = false): Promise<T> {
    const response = await this.#run<Response>(node, (done) => {
      node.client.incrSeq();
      const request = Utils.makeRequestBuffer(opcode, key, extras, value, node.client.seq);
      node.client.perform(key, request, node.client.seq, done);
    }, probe);
    const status = response.header.status;
    const interpret = outcomes[status];
    if (interpret) return interpret(response);
    const detail = response.val.toString() || `status 0x${status.toString(16)}`;
    const code = status === TOO_LARGE ? "E2BIG" : status === NON_NUMERIC ? "ENONNUMERIC" : "EMEMCACHED";
    throw backendError(`memcached ${node.address} ${op} ${key}: ${detail}`, code);
  }

  /**
   * Runs one memjs exchange on `node` under our own deadline, in-flight accounting and circuit
   * breaker. A probe runs while the breaker is open and leaves the accounting to its caller.
   */
  #run<T>(node: Node, start: (done: (err: unknown, result?: T) => void) => void, probe = false): Promise<T> {
    if (this.#closed) return Promise.reject(backendError("memcached backend closed", "ECLOSED"));
    if (node.open && !probe) return Promise.reject(this.#refuse(node));
    const epoch = node.epoch;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, result?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#pending.delete(finish);
        node.inFlight--;
        this.#manageSocket(node);
        if (!probe) {
          if (err === null) {
            if (node.failures !== 0 || node.open) this.#answered(node);
          } else if ((err as BackendError).code !== "ECLOSED") {
            err = this.#failed(node, epoch) ? Object.assign(err, { failure: node.lastFailure }) : alsoFailed(err, node.lastFailure);
          }
        }
        if (err) reject(err);
        else resolve(result as T);
      };
      const timer = setTimeout(() => {
        const err = backendError(`memcached ${node.address} did not answer within ${this.#timeout} ms`, "ETIMEDOUT");
        finish(err);
        // A connected socket that stopped answering is dropped (memjs's error() fails its other
        // callbacks and forgets it) so the next call reconnects instead of queueing behind it. A
        // connection still being made is left to connectTimeout, which may span several calls.
        if (node.server.connected && node.server._socket) node.server.error(err);
      }, this.#timeout);
      node.inFlight++;
      this.#pending.add(finish);
      // memjs writes each request on its own; one writev per tick for all of them cuts the
      // per-request syscall cost that dominates bursts of concurrent calls.
      const socket = node.server._socket;
      if (socket && node.server.connected && socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(() => socket.uncork());
      }
      try {
        start((err, result) => finish(err == null ? null : normalize(err, node.address), result));
      } catch (err) {
        finish(normalize(err, node.address));
      }
      this.#manageSocket(node);
    });
  }

  /** A request for an open breaker's server: refused at once, and maybe the time for a probe. */
  #refuse(node: Node): CircuitError {
    this.#maybeProbe(node);
    const error = backendError(`memcached ${node.address} is marked down after repeated failures (circuit open); ` +
      "request not sent", "ECIRCUIT");
    return Object.assign(error, { code: "ECIRCUIT" as const, server: node.address, outage: node.outage });
  }

  /** The server answered (any status): it is up. */
  #answered(node: Node): void {
    node.failures = 0;
    if (node.open) this.#closeBreaker(node);
  }

  /** Count a failure; false when it is part of a failure already counted. */
  #failed(node: Node, epoch: number): boolean {
    // Requests that were in flight together fail together (a killed server resets them all at
    // once): only the first of them counts, so a burst does not open the breaker by itself.
    if (epoch !== node.epoch) return false;
    node.epoch++;
    node.failures++;
    node.lastFailure = {};
    if (this.#breaker !== undefined && !node.open && node.failures >= this.#breaker.failures) {
      node.open = true;
      node.outage = { since: Date.now(), reported: false };
      node.cooldown = this.#breaker.cooldown;
      node.retryAt = Date.now() + node.cooldown;
      this.#notify({ server: node.address, state: "open", failures: node.failures, retryIn: node.cooldown });
    }
    return true;
  }

  #closeBreaker(node: Node): void {
    node.open = false;
    node.failures = 0;
    node.probing = false;
    this.#notify({ server: node.address, state: "closed" });
  }

  /** Half-open: once the cool-down passed, one NOOP goes out in the background; its answer closes the breaker. */
  #maybeProbe(node: Node): void {
    if (node.probing || this.#closed || Date.now() < node.retryAt) return;
    node.probing = true;
    this.#request(node, "noop", "", OP.noop, "", "", { [OK]: () => undefined }, true).then(
      () => {
        node.probing = false;
        if (node.open) this.#closeBreaker(node);
      },
      () => {
        node.probing = false;
        if (!node.open || this.#breaker === undefined) return;
        node.cooldown = Math.min(node.cooldown * 2, this.#breaker.maxCooldown);
        node.retryAt = Date.now() + node.cooldown;
      },
    );
  }

  #notify(change: CircuitChange): void {
    try {
      this.#onCircuit?.(change);
    } catch {
      // A listener's bug must not break the backend.
    }
  }

  /** Takes over each new memjs socket and keeps it ref'd only while requests are in flight. */
  #manageSocket(node: Node): void {
    const socket = node.server._socket;
    if (!socket) return;
    if (node.adopted !== socket) {
      node.adopted = socket;
      // memjs keeps a half-parsed response across reconnects; a fresh socket must start clean.
      node.server.responseBuffer = Buffer.alloc(0);
      // memjs's 'close' handler forgets the socket without failing its pending callbacks (they
      // would hang), and, firing after a reconnect, forgets the new socket instead. Replace it.
      for (const listener of socket.listeners("close")) socket.removeListener("close", listener as () => void);
      socket.on("close", () => {
        if (node.server._socket !== socket) return; // already dropped by memjs, callbacks failed
        node.server.error(backendError(`memcached ${node.address} closed the connection`, "ECONNRESET"));
      });
    }
    if (node.inFlight > 0) socket.ref();
    else socket.unref();
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

/** Gives memjs's bare errors (one of them a plain string) a `code` and the server's address. */
function normalize(err: unknown, address: string): Error {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === "string") return err;
  const message = err instanceof Error ? err.message : String(err);
  return backendError(`memcached ${address}: ${message}`, /timed out/i.test(message) ? "ETIMEDOUT" : "EMEMCACHED");
}

/** memcached's expiration field for a ttl in seconds (0: never). */
function expiration(ttl: number): number {
  assertValidTtl(ttl);
  const seconds = Math.ceil(ttl);
  if (seconds <= MAX_RELATIVE_TTL) return seconds;
  const absolute = Math.floor(Date.now() / 1000) + seconds;
  if (absolute >= NO_CREATE) throw backendError(`ttl ${ttl} s reaches past 2106`, "EINVAL");
  return absolute;
}

/** Flags (always 0) and expiration, the extras of set/add/replace. */
function storeExtras(ttl: number): Buffer {
  const extras = Buffer.alloc(8);
  extras.writeUInt32BE(expiration(ttl), 4);
  return extras;
}
