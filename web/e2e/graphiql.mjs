#!/usr/bin/env node
// Opens GraphiQL (GET /graphql, served by the gateway from web/dist/graphiql.html) in real
// Chromium through playwright-core, runs a query with a bearer token in the Headers tab and
// reports what it saw. Every request that would leave the gateway's origin is blocked and
// listed. Run by tests/e2e/test_graphiql_browser.py; by hand:
//
//   node web/e2e/graphiql.mjs --base-url http://127.0.0.1:8080 --token <access token>
//
// Prints one JSON object: {"ok": true, ...} (exit 0) or {"ok": false, "step", "error"} (exit 1).

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    "base-url": { type: "string" },
    token: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH || "/usr/bin/chromium" },
    timeout: { type: "string", default: "20000" },
  },
});
if (!opts["base-url"] || !opts.token) {
  console.error("graphiql.mjs: --base-url and --token are required");
  process.exit(2);
}
const base = opts["base-url"].replace(/\/$/, "");
const timeout = Number(opts.timeout);
const result = { ok: false, requests: [], blockedRequests: [], consoleErrors: [], cspViolations: [] };
let step = "launch";

const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  timeout,
});
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await context.route(
    (url) => url.origin !== new URL(base).origin,
    (route) => {
      result.blockedRequests.push(route.request().url());
      return route.abort();
    },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("request", (request) => result.requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => result.consoleErrors.push(`pageerror: ${error.message}`));
  await page.exposeFunction("__reportCsp", (text) => result.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCsp(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });

  step = "open /graphql";
  const response = await page.goto(`${base}/graphql`);
  result.status = response?.status() ?? null;
  result.csp = response?.headers()["content-security-policy"] ?? null;
  await page.locator(".graphiql-container").waitFor();
  // The query editor is Monaco: its worker and language service are up once it shows text.
  await page.locator(".graphiql-query-editor .monaco-editor").first().waitFor();

  step = "headers";
  await page.getByText("Headers", { exact: true }).click();
  const headersEditor = page.locator(".graphiql-editor-tool .monaco-editor").last();
  await headersEditor.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${opts.token}` }));

  step = "run the query";
  await page.locator(".graphiql-execute-button").click();
  const deadline = Date.now() + timeout;
  let shown = "";
  while (Date.now() < deadline) {
    shown = (await page.locator(".graphiql-response").innerText().catch(() => "")) ?? "";
    if (shown.includes("accountState")) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  result.response = shown;
  if (!shown.includes("accountState")) throw new Error(`no result shown: ${JSON.stringify(shown)}`);
  result.ok = true;
} catch (error) {
  result.step = step;
  result.error = String(error?.stack ?? error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
