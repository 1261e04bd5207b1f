import { setTimeout as sleep } from "node:timers/promises";

/** The article's "very heavy request": 2 s, or EMAIL_DB_DELAY_MS. */
export function heavyRequest(): Promise<void> {
  return sleep(Number(process.env.EMAIL_DB_DELAY_MS ?? 2000));
}
