// The txcaching article's email server on node:http, with both of its approaches:
//   /storage/<username>  page over a cached DB.get; POST /storage replaces the cached value and
//                        invalidates the tag user(<username>)
//   /domain/<username>   the domain of the email, over a cached DB.domainOf tagged user(<username>)
//   /page/<username>     cached page (EmailGetter.render); POST /page deletes the cached page
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { DB } from "./db.js";
import { EmailGetter, EmailSetter, Store } from "./pages.js";
import { emailNotFound, emailResponse, emailSetConfirmation, readForm, setEmailForm } from "./templates.js";

export function createEmailServer(): Server {
  const db = new DB();
  const store = new Store();
  const setter = new EmailSetter(store);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const [, section, name] = url.pathname.split("/");
    const username = decodeURIComponent(name ?? "");
    const fail = (error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    };
    if (section === "page" && req.method === "POST") return void setter.renderPost(req, res).catch(fail);
    if (section === "page" && username) return void Promise.resolve(new EmailGetter(store, username).render(req, res)).catch(fail);
    if (section === "page") return setter.renderGet(req, res);
    if (section === "storage" && req.method === "POST") {
      return void readForm(req).then(async ({ username, email }) => {
        await db.set(username, email);
        res.setHeader("content-type", "text/html; charset=utf-8");
        res.end(emailSetConfirmation(username, email));
      }).catch(fail);
    }
    if (section === "storage" && username) {
      res.setHeader("content-type", "text/html; charset=utf-8");
      return void db.get(username).then(
        (email) => res.end(emailResponse(email)),
        () => {
          res.statusCode = 404;
          res.end(emailNotFound(username));
        },
      );
    }
    if (section === "storage") {
      res.setHeader("content-type", "text/html; charset=utf-8");
      return res.end(setEmailForm("/storage"));
    }
    if (section === "domain" && username) {
      res.setHeader("content-type", "text/plain; charset=utf-8");
      return void db.domainOf(username).then((domain) => res.end(domain), () => {
        res.statusCode = 404;
        res.end("not found");
      });
    }
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><html><body><h1>tscaching email server</h1>
      <p><a href="/page">Set an email (cached pages)</a> — then open /page/&lt;username&gt;</p>
      <p><a href="/storage">Set an email (cached storage)</a> — then open /storage/&lt;username&gt;</p></body></html>`);
  });
}
