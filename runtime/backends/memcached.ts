import type { Socket } from "node:net";
import { Client, Server, Utils, type Response } from "memjs";
import type { Backend, CasToken, Versioned } from "./backend";
import { systemClock, type Clock } from "../clock";
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
  /** Time for deadlines and the breaker's cool-downs. Default: the real clock. */
  clock?: Clock;
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
  /** Whether `adopted` is ref'd (it keeps the process alive); changed only when it has to be. */
  refd: boolean;
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

/** A request in flight, in the backend's deadline queue. */
interface Pending {
  /** When it times out (ms since the epoch). */
  readonly at: number;
  settled: boolean;
  /** Settles it with a failure (its deadline passed, or the backend closed). */
  fail: (error: Error) => void;
  /** Drops the server's connection after a timeout (a connected socket that stopped answering). */
  readonly node: Node;
}

const OP = { get: 0x00, set: 0x01, add: 0x02, replace: 0x03, delete: 0x04, incr: 0x05, decr: 0x06,
  flush: 0x08, noop: 0x0a, append: 0x0e, prepend: 0x0f, touch: 0x1c } as const;
const [OK, NOT_FOUND, EXISTS, TOO_LARGE, NOT_STORED, NON_NUMERIC] = [0x00, 0x01, 0x02, 0x03, 0x05, 0x06];
/** memcached reads a larger expiration as an absolute unix time. */
const MAX_RELATIVE_TTL = 60 * 60 * 24 * 30;
/** incr/decr expiration telling memcached not to create a missing counter. */
const NO_CREATE = 0xffffffff;
// memjs logs every non-success status (misses included) to the console; errors reach callers anyway.
const SILENT = { log: (): void => {} };

