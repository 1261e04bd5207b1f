// The article's first approach: cache the storage itself (txcaching's
// @cache.cache(class_name="DB", exclude_self=True) on DB.get).
import { cache } from "tscaching";
import { heavyRequest } from "./delay.js";
import { keys, tags } from "./keys.js";

export class DB {
  private readonly data = new Map<string, string>();

  /**
   * Very heavy request. `key=username` leaves `this` out of the key, like exclude_self=True;
   * `tags=user(username)`: one of the entries `tags.user(username)` invalidates.
   * @cache key=username ttl=1h tags=user(username)
   */
  async get(username: string): Promise<string> {
    console.log("Reading from DB");
    await heavyRequest();
    const email = this.data.get(username);
    if (email === undefined) throw new Error("User not found");
    return email;
  }

  /**
   * The domain of a user's email: another heavy read of one user's data, tagged like `get`.
   * @cache key=username ttl=1h tags=user(username)
   */
  async domainOf(username: string): Promise<string> {
    console.log("Reading from DB");
    await heavyRequest();
    const email = this.data.get(username);
    if (email === undefined) throw new Error("User not found");
    return email.slice(email.lastIndexOf("@") + 1);
  }

  async set(username: string, email: string): Promise<void> {
    this.data.set(username, email);
    // Everything cached about this user is out of date (here `domainOf`, and whatever else is
    // tagged user(username) later): one tag invalidation, whatever the number of functions.
    await cache.invalidateTag(tags.user(username));
    // The new value is known: put it in place where it has been cached, as txcaching's
    // `if cache_key: cache.replace(...)`. It reaches the next call after the invalidation too.
    await cache.replace(keys.DB.get(username), email);
  }
}
