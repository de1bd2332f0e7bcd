#!/usr/bin/env node
// Drives the built app in real Chromium (Debian's /usr/bin/chromium, through playwright-core)
// against a running gateway: register, sign in, top up, charge, refund, reload, sign out.
// Run by tests/e2e/test_web_browser.py; usable by hand too:
//
//   node web/e2e/flow.mjs --base-url http://127.0.0.1:8080 --email a@example.com \
//        --password 'long enough' --screenshot /tmp/wallet.png
//
// Prints one JSON object on stdout: {"ok": true, ...observations} with exit code 0, or
// {"ok": false, "step": ..., "error": ...} with exit code 1 (a screenshot is still taken).

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    "base-url": { type: "string" },
    email: { type: "string" },
    password: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH || "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
for (const required of ["base-url", "email", "password", "screenshot"]) {
  if (!opts[required]) {
    console.error(`flow.mjs: --${required} is required`);
    process.exit(2);
  }
}

const base = opts["base-url"].replace(/\/$/, "");
const timeout = Number(opts.timeout);
const result = { ok: false, steps: [], balances: {}, consoleErrors: [], cspViolations: [], blockedRequests: [] };
let step = "launch";

function mark(name) {
  step = name;
  result.steps.push(name);
}

async function waitForText(locator, expected, what) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    last = (await locator.first().textContent({ timeout }).catch(() => null))?.trim() ?? null;
    if (expected instanceof RegExp ? expected.test(last ?? "") : last === expected) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: expected ${expected}, saw ${JSON.stringify(last)}`);
}

async function waitForUrl(page, path) {
  await page.waitForURL((url) => url.pathname === path, { timeout });
}

const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  timeout,
});
let page;
try {
  const context = await browser.newContext({
    locale: "en-US",
    timezoneId: "UTC",
    viewport: { width: 1100, height: 900 },
  });
  // Nothing may leave the gateway's origin (no CDN, fonts, analytics).
  await context.route(
    (url) => url.origin !== new URL(base).origin,
    (route) => {
      result.blockedRequests.push(route.request().url());
      return route.abort();
    },
  );
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => {
    // Chromium logs every non-2xx fetch ("Failed to load resource"); the flow provokes some.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      result.consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => result.consoleErrors.push(`pageerror: ${error.message}`));
  // Every money request with its Idempotency-Key: the buttons are double-clicked, and the
  // test checks that each submission reached the gateway once.
  result.moneyRequests = [];
  result.refreshRequests = 0;
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path === "/v1/auth/refresh") result.refreshRequests += 1;
    if (request.method() === "POST" && path.startsWith("/v1/wallet/")) {
      const kind = path.endsWith("/refunds") ? "refunds" : path.split("/").pop();
      result.moneyRequests.push({ kind, key: request.headers()["idempotency-key"] ?? null });
    }
  });
  await page.exposeFunction("__reportCsp", (text) => result.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCsp(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });

  const balance = page.getByRole("status", { name: "Balance" });
  const txRows = page.getByRole("table", { name: "Transactions" }).locator("tbody tr");

  mark("open app");
  const response = await page.goto(`${base}/app/`);
  result.csp = response?.headers()["content-security-policy"] ?? null;
  await waitForUrl(page, "/app/sign-in");

  mark("register");
  await page.getByRole("link", { name: "Create an account" }).click();
  await waitForUrl(page, "/app/register");
  await page.getByLabel("Email").fill(opts.email);
  await page.getByLabel("Password").fill(opts.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await waitForUrl(page, "/app/sign-in");
  await waitForText(page.getByRole("status"), /Account created/, "registration notice");

  mark("sign in");
  if ((await page.getByLabel("Email").inputValue()) !== opts.email) {
    throw new Error("sign-in form is not prefilled with the registered email");
  }
  await page.getByLabel("Password").fill(opts.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await waitForUrl(page, "/app/");
  result.balances.initial = await waitForText(balance, "$0.00", "balance after sign-in");

  mark("top up");
  await page.getByLabel("Top-up amount").fill("10.00");
  await page.getByRole("button", { name: "Top up", exact: true }).dblclick();
  result.balances.afterTopUp = await waitForText(balance, "$10.00", "balance after top-up");
  await waitForText(page.getByRole("status").filter({ hasText: "Added" }), "Added $10.00.", "top-up notice");

  mark("charge");
  await page.getByLabel("Charge amount").fill("2.50");
  await page.getByLabel("Description").fill("Coffee");
  await page.getByRole("button", { name: "Charge", exact: true }).dblclick();
  result.balances.afterCharge = await waitForText(balance, "$7.50", "balance after charge");

  mark("transactions");
  await waitForText(txRows.nth(1), /Top-up/, "top-up row");
  result.transactionsAfterCharge = await txRows.allInnerTexts();
  if (result.transactionsAfterCharge.length !== 2) {
    throw new Error(`expected 2 transactions, saw ${result.transactionsAfterCharge.length}`);
  }
  const chargeRow = txRows.filter({ hasText: "Coffee" });
  await waitForText(chargeRow, /Coffee\s*Charge\s*-\$2\.50/, "charge row");

  mark("refund");
  await chargeRow.getByRole("button", { name: "Refund", exact: true }).click();
  const refundAmount = page.getByLabel("Refund amount");
  if ((await refundAmount.inputValue()) !== "2.50") throw new Error("refund amount is not prefilled with 2.50");
  if (!(await refundAmount.evaluate((el) => el === document.activeElement))) {
    throw new Error("the refund form did not take the focus");
  }
  await page.getByRole("button", { name: "Cancel" }).click();
  const focusedAction = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (focusedAction !== "Refund") throw new Error(`focus fell to ${focusedAction ?? "nothing"}, not the Refund button`);
  // The first refund reaches the server but its answer is lost on the way back.
  let answerLost = false;
  await page.route("**/v1/wallet/charges/*/refunds", async (route) => {
    if (answerLost) return route.continue();
    answerLost = true;
    await route.fetch(); // the server applies it
    await route.abort("connectionreset");
  });
  await chargeRow.getByRole("button", { name: "Refund", exact: true }).click();
  await refundAmount.fill("1.00");
  await page.getByRole("button", { name: "Confirm refund" }).click();
  await waitForText(page.getByRole("alert"), /Can't reach Tollgate/, "lost refund answer");
  // The user gives up on the form, opens it again and refunds the same amount: the app must
  // send the pending key again, so the server replays instead of refunding twice.
  await page.getByRole("button", { name: "Cancel" }).click();
  await chargeRow.getByRole("button", { name: "Refund", exact: true }).click();
  await refundAmount.fill("1.00");
  await page.getByRole("button", { name: "Confirm refund" }).dblclick();
  result.balances.afterRefund = await waitForText(balance, "$8.50", "balance after refund");
  await waitForText(txRows.first(), /Refund\s*\+\$1\.00/, "refund row");

  mark("insufficient funds");
  await page.getByLabel("Charge amount").fill("100.00");
  await page.getByLabel("Description").fill("Too much");
  // From the keyboard: the busy button must keep the focus (a disabled one drops it).
  await page.getByRole("button", { name: "Charge", exact: true }).focus();
  await page.keyboard.press("Enter");
  result.insufficientFunds = await waitForText(page.getByRole("alert"), /balance is too low/, "insufficient funds message");
  const focusedAfterCharge = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (focusedAfterCharge !== "Charge") {
    throw new Error(`focus fell to ${focusedAfterCharge || "the page"} while the charge was sent`);
  }
  await waitForText(balance, "$8.50", "balance after a refused charge");

  mark("reload");
  await page.reload();
  result.balances.afterReload = await waitForText(balance, "$8.50", "balance after reload");
  await waitForText(txRows.nth(2), /Top-up/, "transactions after reload");
  result.transactions = await txRows.allInnerTexts();

  mark("expired access token");
  // A rejected access token: the three calls of the wallet screen all get a 401, share one
  // refresh (the refresh token rotates; a second use would revoke the session), and retry.
  await page.evaluate(() => {
    const session = JSON.parse(window.localStorage.getItem("tollgate.session"));
    session.accessToken = "not-a-valid-token";
    window.localStorage.setItem("tollgate.session", JSON.stringify(session));
  });
  const refreshesBefore = result.refreshRequests;
  await page.reload();
  result.balances.afterRefresh = await waitForText(balance, "$8.50", "balance after a token refresh");
  await waitForText(txRows.nth(2), /Top-up/, "transactions after a token refresh");
  result.refreshesForExpiredToken = result.refreshRequests - refreshesBefore;

  mark("two tabs refresh at once");
  // Tabs share the session (localStorage); both find the access token rejected at the same
  // moment and refresh — one at a time (Web Lock): the second takes the tokens the first
  // rotated instead of presenting the used refresh token, which would revoke the session.
  const second = await context.newPage();
  second.setDefaultTimeout(timeout);
  second.on("request", (request) => {
    if (new URL(request.url()).pathname === "/v1/auth/refresh") result.refreshRequests += 1;
  });
  await second.goto(`${base}/app/`);
  const secondBalance = second.getByRole("status", { name: "Balance" });
  await waitForText(secondBalance, "$8.50", "balance in a second tab");
  await page.evaluate(() => {
    const session = JSON.parse(window.localStorage.getItem("tollgate.session"));
    session.accessToken = "not-a-valid-token";
    window.localStorage.setItem("tollgate.session", JSON.stringify(session));
  });
  const refreshesBeforeTabs = result.refreshRequests;
  await Promise.all([page.reload(), second.reload()]);
  result.twoTabBalances = await Promise.all([
    waitForText(balance, "$8.50", "balance in the first tab after both refreshed"),
    waitForText(secondBalance, "$8.50", "balance in the second tab after both refreshed"),
  ]);
  result.refreshesForTwoTabs = result.refreshRequests - refreshesBeforeTabs;
  await second.close();

  mark("screenshot");
  await page.screenshot({ path: opts.screenshot, fullPage: true });
  result.screenshot = opts.screenshot;

  mark("sign out");
  await page.getByRole("button", { name: "Sign out" }).click();
  await waitForUrl(page, "/app/sign-in");
  await waitForText(page.getByRole("status"), "You have signed out.", "sign-out notice");
  await page.goto(`${base}/app/`);
  await waitForUrl(page, "/app/sign-in");
  result.storageAfterSignOut = await page.evaluate(() => window.localStorage.length);

  mark("revoked session");
  // Tokens the gateway no longer accepts (the signed-out session): one refresh attempt, then
  // back to sign-in.
  await page.evaluate(() => {
    window.localStorage.setItem(
      "tollgate.session",
      JSON.stringify({ accessToken: "not-a-valid-token", refreshToken: "not-a-valid-token" }),
    );
  });
  await page.goto(`${base}/app/`);
  await waitForUrl(page, "/app/sign-in");
  result.revokedSessionNotice = await waitForText(page.getByRole("status"), /session has ended/, "session-ended notice");

  mark("deep link");
  const deep = await page.goto(`${base}/app/verify-email?token=not-a-real-token`);
  result.deepLinkStatus = deep?.status() ?? null;
  await waitForText(page.getByRole("alert"), /not valid|expired|verified/, "verify-email error");

  result.ok = true;
} catch (error) {
  result.step = step;
  result.error = String(error?.stack ?? error);
  if (page && !result.screenshot) {
    await page.screenshot({ path: opts.screenshot, fullPage: true }).catch(() => undefined);
    result.screenshot = opts.screenshot;
  }
} finally {
  await browser.close().catch(() => undefined);
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(result.ok ? 0 : 1);
