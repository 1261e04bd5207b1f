import { setTimeout as sleep } from "node:timers/promises";

const emails = new Map([["alice", "alice@example.org"], ["bob", "bob@example.org"]]);
export let lookups = 0;

/**
 * A slow lookup (a database, a remote API). One JSDoc tag caches it for five minutes; the key is
 * built from the function's id and its argument.
 * @cache ttl=5m
 */
export async function getEmail(username: string): Promise<string | undefined> {
  lookups++;
  await sleep(300);
  return emails.get(username);
}

export class Profiles {
  constructor(private readonly locale: string) {}

  /** The key holds `this.locale` as well as the argument. @cache ttl=1h key=this.locale,username */
  async greeting(username: string): Promise<string> {
    lookups++;
    await sleep(300);
    return this.locale === "fr" ? `Bonjour ${username}` : `Hello ${username}`;
  }
}

export function setEmail(username: string, email: string): void {
  emails.set(username, email);
}
