/** Redis INFO text as the `stats()` record: every field, plus memcached's names for the common ones. */

/** memcached's stat names, so that `tscaching stats` and dashboards read either backend. */
const AS_MEMCACHED: Record<string, string> = {
  uptime: "uptime_in_seconds",
  bytes: "used_memory",
  limit_maxbytes: "maxmemory",
  get_hits: "keyspace_hits",
  get_misses: "keyspace_misses",
  evictions: "evicted_keys",
  curr_connections: "connected_clients",
  version: "redis_version",
};

/** Parse INFO's `field:value` lines; `curr_items` is the key count of database `db`. */
export function parseInfo(info: string, db: number): Record<string, string> {
  const stats: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) stats[line.slice(0, colon)] = line.slice(colon + 1);
  }
  for (const [name, field] of Object.entries(AS_MEMCACHED)) {
    if (stats[field] !== undefined) stats[name] = stats[field] as string;
  }
  // "db0:keys=12,expires=3,avg_ttl=0": absent when the database is empty.
  stats.curr_items = /(?:^|,)keys=(\d+)/.exec(stats[`db${db}`] ?? "")?.[1] ?? "0";
  return stats;
}
