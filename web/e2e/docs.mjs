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

import { options, run } from "./guarded.mjs";

const opts = options("docs.mjs", 30000);
const { base } = opts;

await run(opts, { width: 1280, height: 1000 }, async (page, state) => {
  const { result } = state;
  state.step = "open /docs";
  const response = await page.goto(`${base}/docs`);
  result.status = response?.status() ?? null;
  result.csp = response?.headers()["content-security-policy"] ?? null;
  await page.locator(".swagger-ui .information-container .title").waitFor();
  result.title = await page.locator(".swagger-ui .information-container .title").innerText();

  state.step = "authorize";
  await page.locator(".swagger-ui .auth-wrapper button.authorize").click();
  const dialog = page.locator(".swagger-ui .modal-ux");
  await dialog.locator("input").first().fill(opts.token);
  await dialog.locator("button.authorize").click();
  await dialog.locator("button.btn-done").click();

  state.step = "open GET /v1/wallet";
  const operation = page.locator("#operations-BillingService-BillingService_GetWallet");
  await operation.locator(".opblock-summary").first().click();
  result.description = await operation.locator(".opblock-description-wrapper").first().innerText();

  state.step = "execute";
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
});
