import { cache } from "tscaching";
import { createEmailServer } from "./server.js";
import { tour } from "./tour.js";

const backend = process.env.TSCACHING_SERVERS ? `memcached at ${process.env.TSCACHING_SERVERS}` : "the in-memory backend";

if (process.argv.includes("--tour")) {
  tour().then(() => cache.close(), (error) => {
    console.error(error);
    process.exitCode = 1;
    return cache.close();
  });
} else {
  const server = createEmailServer();
  server.listen(Number(process.env.PORT ?? 8080), () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : process.env.PORT;
    console.log(`email server on http://localhost:${port}/ (cache: ${backend}); Ctrl+C to stop`);
  });
  process.on("SIGINT", () => server.close(() => cache.close()));
  process.on("SIGTERM", () => server.close(() => cache.close()));
}
