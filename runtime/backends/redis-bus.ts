/**
 * The Redis side of the bus (runtime/bus.ts): PUBLISH goes out on the backend's command
 * connection (in order after the write it follows, under the backend's deadline and breaker), and
 * one dedicated subscriber connection per backend receives. Redis pub/sub is not scoped by
 * database, so channels carry the database number: `tscaching:bus:<db>:<topic>`. On a cluster a
 * PUBLISH reaches every node, so the subscriber is a plain connection to one of the seed nodes
 * (the next one at each reconnect).
 *
 * The subscriber never keeps the process alive: its socket is unref'd from the moment it exists,
 * and so are the timers of its reconnects. Lost (server restart, `CLIENT KILL`, a network cut), it
 * says so at once (bus.ts falls back to the `local=` bound) and reconnects with backoff, 50 ms
 * doubling to 2 s, for as long as the backend is open.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Redis, RedisOptions } from "ioredis";
import type { BusTransport } from "./backend";
import { ioredis, type ClientSettings } from "./redis-client";
import type { RedisNode, RedisTarget } from "./redis-url";

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;
const ignore = (): void => {};

let connector: RedisOptions["Connector"] | undefined;

/**
 * ioredis's own connector, except that the socket is unref'd as soon as it is made (ioredis
 * creates it only once connecting starts, past any hook of its public API), and closed at once.
 */
function unrefConnector(): NonNullable<RedisOptions["Connector"]> {
  connector ??= class UnrefConnector extends ioredis().AbstractConnector {
    readonly #options: { host: string; port: number; tls?: object };
    constructor(options: unknown) {
      super(0);
      this.#options = options as { host: string; port: number; tls?: object };
    }
    connect(): Promise<net.Socket> {
      this.connecting = true;
      return new Promise((resolve, reject) => process.nextTick(() => {
        if (!this.connecting) return reject(new Error("Connection is closed."));
        const { host, port, tls: secure } = this.#options;
        let stream: net.Socket;
        try {
          stream = secure ? tls.connect({ host, port, ...secure }) : net.createConnection({ host, port });
        } catch (error) {
          return reject(error);
        }
        stream.unref();
        stream.once("error", (error) => (this.firstError = error));
        this.stream = stream;
        resolve(stream);
      }));
    }
    disconnect(): void {
      this.connecting = false;
      // Nothing to wait for on a subscriber: no reply is pending that matters.
      this.stream?.destroy();
    }
  } as unknown as NonNullable<RedisOptions["Connector"]>;
  return connector!;
}

/** Pub/sub over a Redis backend: see the file comment. */
export class RedisBus implements BusTransport {
  readonly #target: RedisTarget;
  readonly #settings: ClientSettings;
  readonly #send: (channel: string, message: string) => Promise<unknown>;
  #listening: { channels: Map<string, string>; onMessage(topic: string, message: Buffer): void; onState(up: boolean): void;
    onFailure?(error: Error): void } | undefined;
  #client: Redis | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #up = false;
  #closed = false;

  /** `send` publishes on the backend's command connection (under its deadline and breaker). */
  constructor(target: RedisTarget, settings: ClientSettings, send: (channel: string, message: string) => Promise<unknown>) {
    this.#target = target;
    this.#settings = settings;
    this.#send = send;
  }

  /** The Redis channel of `topic`. */
  channel(topic: string): string {
    return `tscaching:bus:${this.#target.cluster ? 0 : this.#target.db}:${topic}`;
  }

  publish(topic: string, message: string): Promise<void> {
    return this.#send(this.channel(topic), message).then(ignore);
  }

  listen(topics: readonly string[], onMessage: (topic: string, message: Buffer) => void, onState: (up: boolean) => void,
    onFailure?: (error: Error) => void): void {
    if (this.#listening !== undefined || this.#closed) return;
    this.#listening = { channels: new Map(topics.map((topic) => [this.channel(topic), topic])), onMessage, onState, onFailure };
    this.#connect();
  }

  /** Whether the subscriber is subscribed right now. */
  get up(): boolean {
    return this.#up;
  }

  /** End the subscriber (and its reconnects) for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#client?.disconnect();
    this.#client = undefined;
    this.#state(false);
  }

  #connect(): void {
    this.#timer = undefined;
    const listening = this.#listening;
    if (this.#closed || listening === undefined) return;
    const nodes = this.#target.nodes;
    const node: RedisNode = nodes[this.#attempt % nodes.length]!;
    const client = new (ioredis().Redis)({
      host: node.host,
      port: node.port,
      username: this.#target.username ?? this.#settings.username,
      password: this.#target.password ?? this.#settings.password,
      tls: this.#target.tls ? {} : undefined,
      Connector: unrefConnector(),
      lazyConnect: true,
      enableOfflineQueue: true,
      // No retries inside ioredis: a lost connection ends the client, and #retry makes a new one
      // with an unref'd timer (ioredis's own reconnect timer would hold the process open).
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      reconnectOnError: null,
      autoResubscribe: false,
      enableReadyCheck: false,
      connectTimeout: this.#settings.connectTimeout,
    });
    this.#client = client;
    // The connection's own error (ECONNREFUSED, WRONGPASS, ...): queued commands fail with a bare "Connection is closed.".
    let lastError: Error | undefined;
    client.on("error", (error: Error) => (lastError = error));
    client.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      if (client !== this.#client) return;
      const topic = listening.channels.get(channel.toString("latin1"));
      if (topic === undefined) return;
      try {
        listening.onMessage(topic, message);
      } catch {
        // What a message makes this process do must never break the connection's handler.
      }
    });
    client.on("close", () => {
      if (client === this.#client) this.#state(false);
    });
    client.once("end", () => {
      if (client !== this.#client) return;
      this.#client = undefined;
      this.#retry();
    });
    client.subscribe(...listening.channels.keys()).then(() => {
      if (client !== this.#client || this.#closed) return;
      this.#attempt = 0;
      this.#state(true);
    }, (error: Error) => {
      if (client === this.#client && !this.#closed) {
        const reason = lastError ?? error;
        try {
          listening.onFailure?.(new Error(`redis ${node.host}:${node.port}: the bus subscriber could not subscribe: ${reason.message}`,
            { cause: reason }));
        } catch {
          // A listener's bug must not break the subscriber.
        }
      }
      client.disconnect();
    });
  }

  #retry(): void {
    if (this.#closed) return;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.#attempt, 10));
    this.#attempt++;
    this.#timer = setTimeout(() => this.#connect(), delay * (0.75 + Math.random() / 2));
    this.#timer.unref();
  }

  #state(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    try {
      this.#listening?.onState(up);
    } catch {
      // A listener's bug must not break the subscriber.
    }
  }
}
