/**
 * The Redis backend's failures as coded errors: an error reply (the server answered) apart from a
 * failed exchange (refused, reset, timed out), which the circuit breaker counts.
 */
import { backendError, type BackendError } from "./hash";

/** A value over the size limit. */
export const tooBig = (size: number, limit: number): BackendError =>
  backendError(`value of ${size} bytes exceeds the ${limit}-byte limit`, "E2BIG");

/** A failure with a code, and whether the server answered (an error reply) rather than failed to. */
export function classify(failure: unknown, address: string, connection: Error | undefined): BackendError & { answered?: boolean } {
  if (failure instanceof Error && (failure as BackendError).code === "ECLOSED") return failure as BackendError;
  let message = failure instanceof Error ? failure.message : String(failure);
  if (/^Connection is closed/.test(message) && connection !== undefined) {
    // Name the cause (refused, reset, unreachable) rather than its consequence.
    failure = connection;
    message = `${connection.message} (connection closed)`;
  }
  if (failure instanceof Error && failure.name === "ReplyError") {
    const code = /^ENONNUMERIC\b/.test(message) ? "ENONNUMERIC" : "EREDIS";
    return Object.assign(backendError(`redis ${address}: ${message.replace(/^ENONNUMERIC /, "")}`, code), { answered: true });
  }
  const given = (failure as { code?: unknown } | undefined)?.code;
  const code = /timed? ?out/i.test(message) ? "ETIMEDOUT"
    : /Connection is closed|ECONNRESET|max retries/i.test(message) ? "ECONNRESET"
      : typeof given === "string" && /^E[A-Z]+$/.test(given) ? given : "EREDIS";
  return Object.assign(new Error(`redis ${address}: ${message}`, { cause: failure }), { code });
}

/** A failure that is the same event as one already counted (see the memcached backend's). */
export function alsoFailed(err: Error, failure: object): BackendError {
  return Object.assign(new Error(err.message, { cause: err }), { code: (err as BackendError).code, failure });
}
