import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The gateway serves this build at /app/ with a strict CSP (default-src 'self'): the output
// has no inline scripts or styles, and every asset is a hashed file under /app/assets/.
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    target: "es2022",
    // Modern browsers support <link rel="modulepreload">; skip the polyfill.
    modulePreload: { polyfill: false },
    // Never inline assets as data: URLs, which the CSP would block.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    sourcemap: false,
    // Three pages: the app (index.html), GraphiQL (graphiql.html, served at GET /graphql)
    // and the API reference (docs.html, Swagger UI, served at /docs).
    rollupOptions: {
      input: {
        index: new URL("./index.html", import.meta.url).pathname,
        graphiql: new URL("./graphiql.html", import.meta.url).pathname,
        docs: new URL("./docs.html", import.meta.url).pathname,
      },
    },
  },
  worker: { format: "es" },
  server: {
    // `npm run dev` talks to a locally running gateway (`make run`).
    proxy: { "/v1": "http://127.0.0.1:8080", "/.well-known": "http://127.0.0.1:8080" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
