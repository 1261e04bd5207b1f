import { afterAll, beforeAll } from "vitest";
import { close } from "../../runtime/state";
import { startMemcached, type MemcachedHandle } from "./memcached";

/**
 * Private memcached processes for the enclosing suite: started before its tests, stopped by PID
 * after them (the runtime's connections are closed first). The returned array is filled in place.
 */
export function useMemcachedServers(count: number): MemcachedHandle[] {
  const handles: MemcachedHandle[] = [];
  beforeAll(async () => {
    handles.push(...(await Promise.all(Array.from({ length: count }, () => startMemcached()))));
  });
  afterAll(async () => {
    await close();
    await Promise.all(handles.map((h) => h.stop()));
  });
  return handles;
}
