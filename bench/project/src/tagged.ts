/**
 * tscaching: what a user writes. tspc with the tscaching/transformer plugin rewrites these bodies
 * into `cachedCall(spec, [args], original)`; the bench runs that real output.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { executed, makePayload, makeUser, type Payload, type User } from "./values";

/** @cache ttl=1h */
export async function getUser(id: number): Promise<User> {
  executed("tscaching");
  return makeUser(id);
}

/** A cached query result of about `bytes` bytes. @cache ttl=1h */
export async function getPayload(bytes: number, id: number): Promise<Payload> {
  executed("tscaching");
  return makePayload(bytes, id);
}

/** A slow computation (a database query taking `ms`), for the stampede. @cache ttl=1h */
export async function slowReport(key: string, ms: number): Promise<User> {
  executed("tscaching");
  await sleep(ms);
  return makeUser(key.length);
}

/** The local tier (issue 16): a copy in this process, in front of memcached. @cache ttl=1h local=1h */
export async function getUserLocal(id: number): Promise<User> {
  executed("tscaching local");
  return makeUser(id);
}
