#!/usr/bin/env node
// Opens GraphiQL (GET /graphql, served by the gateway from web/dist/graphiql.html) in real
// Chromium through playwright-core, runs a query with a bearer token in the Headers tab and
// reports what it saw. Every request that would leave the gateway's origin is blocked and
// listed. Run by tests/e2e/test_graphiql_browser.py; by hand:
//
//   node web/e2e/graphiql.mjs --base-url http://127.0.0.1:8080 --token <access token>
//
// Prints one JSON object: {"ok": true, ...} (exit 0) or {"ok": false, "step", "error"} (exit 1).

import { options, run } from "./guarded.mjs";

const opts = options("graphiql.mjs", 20000);
const { base, timeout } = opts;

await run(opts, { width: 1200, height: 900 }, async (page, state) => {
  const { result } = state;
  state.step = "open /graphql";
  const response = await page.goto(`${base}/graphql`);
  result.status = response?.status() ?? null;
  result.csp = response?.headers()["content-security-policy"] ?? null;
  await page.locator(".graphiql-container").waitFor();
  // The query editor is Monaco: its worker and language service are up once it shows text.
  await page.locator(".graphiql-query-editor .monaco-editor").first().waitFor();

  state.step = "headers";
  await page.getByText("Headers", { exact: true }).click();
  const headersEditor = page.locator(".graphiql-editor-tool .monaco-editor").last();
  await headersEditor.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${opts.token}` }));

  state.step = "run the query";
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
});
