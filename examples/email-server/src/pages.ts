// The article's second approach: cache the page (txcaching's cache_async_render_GET on
// EmailGetter.render_GET), and drop it when the email changes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { cache } from "tscaching";
import { heavyRequest } from "./delay.js";
import { keys } from "./keys.js";
import { emailNotFound, emailResponse, emailSetConfirmation, readForm, setEmailForm } from "./templates.js";

/** A plain, uncached store: the page above it is what gets cached. */
export class Store {
  private readonly data = new Map<string, string>();

  async get(username: string): Promise<string> {
    console.log("Reading from store");
    await heavyRequest();
    const email = this.data.get(username);
    if (email === undefined) throw new Error("User not found");
    return email;
  }

  set(username: string, email: string): void {
    this.data.set(username, email);
  }
}

export class EmailGetter {
  constructor(private readonly store: Store, private readonly username: string) {}

  /**
   * Writes the page later, once the store answers: the response is captured and cached per user.
   * The result depends on this.username, so it is in the key.
   * @cache key=this.username ttl=1h
   */
  render(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("content-type", "text/html; charset=utf-8");
    this.store.get(this.username).then(
      (email) => res.end(emailResponse(email)),
      () => {
        res.statusCode = 404;
        res.end(emailNotFound(this.username));
      },
    );
  }
}

export class EmailSetter {
  constructor(private readonly store: Store) {}

  renderGet(_req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(setEmailForm("/page"));
  }

  async renderPost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { username, email } = await readForm(req);
    await cache.delete(keys.EmailGetter.render(username));
    this.store.set(username, email);
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(emailSetConfirmation(username, email));
  }
}
