import type { Socket } from "node:net";
import { Client, Server, Utils, type Response } from "memjs";
import type { Backend } from "./backend";
import { assertValidDelta, assertValidKey, assertValidTtl, backendError, byteLength, fnv1a32, pickServer } from "./hash";

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
}

type Outcomes<T> = Partial<Record<number, (response: Response) => T>>;

const OP = { get: 0x00, set: 0x01, add: 0x02, replace: 0x03, delete: 0x04, incr: 0x05, decr: 0x06,
  flush: 0x08, append: 0x0e, prepend: 0x0f, touch: 0x1c } as const;
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
 * process alive.
 */
export class MemcachedBackend implements Backend {
  /** Largest value (bytes) accepted; larger ones reject with `E2BIG` without being sent. */
  readonly maxValueSize: number;
  readonly #nodes: Node[];
  readonly #seeds: number[];
  readonly #timeout: number;
  readonly #pending = new Set<(error: Error) => void>();
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
      return { address: `${host}:${port}`, client, server, inFlight: 0, adopted: undefined };
    });
    if (new Set(this.#nodes.map((n) => n.address)).size !== this.#nodes.length) {
      throw new Error("MemcachedBackend servers must be distinct");
    }
    this.#seeds = this.#nodes.map((n) => fnv1a32(n.address));
  }

  /** The "host:port" of the server that holds `key`. */
  serverFor(key: string): string {
    return this.#nodeFor(key).address;
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
    return this.#nodes[pickServer(key, this.#seeds)] as Node;
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
    value: Buffer | string, outcomes: Outcomes<T>): Promise<T> {
    const response = await this.#run<Response>(node, (done) => {
      node.client.incrSeq();
      const request = Utils.makeRequestBuffer(opcode, key, extras, value, node.client.seq);
      node.client.perform(key, request, node.client.seq, done);
    });
    const status = response.header.status;
    const interpret = outcomes[status];
    if (interpret) return interpret(response);
    const detail = response.val.toString() || `status 0x${status.toString(16)}`;
    const code = status === TOO_LARGE ? "E2BIG" : status === NON_NUMERIC ? "ENONNUMERIC" : "EMEMCACHED";
    throw backendError(`memcached ${node.address} ${op} ${key}: ${detail}`, code);
  }

  /** Runs one memjs exchange on `node` under our own deadline and in-flight accounting. */
  #run<T>(node: Node, start: (done: (err: unknown, result?: T) => void) => void): Promise<T> {
    if (this.#closed) return Promise.reject(backendError("memcached backend closed", "ECLOSED"));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, result?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#pending.delete(finish);
        node.inFlight--;
        this.#manageSocket(node);
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
