/**
 * The tag stamp of an entry (tags.ts): `\u0006<g1>.<g2>:`, the generations its writer knew for the
 * tag values of a tagged function, in the order of the spec's tags, after the group-generation
 * prefix (entries.ts). No stamp reads as every generation 0, so an entry written before any
 * invalidation of its tag values costs nothing; a malformed stamp makes the entry corrupt (a miss).
 */

export const TAG_STAMP = 6;
/** Most tags a stamp may carry (a spec has few; a longer stamp is corrupt). */
const MAX_STAMP = 64;

/** The byte (or UTF-16 unit) at `i` of a stored entry, NaN past its end. */
export const at = (raw: Buffer | string, i: number): number => (typeof raw === "string" ? raw.charCodeAt(i) : raw[i] ?? NaN);

/** The generations of a tagged function's tag values an entry is written with (tags.ts). */
export type Stamp = readonly number[];

/** `\u0006<g1>.<g2>:` before `body`; nothing while every generation is 0 (what no stamp reads as). */
export function withStamp(body: string, stamp: Stamp | undefined): string {
  if (stamp === undefined) return body;
  for (const g of stamp) if (g !== 0) return `\u0006${stamp.join(".")}:${body}`;
  return body;
}

/**
 * Split the tag stamp off `raw` (which starts with `\u0006`): the generations and where the body
 * starts, or `undefined` for a malformed stamp (empty, a generation of more than 15 digits, too many).
 */
export function splitStamp(raw: Buffer | string): { stamp: Stamp; at: number } | undefined {
  const stamp: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 1; i < raw.length; i++) {
    const c = at(raw, i);
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 15) return undefined;
      value = value * 10 + c - 0x30;
    } else if ((c === 0x2e || c === 0x3a) && digits > 0) {
      stamp.push(value);
      if (stamp.length > MAX_STAMP) return undefined;
      if (c === 0x3a) return { stamp, at: i + 1 };
      value = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/**
 * What a tagged call checks an entry's stamp against: its tag values' counters (`bases`), the
 * generations this process knows for them (`known`), and whether the bases follow from the key
 * alone (`learnable`: the spec's `tagKeys`), so that a higher stamp is news about these very tag
 * values. Where a tag argument is not a key part, two calls of one key may carry different tag
 * values: a higher stamp then says nothing about this call's, and is not learnt.
 */
export interface TagCheck {
  readonly bases: readonly string[];
  readonly known: Stamp;
  readonly learnable: boolean;
}

/** Whether `stamp` was written before an invalidation this process knows of (`current`: the generations it knows). */
export function isOutdated(stamp: Stamp | undefined, current: Stamp): boolean {
  for (let i = 0; i < current.length; i++) if ((stamp?.[i] ?? 0) < current[i]) return true;
  return false;
}
