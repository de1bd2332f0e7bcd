// The shared part of the browser scripts that check a page served by the gateway (docs.mjs,
// graphiql.mjs): their command line, a Chromium page that blocks and lists every request
// leaving the gateway's origin and records requests, console errors and CSP violations, and
// the one-JSON-object report. Each script only says what it does on its page.

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

/** --base-url and --token (required), --chromium, --timeout, --screenshot. */
export function options(script, defaultTimeout) {
  const { values } = parseArgs({
    options: {
      "base-url": { type: "string" },
      token: { type: "string" },
      chromium: { type: "string", default: process.env.CHROMIUM_PATH || "/usr/bin/chromium" },
      timeout: { type: "string", default: String(defaultTimeout) },
      screenshot: { type: "string" },
    },
  });
  if (!values["base-url"] || !values.token) {
    console.error(`${script}: --base-url and --token are required`);
    process.exit(2);
  }
  return { ...values, base: values["base-url"].replace(/\/$/, ""), timeout: Number(values.timeout) };
}

/**
 * Runs `steps(page, state)` on a fresh page and prints the result: {"ok": true, ...} (exit 0)
 * or {"ok": false, "step", "error"} (exit 1). `steps` writes what it saw into `state.result`
 * and names what it is doing in `state.step`.
 */
export async function run(opts, viewport, steps) {
  const result = { ok: false, requests: [], blockedRequests: [], consoleErrors: [], cspViolations: [] };
  const state = { result, step: "launch" };
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: opts.timeout,
  });
  try {
    const context = await browser.newContext({ viewport });
    const origin = new URL(opts.base).origin;
    await context.route(
      (url) => url.origin !== origin,
      (route) => {
        result.blockedRequests.push(route.request().url());
        return route.abort();
      },
    );
    const page = await context.newPage();
    page.setDefaultTimeout(opts.timeout);
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
    await steps(page, state);
    result.ok = true;
  } catch (error) {
    result.step = state.step;
    result.error = String(error?.stack ?? error);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}
