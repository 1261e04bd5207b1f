import type { IncomingMessage } from "node:http";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body: string) => `<!doctype html><html><body>${body}</body></html>`;

export const emailResponse = (email: string) => page(`<p>Email: ${escape(email)}</p>`);
export const emailNotFound = (username: string) => page(`<p>User ${escape(username)} not found</p>`);
export const emailSetConfirmation = (username: string, email: string) =>
  page(`<p>Email ${escape(email)} was set for ${escape(username)}</p>`);
export const setEmailForm = (action: string) => page(`
  <form method="POST" action="${action}">
    <label>Username <input name="username"></label>
    <label>Email <input name="email"></label>
    <button type="submit">Set email</button>
  </form>`);

/** Read an application/x-www-form-urlencoded body. */
export async function readForm(req: IncomingMessage): Promise<{ username: string; email: string }> {
  let body = "";
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  return { username: form.get("username") ?? "", email: form.get("email") ?? "" };
}
