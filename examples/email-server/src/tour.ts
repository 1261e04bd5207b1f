// The demo's second mode: start the server, make the requests, print what caching did.
import type { AddressInfo } from "node:net";
import { createEmailServer } from "./server.js";

async function request(base: string, path: string, form?: Record<string, string>) {
  const start = performance.now();
  const response = await fetch(base + path, form ? {
    method: "POST", body: new URLSearchParams(form), headers: { "content-type": "application/x-www-form-urlencoded" },
  } : undefined);
  const text = await response.text();
  const ms = performance.now() - start;
  const shown = text.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
  console.log(`${(form ? "POST " : "GET  ") + path}`.padEnd(26) + `${response.status}  ${ms.toFixed(0).padStart(5)} ms  ${shown}`);
  return { status: response.status, text, ms };
}

export async function tour(): Promise<void> {
  const server = createEmailServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const backend = process.env.TSCACHING_SERVERS ? `memcached at ${process.env.TSCACHING_SERVERS}` : "the in-memory backend";
  try {
    console.log(`tscaching email server tour (cache: ${backend})\n`);
    console.log("Caching the page (EmailGetter.render, like cache_async_render_GET):");
    await request(base, "/page", { username: "alice", email: "alice@example.org" });
    await request(base, "/page", { username: "bob", email: "bob@example.org" });
    const first = await request(base, "/page/alice");
    const second = await request(base, "/page/alice");
    console.log(`  second GET ${second.text === first.text ? "identical" : "DIFFERENT"}, ${(first.ms / Math.max(second.ms, 0.1)).toFixed(0)}x faster`);
    await request(base, "/page/bob");
    await request(base, "/page", { username: "alice", email: "alice@new.example" });
    await request(base, "/page/alice");
    await request(base, "/page/bob");

    console.log("\nCaching the storage (DB.get, like @cache.cache on DB.get):");
    await request(base, "/storage", { username: "carol", email: "carol@example.org" });
    await request(base, "/storage/carol");
    await request(base, "/storage/carol");
    await request(base, "/domain/carol");
    await request(base, "/domain/carol");
    console.log("  the POST invalidates tags.user(\"carol\") (domainOf) and replaces DB.get's value:");
    await request(base, "/storage", { username: "carol", email: "carol@new.example" });
    await request(base, "/storage/carol");
    await request(base, "/domain/carol");
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