// Outcome tables: what each expected status means; any other status rejects. Built once, not per call.
// get hands out memjs's slice of its receive buffer, uncopied: memjs never writes into a buffer it
// has parsed (it concatenates into new ones), and every reader (the runtime, the CLI) decodes the
// value at once and keeps nothing of it, so the slice pins nothing for long.
const GET: Outcomes<Buffer | undefined> = { [OK]: (r) => r.val, [NOT_FOUND]: () => undefined };
// The response header carries the item's CAS value (8 bytes, big-endian) after a get or a store.
const casOf = (r: Response): bigint => (r.header.cas as unknown as Buffer).readBigUInt64BE(0);
const GETS: Outcomes<Versioned | undefined> = { [OK]: (r) => ({ value: r.val, cas: casOf(r) }), [NOT_FOUND]: () => undefined };
const ADDED_GETS: Outcomes<CasToken | undefined> = { [OK]: casOf, [EXISTS]: () => undefined };
// A store with a CAS value answers EXISTS when the item changed since, NOT_FOUND when it is gone.
const SWAPPED: Outcomes<boolean> = { [OK]: () => true, [EXISTS]: () => false, [NOT_FOUND]: () => false };
const STORED: Outcomes<void> = { [OK]: () => undefined };
const ADDED: Outcomes<boolean> = { [OK]: () => true, [EXISTS]: () => false };
const FOUND: Outcomes<boolean> = { [OK]: () => true, [NOT_FOUND]: () => false };
// The binary protocol answers NOT_STORED both for a missing key and for a result over the item
// size limit; either way nothing changed.
const CONCATENATED: Outcomes<boolean> = { [OK]: () => true, [NOT_FOUND]: () => false, [NOT_STORED]: () => false };
const COUNTED: Outcomes<number | undefined> = { [OK]: (r) => Number(r.val.readBigUInt64BE(0)), [NOT_FOUND]: () => undefined };
const uncork = (socket: Socket): void => {
  socket.uncork();
};

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
  /**
   * Requests in flight, oldest first. Every request has the same timeout, so deadlines come in
   * order: one timer, armed for the oldest unsettled request, serves them all (no timer per call).
   */
  #queue: Pending[] = [];
  #head = 0;
  /** Cancels the deadline timer, while one is armed. */
  #timer: (() => void) | undefined;
  readonly #clock: Clock;
  readonly inProcess = false;
  readonly #breaker: Required<BreakerOptions> | undefined;
  readonly #failover: boolean;
  readonly #onCircuit: ((change: CircuitChange) => void) | undefined;
  #closed = false;

  constructor(options: MemcachedBackendOptions) {
    if (options.servers.length === 0) throw new Error("MemcachedBackend needs at least one server");
    this.#timeout = options.timeout ?? 250;
    this.#clock = options.clock ?? systemClock;
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
      return { address: `${host}:${port}`, client, server, inFlight: 0, adopted: undefined, refd: false,
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
    // Built by hand: memjs's increment() writes the amount as 32 bits, misreads 64-bit results and
    // creates missing counters unless given NO_CREATE. memcached itself clamps decrements at 0;
    // counters past 2^53 come back rounded, the price of the interface's `number`.
    const extras = (): Buffer => {
      assertValidDelta(delta);
      const buffer = Buffer.alloc(20);
      buffer.writeBigUInt64BE(BigInt(Math.abs(delta)), 0);
      buffer.writeUInt32BE(NO_CREATE, 16);
      return buffer;
    };
    return this.#send("incr", key, delta < 0 ? OP.decr : OP.incr, extras, "", COUNTED);
  }

  touch(key: string, ttl: number): Promise<boolean> {
    const extras = (): Buffer => {
      const buffer = Buffer.alloc(4);
      buffer.writeUInt32BE(expiration(ttl), 0);
      return buffer;
    };
    return this.#send("touch", key, OP.touch, extras, "", FOUND);
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
    const queue = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    this.#timer?.();
    this.#timer = undefined;
    for (const pending of queue) pending.fail(error);
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
      const request = Utils.makeRequestBuffer(opcode, key, extras, value, client.seq);
      // The request header's CAS field (bytes 16-23): memjs leaves it 0, which means "any version".
      if (cas !== undefined) request.writeBigUInt64BE(cas, 16);
      client.perform(key, request, client.seq, (err, response) => {
        if (err != null || response == null) return done(err ?? new Error("no response"));
        const status = response.header.status;
        const interpret = outcomes[status];
        if (interpret) return done(null, interpret(response));
        // The server answered, with a failure of this operation (not of the server).
        const detail = response.val.toString() || `status 0x${status.toString(16)}`;
        const code = status === TOO_LARGE ? "E2BIG" : status === NON_NUMERIC ? "ENONNUMERIC" : "EMEMCACHED";
        done(null, undefined, backendError(`memcached ${node.address} ${op} ${key}: ${detail}`, code));
      });
    }, probe);
  }

  /**
   * Runs one memjs exchange on `node` under our own deadline, in-flight accounting and circuit
   * breaker. A probe runs while the breaker is open and leaves the accounting to its caller.
   */
  #run<T>(node: Node, start: (done: (err: unknown, result?: T, refused?: Error) => void) => void, probe = false): Promise<T> {
    if (this.#closed) return Promise.reject(backendError("memcached backend closed", "ECLOSED"));
    if (node.open && !probe) return Promise.reject(this.#refuse(node));
    const epoch = node.epoch;
    return new Promise<T>((resolve, reject) => {
      // `refused`: the server answered, but with a failure of the operation (the breaker counts an answer).
      const finish = (failure: unknown, result?: T, refused?: Error): void => {
        if (pending.settled) return;
        pending.settled = true;
        let err = failure == null ? null : normalize(failure, node.address);
        this.#dequeue();
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
        else if (refused) reject(refused);
        else resolve(result as T);
      };
      const pending: Pending = { at: this.#clock.now() + this.#timeout, settled: false, fail: finish, node };
      this.#enqueue(pending);
      // memjs writes each request on its own. While other requests are in flight on this socket,
      // one writev per tick for all of them cuts the per-request syscall cost that dominates bursts;
      // a lone request is written at once (corking it would only delay it).
      const burst = node.inFlight > 0;
      node.inFlight++;
      const socket = node.server._socket;
      if (burst && socket && node.server.connected && socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(uncork, socket);
      }
      try {
        start(finish);
      } catch (err) {
        finish(err);
      }
      this.#manageSocket(node);
    });
  }

  #enqueue(pending: Pending): void {
    this.#queue.push(pending);
    this.#timer ??= this.#clock.after(this.#timeout, this.#expire);
  }

  /** Drops settled requests from the head of the queue (with one request at a time, the queue stays empty). */
  #dequeue(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Pending).settled) this.#head++;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The timer: fails every request past its deadline, then re-arms for the oldest one left. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (;;) {
      this.#dequeue();
      const oldest = this.#queue[this.#head];
      if (oldest === undefined) return;
      if (oldest.at > now) {
        // Unref'd (clock timers are): a request in flight keeps the process alive through its socket.
        this.#timer = this.#clock.after(oldest.at - now, this.#expire);
        return;
      }
      const { node } = oldest;
      const err = backendError(`memcached ${node.address} did not answer within ${this.#timeout} ms`, "ETIMEDOUT");
      oldest.fail(err);
      // A connected socket that stopped answering is dropped (memjs's error() fails its other
      // callbacks and forgets it) so the next call reconnects instead of queueing behind it. A
      // connection still being made is left to connectTimeout, which may span several calls.
      if (node.server.connected && node.server._socket) node.server.error(err);
    }
  };

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
      node.outage = { since: this.#clock.now(), reported: false };
      node.cooldown = this.#breaker.cooldown;
      node.retryAt = this.#clock.now() + node.cooldown;
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
    if (node.probing || this.#closed || this.#clock.now() < node.retryAt) return;
    node.probing = true;
    this.#request(node, "noop", "", OP.noop, "", "", STORED, true).then(
      () => {
        node.probing = false;
        if (node.open) this.#closeBreaker(node);
      },
      () => {
        node.probing = false;
        if (!node.open || this.#breaker === undefined) return;
        node.cooldown = Math.min(node.cooldown * 2, this.#breaker.maxCooldown);
        node.retryAt = this.#clock.now() + node.cooldown;
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
      node.refd = true; // a new socket is ref'd
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
    const busy = node.inFlight > 0;
    if (busy === node.refd) return;
    node.refd = busy;
    if (busy) socket.ref();
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
