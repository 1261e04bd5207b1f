/**
 * The values every contender caches. They are built deterministically from their arguments so
 * that all contenders store and return byte-for-byte the same data.
 */

export interface User {
  id: number;
  name: string;
  email: string;
  roles: string[];
  active: boolean;
  score: number;
}

export interface Payload {
  id: number;
  items: User[];
}

/** A ~100-byte JSON record, the typical cached row. */
export function makeUser(id: number): User {
  return { id, name: `user-${id}`, email: `user-${id}@example.org`, roles: ["reader"], active: true, score: 0.5 };
}

/** A payload whose JSON text is at least `bytes` long: a list of records, as a cached query result is. */
export function makePayload(bytes: number, id: number): Payload {
  const payload: Payload = { id, items: [] };
  let size = JSON.stringify(payload).length;
  for (let i = 0; size < bytes; i++) {
    const item = makeUser(id * 100_000 + i);
    payload.items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return payload;
}

/** How often each contender's original function ran (misses), by contender. */
export const executions: Record<string, number> = Object.create(null);

export function executed(who: string): void {
  executions[who] = (executions[who] ?? 0) + 1;
}
