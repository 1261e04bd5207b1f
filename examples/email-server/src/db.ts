// The article's first approach: cache the storage itself (txcaching's
// @cache.cache(class_name="DB", exclude_self=True) on DB.get).
import { cache } from "tscaching";
import { heavyRequest } from "./delay.js";
import { keys } from "./keys.js";

export class DB {
  private readonly data = new Map<string, string>();

  /**
   * Very heavy request. `key=username` leaves `this` out of the key, like exclude_self=True.
   * @cache key=username ttl=1h
   */
  async get(username: string): Promise<string> {
    console.log("Reading from DB");
    await heavyRequest();
    const email = this.data.get(username);
    if (email === undefined) throw new Error("User not found");
    return email;
  }

  async set(username: string, email: string): Promise<void> {
    this.data.set(username, email);
    // Only where the value has been cached, as txcaching's `if cache_key: cache.replace(...)`.
    await cache.replace(keys.DB.get(username), email);
  }
}
