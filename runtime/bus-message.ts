/**
 * The messages of the bus (bus.ts): what one process tells the others after a write, in a small
 * text form, and the defensive parser for what arrives. The channel crosses a trust boundary —
 * anyone who may publish on the Redis server can send anything — so a message is bounded in size,
 * must match the grammar below exactly and must concern this process's namespace; anything else
 * is ignored. No message carries a value or a generation: what one makes a process do is drop
 * copies and re-read counters from the store (see bus.ts), so a forged one costs misses, never a
 * wrong value.
 *
 * Grammar (one space between fields; keys never hold whitespace or control characters):
 * ```
 * tscaching1 <origin> k <key>             a key was written (set/add/replace/delete/incr/decr/touch/append/prepend)
 * tscaching1 <origin> g <group>           invalidate() of a group (`namespace:idPart:`)
 * tscaching1 <origin> t <base> [<base>…]  invalidateTag() of tag values (`namespace:~tag.…:`)
 * tscaching1 <origin> f                   flushAll()
 * ```
 */
import { isValidKey } from "./backends/hash";
import { groupOf } from "./groups";

/** What a message says, once parsed. */
export type BusMessage =
  | { readonly kind: "key"; readonly origin: string; readonly key: string }
  | { readonly kind: "group"; readonly origin: string; readonly group: string }
  | { readonly kind: "tags"; readonly origin: string; readonly bases: readonly string[] }
  | { readonly kind: "flush"; readonly origin: string };

/** Largest message accepted (bytes); longer ones are ignored unread. */
export const MAX_MESSAGE_BYTES = 4096;
/** Most tag bases in one message (an invalidateTag() of more sends several). */
export const MAX_TAGS_PER_MESSAGE = 12;

const MAGIC = "tscaching1";
const ORIGIN = /^[A-Za-z0-9_-]{16,64}$/;
const CODES = { key: "k", group: "g", tags: "t", flush: "f" } as const;

/** The text of a message from `origin` (the caller keeps within the bounds above). */
export function formatMessage(origin: string, kind: BusMessage["kind"], items: readonly string[] = []): string {
  return [MAGIC, origin, CODES[kind], ...items].join(" ");
}

/**
 * Parse a message received on `namespace`'s channel (or the flush channel). `undefined` for
 * anything that is not exactly a message of the grammar about `namespace`. Never throws.
 */
export function parseMessage(raw: Buffer | string, namespace: string): BusMessage | undefined {
  if (typeof raw !== "string" && !Buffer.isBuffer(raw)) return undefined;
  if (raw.length > MAX_MESSAGE_BYTES) return undefined;
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) return undefined;
  const fields = text.split(" ");
  if (fields.length < 3 || fields.length > 3 + MAX_TAGS_PER_MESSAGE) return undefined;
  const [magic, origin, code, ...items] = fields as [string, string, string, ...string[]];
  if (magic !== MAGIC || !ORIGIN.test(origin) || !items.every(isValidKey)) return undefined;
  const prefix = `${namespace}:`;
  switch (code) {
    case "k": {
      const [key] = items;
      // A key of this namespace, in some group (`namespace:idPart:…`).
      if (items.length !== 1 || !key!.startsWith(prefix) || groupOf(key!).length <= prefix.length) return undefined;
      return { kind: "key", origin, key: key! };
    }
    case "g": {
      const [group] = items;
      if (items.length !== 1 || !group!.startsWith(prefix) || group!.length <= prefix.length || groupOf(group!) !== group) return undefined;
      return { kind: "group", origin, group: group! };
    }
    case "t": {
      const tagPrefix = `${prefix}~tag.`;
      if (items.length === 0 || !items.every((base) => base.length > tagPrefix.length && base.startsWith(tagPrefix) && base.endsWith(":"))) {
        return undefined;
      }
      return { kind: "tags", origin, bases: items };
    }
    case "f":
      return items.length === 0 ? { kind: "flush", origin } : undefined;
    default:
      return undefined;
  }
}
