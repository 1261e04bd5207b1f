/**
 * Where a Redis backend connects: `redis://`, `rediss://` (TLS) and `redis+cluster://` server
 * URLs, with an optional user, password and database, parsed into one {@link RedisTarget}.
 * Several URLs, or a `+cluster` scheme, name the seed nodes of a Redis Cluster.
 */

/** Host and port of one Redis node. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** What a Redis backend connects to. */
export interface RedisTarget {
  /** The server, or the cluster's seed nodes (the client discovers the others). */
  readonly nodes: readonly RedisNode[];
  /** Redis Cluster, through the client's own cluster support. */
  readonly cluster: boolean;
  /** TLS (`rediss://`). */
  readonly tls: boolean;
  /** ACL user (Redis 6+), from the URL. */
  readonly username?: string;
  /** Password (AUTH), from the URL. */
  readonly password?: string;
  /** Database number (`/2`); always 0 for a cluster. */
  readonly db: number;
}

/** The default Redis port. */
export const REDIS_PORT = 6379;

const SCHEME = /^(rediss?)(\+cluster)?:\/\//i;

/** Whether a server entry is a Redis URL (`redis://`, `rediss://`, `redis+cluster://`, `rediss+cluster://`). */
export function isRedisUrl(entry: unknown): entry is string {
  return typeof entry === "string" && SCHEME.test(entry.trim());
}

/**
 * Parse Redis server entries: URLs, or (with `store: "redis"`) plain `host:port` nodes. Throws a
 * message (the caller names the option) on anything else; a password is never echoed back.
 */
export function parseRedisTarget(entries: ReadonlyArray<string | RedisNode>, plain: (entry: string | RedisNode) => RedisNode): RedisTarget {
  if (entries.length === 0) throw new Error("at least one Redis server");
  let cluster = entries.length > 1;
  let tls: boolean | undefined;
  let username: string | undefined;
  let password: string | undefined;
  let db = 0;
  const nodes = entries.map((entry) => {
    if (!isRedisUrl(entry)) return plain(entry);
    const scheme = SCHEME.exec(entry.trim()) as RegExpExecArray;
    const secure = (scheme[1] as string).toLowerCase() === "rediss";
    if (tls !== undefined && tls !== secure) throw new Error("Redis URLs that are all redis:// or all rediss://");
    tls = secure;
    if (scheme[2] !== undefined) cluster = true;
    let url: URL;
    try {
      // WHATWG URL parsing needs a scheme it treats generically; the rest is read as given.
      url = new URL(`redis://${entry.trim().slice(scheme[0].length)}`);
    } catch {
      throw new Error(`Redis URLs like "redis://user:password@host:6379/0" (one was not a URL)`);
    }
    if (url.search !== "" || url.hash !== "") throw new Error("Redis URLs without ?query or #fragment");
    if (url.hostname === "") throw new Error("Redis URLs with a host");
    if (url.username !== "") username = decodeURIComponent(url.username);
    if (url.password !== "") password = decodeURIComponent(url.password);
    const path = url.pathname.replace(/^\//, "");
    if (path !== "") {
      if (!/^\d{1,5}$/.test(path)) throw new Error(`Redis URLs whose path is a database number (got "/${path}")`);
      db = Number(path);
    }
    const port = url.port === "" ? REDIS_PORT : Number(url.port);
    // URL keeps IPv6 hosts in brackets; the socket wants them bare.
    return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
  });
  if (cluster && db !== 0) throw new Error("database 0 with Redis Cluster (a cluster has only one)");
  if (new Set(nodes.map((n) => `${n.host}:${n.port}`)).size !== nodes.length) throw new Error("distinct Redis servers");
  return { nodes, cluster, tls: tls ?? false, username, password, db };
}

/** "host:port" of a node, as stats and errors name it (the memcached backend's form). */
export function nodeAddress(node: RedisNode): string {
  return `${node.host}:${node.port}`;
}
