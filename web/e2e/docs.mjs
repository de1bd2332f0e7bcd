#!/usr/bin/env node
// Opens the API reference (/docs: Swagger UI, served by the gateway from web/dist/docs.html)
// in real Chromium through playwright-core, pastes a bearer token into "Authorize", sends
// GET /v1/wallet with "Execute" and reports what it saw. Every request that would leave the
// gateway's origin is blocked and listed. Run by tests/e2e/test_docs_browser.py; by hand:
//
//   node web/e2e/docs.mjs --base-url http://127.0.0.1:8080 --token <access token> \
//     [--screenshot /tmp/docs.png]
//
// Prints one JSON object: {"ok": true, ...} (exit 0) or {"ok": false, "step", "error"} (exit 1).

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    "base-url": { type: "string" },
    token: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH || "/usr/bin/chromium" },
    timeout: { type: "string", default: "30000" },
    screenshot: { type: "string" },
  },
});
if (!opts["base-url"] || !opts.token) {
  console.error("docs.mjs: --base-url and --token are required");
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
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
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

  step = "open /docs";
  const response = await page.goto(`${base}/docs`);
  result.status = response?.status() ?? null;
  result.csp = response?.headers()["content-security-policy"] ?? null;
  await page.locator(".swagger-ui .information-container .title").waitFor();
  result.title = await page.locator(".swagger-ui .information-container .title").innerText();

  step = "authorize";
  await page.locator(".swagger-ui .auth-wrapper button.authorize").click();
  const dialog = page.locator(".swagger-ui .modal-ux");
  await dialog.locator("input").first().fill(opts.token);
  await dialog.locator("button.authorize").click();
  await dialog.locator("button.btn-done").click();

  step = "open GET /v1/wallet";
  const operation = page.locator("#operations-BillingService-BillingService_GetWallet");
  await operation.locator(".opblock-summary").first().click();
  result.description = await operation.locator(".opblock-description-wrapper").first().innerText();

  step = "execute";
  const answered = page.waitForResponse((r) => r.url() === `${base}/v1/wallet`);
  await operation.locator("button.execute").click();
  const wallet = await answered;
  result.apiStatus = wallet.status();
  result.authorization = (await wallet.request().allHeaders())["authorization"] ?? null;
  const shown = operation.locator(".live-responses-table tbody .response-col_status").first();
  await shown.waitFor();
  result.shownStatus = (await shown.innerText()).trim();
  result.shownBody = await operation.locator(".live-responses-table .microlight").first().innerText();
  if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: false });
  result.ok = true;
} catch (error) {
  result.step = step;
  result.error = String(error?.stack ?? error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
