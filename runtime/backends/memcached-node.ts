/**
 * One memcached server: its memjs client and connection, the requests in flight on it, and its
 * breaker. The connection is kept ref'd (holding the process open) only while requests are in
 * flight, and memjs's close handling is replaced so that a closed connection fails its requests.
 */
import type { Socket } from "node:net";
import { Client, Server } from "memjs";
import type { Breaker } from "./memcached-breaker";
import { backendError } from "./hash";

/** memjs's Server with the internals this backend manages. */
export type RawServer = Server & { _socket?: Socket; connected: boolean; responseBuffer: Buffer };

export interface Node {
  readonly address: string;
  readonly client: Client;
  readonly server: RawServer;
  readonly breaker: Breaker;
  /** Operations not yet settled; the socket keeps the process alive only while this is > 0. */
  inFlight: number;
  /** The socket whose close handling was last taken over. */
  adopted: Socket | undefined;
  /** Whether `adopted` is ref'd (it keeps the process alive); changed only when it has to be. */
  refd: boolean;
}

/** Connection settings of every node. */
export interface NodeSettings {
  readonly connectTimeout: number;
  readonly keepAlive: boolean;
  readonly username?: string;
  readonly password?: string;
}

// memjs logs every non-success status (misses included) to the console; errors reach callers anyway.
const SILENT = { log: (): void => {} };

/** A node for `host:port`; `breakerOf` makes its breaker. */
export function createNode(host: string, port: number, settings: NodeSettings, breakerOf: (address: string) => Breaker): Node {
  const server = new Server(host, port, settings.username, settings.password, {
    // No memjs request deadline: the backend's own (memcached-deadlines.ts) covers every request,
    // dropped callbacks included, and judges it only after the sockets were read. memjs's fires
    // from a socket idle timer, before a busy process reads the answer that arrived meanwhile.
    timeout: 0,
    conntimeout: settings.connectTimeout / 1000,
    keepAlive: settings.keepAlive,
  }) as RawServer;
  // memjs counts attempts in `retries`: 1 means no retry, so a call never outlives our timeout.
  const client = new Client([server], { retries: 1, failover: false, logger: SILENT });
  const address = `${host}:${port}`;
  return { address, client, server, breaker: breakerOf(address), inFlight: 0, adopted: undefined, refd: false };
}

/** Takes over each new memjs socket and keeps it ref'd only while requests are in flight. */
export function manageSocket(node: Node): void {
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

const uncork = (socket: Socket): void => {
  socket.uncork();
};

/**
 * memjs writes each request on its own. While other requests are in flight on this socket, one
 * writev per tick for all of them cuts the per-request syscall cost that dominates bursts; a lone
 * request is written at once (corking it would only delay it).
 */
export function corkBurst(node: Node): void {
  const socket = node.server._socket;
  if (node.inFlight > 0 && socket && node.server.connected && socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
}
