/**
 * Error caching (`errors=`): a rejection is stored as its name and message only, and a cached
 * rejection rejects with a reconstruction of it, never the original object.
 */
import type { CasToken } from "./backends/backend";
import { encodeRejection, type Stamp } from "./entries";
import type { CachedFunction } from "./registry";
import { storeOver } from "./store";

const MAX_REJECTION_MESSAGE = 4096;

/**
 * The error a cached rejection rejects with: a reconstruction carrying the original's `name` and
 * `message` (no stack from the original, no other properties, not an instance of its class).
 */
export function rejectionOf(entry: { name: string; message: string }): Error {
  const error = new Error(entry.message);
  if (entry.name !== "Error") error.name = entry.name;
  Object.defineProperty(error, "cached", { value: true, enumerable: false });
  return error;
}

/** Store a rejection of `spec` for `errors=` seconds, over the version `cas` (writes win here too). */
export async function storeRejection(spec: CachedFunction, key: string, error: unknown, generation: number,
                                     cas: CasToken | undefined, stamp?: Stamp): Promise<void> {
  const isError = error instanceof Error;
  const name = isError && typeof error.name === "string" ? error.name : "Error";
  let message: string;
  try {
    message = isError ? String(error.message) : String(error);
  } catch {
    message = "(unprintable rejection)";
  }
  if (message.length > MAX_REJECTION_MESSAGE) message = `${message.slice(0, MAX_REJECTION_MESSAGE)}…`;
  await storeOver(spec, key, encodeRejection(name.slice(0, 200), message, generation, stamp), spec.errorsTtl, cas);
}
