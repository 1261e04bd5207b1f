/**
 * The Lua scripts of the Redis backend. Each entry is a hash `{ v: value, c: version }`; every
 * write sets a new version chosen by the client (see redis.ts), so a compare-and-set is a string
 * comparison inside one script, atomic on the server. Reads need no script: `HGET key v` (a hit
 * is one round trip) and `HMGET key v c`.
 *
 * Common arguments: KEYS[1] the key; ttl in milliseconds ("0": no expiry, as memcached's 0).
 * Every script touches only its one key, so each runs unchanged on Redis Cluster.
 */

// Store value ARGV[1], version ARGV[3], ttl ARGV[2] (ms). HSET keeps an old ttl: PERSIST drops it.
const STORE = `
local function store(key, value, ttl, version)
  redis.call('HSET', key, 'v', value, 'c', version)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
`;

/** A script's source and how many keys it takes, as ioredis's `defineCommand` wants them. */
export interface Script {
  readonly numberOfKeys: 1;
  readonly lua: string;
}

const script = (body: string): Script => ({ numberOfKeys: 1, lua: STORE + body });

/** The scripts, by the command name ioredis gives them. */
export const SCRIPTS = {
  /** set: always stores, over anything (a key of another type that someone else wrote included). Returns 1. */
  tcSet: script(`
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then redis.call('DEL', KEYS[1]) end
store(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]) return 1`),
  /** add: stores only where no entry exists. Returns 1 stored, 0 not. */
  tcAdd: script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
store(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]) return 1`),
  /** replace: stores only where an entry exists. */
  tcReplace: script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
store(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]) return 1`),
  /** cas: stores only while the entry's version is ARGV[4]. */
  tcCas: script(`
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[4] then return 0 end
store(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]) return 1`),
  /** deleteVersion: removes the entry only while its version is ARGV[1]. */
  tcDeleteVersion: script(`
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1]) return 1`),
  /**
   * append (ARGV[4] "0") or prepend ("1") ARGV[1], new version ARGV[2], keeping the ttl; 0 when
   * there is no entry or the result would be over ARGV[3] bytes (memcached's NOT_STORED).
   */
  tcConcat: script(`
local current = redis.call('HGET', KEYS[1], 'v')
if not current then return 0 end
if #current + #ARGV[1] > tonumber(ARGV[3]) then return 0 end
local combined
if ARGV[4] == '1' then combined = ARGV[1] .. current else combined = current .. ARGV[1] end
redis.call('HSET', KEYS[1], 'v', combined, 'c', ARGV[2]) return 1`),
  /** touch: a new ttl for an existing entry, same value and version (memcached keeps the CAS). */
  tcTouch: script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1`),
  /**
   * incr/decr as memcached does it, on the decimal text: ARGV[1] the delta's digits, ARGV[2] "1"
   * to add or "0" to subtract, ARGV[3] the new version. Unsigned 64-bit, wrapping on increment and
   * clamped at 0 on decrement; a shorter result is space-padded to the old length (memcached
   * rewrites in place). Lua numbers are doubles, so the arithmetic is done digit by digit.
   * Returns the new value's digits, false for a missing entry, an ENONNUMERIC error otherwise.
   */
  tcIncr: script(`
local current = redis.call('HGET', KEYS[1], 'v')
if not current then return false end
local digits, after = string.match(current, '^%s*(%d+)(.*)$')
if digits == nil or (after ~= '' and not string.match(after, '^%s')) then
  return redis.error_reply('ENONNUMERIC cannot increment or decrement a non-numeric value')
end
digits = string.gsub(digits, '^0+', '')
if digits == '' then digits = '0' end
local MAX = '18446744073709551615'
local function less(a, b) if #a ~= #b then return #a < #b end return a < b end
if less(MAX, digits) then
  return redis.error_reply('ENONNUMERIC cannot increment or decrement a value over 64 bits')
end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local s = carry + (i > 0 and tonumber(string.sub(a, i, i)) or 0) + (j > 0 and tonumber(string.sub(b, j, j)) or 0)
    table.insert(out, 1, tostring(s % 10)) carry = math.floor(s / 10) i = i - 1 j = j - 1
  end
  return table.concat(out)
end
local function sub(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local s = tonumber(string.sub(a, i, i)) - borrow - (j > 0 and tonumber(string.sub(b, j, j)) or 0)
    if s < 0 then s = s + 10 borrow = 1 else borrow = 0 end
    table.insert(out, 1, tostring(s)) i = i - 1 j = j - 1
  end
  local r = string.gsub(table.concat(out), '^0+', '')
  if r == '' then return '0' end
  return r
end
local result
if ARGV[2] == '1' then
  result = add(digits, ARGV[1])
  if less(MAX, result) then result = sub(result, '18446744073709551616') end
elseif less(ARGV[1], digits) then
  result = sub(digits, ARGV[1])
else
  result = '0'
end
local stored = result
if #stored < #current then stored = stored .. string.rep(' ', #current - #stored) end
redis.call('HSET', KEYS[1], 'v', stored, 'c', ARGV[3])
return result`),
} as const satisfies Record<string, Script>;

/** The command names of {@link SCRIPTS}. */
export type ScriptName = keyof typeof SCRIPTS;
