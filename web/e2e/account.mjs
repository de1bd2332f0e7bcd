#!/usr/bin/env node
// Drives the built app in real Chromium (through playwright-core) against a running suite for
// the account-security screens (issue 15): forgot password → the mailed link (read from the
// mail catcher) → a new password → sign in; then two-step sign-in set up on the Account
// security screen (QR code and key, a TOTP code, recovery codes) → sign out → sign in with
// the password and a code. The account must exist already (the test registers it).
// Run by tests/e2e/test_web_account_browser.py; usable by hand too:
//
//   node web/e2e/account.mjs --base-url http://127.0.0.1:8080 --mail-url http://127.0.0.1:8025 \
//        --email a@example.com --new-password "new one long" \
//        --screenshot /tmp/account.png
//
// Prints one JSON object on stdout: {"ok": true, ...observations} with exit code 0, or
// {"ok": false, "step": ..., "error": ...} with exit code 1 (a screenshot is still taken).

import { createHmac } from "node:crypto";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    "base-url": { type: "string" },
    "mail-url": { type: "string" },
    email: { type: "string" },
    "new-password": { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM_PATH || "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
for (const required of ["base-url", "mail-url", "email", "new-password", "screenshot"]) {
  if (!opts[required]) {
    console.error(`account.mjs: --${required} is required`);
    process.exit(2);
  }
}

const base = opts["base-url"].replace(/\/$/, "");
const mailUrl = opts["mail-url"].replace(/\/$/, "");
const timeout = Number(opts.timeout);
const result = { ok: false, steps: [], consoleErrors: [], cspViolations: [] };
let step = "launch";

function mark(name) {
  step = name;
  result.steps.push(name);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The text of the newest mail to `to` with `subject`, from Mailpit's API. */
async function mailText(to, subject) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const list = await (await fetch(`${mailUrl}/api/v1/messages?limit=200`)).json();
    const found = (list.messages ?? []).find(
      (m) => m.Subject === subject && (m.To ?? []).some((a) => a.Address.toLowerCase() === to.toLowerCase()),
    );
    if (found) return (await (await fetch(`${mailUrl}/api/v1/message/${found.ID}`)).json()).Text;
    await sleep(100);
  }
  throw new Error(`no mail "${subject}" to ${to} within 30 s`);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `stepsAhead` steps from now. */
function totp(secret, stepsAhead = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + stepsAhead));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
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
  const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => {
    // Chromium logs every non-2xx fetch ("Failed to load resource"); the flow provokes some.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      result.consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => result.consoleErrors.push(`pageerror: ${error.message}`));
  await page.exposeFunction("__reportCsp", (text) => result.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCsp(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });

  mark("forgot password");
  await page.goto(`${base}/app/sign-in`);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await waitForUrl(page, "/app/forgot-password");
  await page.getByLabel("Email", { exact: true }).fill(opts.email);
  // By keyboard: Enter in the field submits the form.
  await page.getByLabel("Email", { exact: true }).press("Enter");
  result.resetRequested = (await page.getByRole("status").textContent()).trim();

  mark("reset link");
  const text = await mailText(opts.email, "Reset your Tollgate password");
  const link = text.match(/https?:\/\/\S+\/app\/reset-password\?\S+/)?.[0];
  if (!link) throw new Error(`no reset link in the mail: ${text}`);
  result.resetLinkPath = new URL(link).pathname;
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill(opts["new-password"]);
  await page.getByRole("button", { name: "Set new password" }).click();
  result.resetDone = (await page.getByRole("status").textContent()).trim();

  mark("sign in with the new password");
  await page.getByRole("link", { name: "Go to sign in" }).click();
  await waitForUrl(page, "/app/sign-in");
  await page.getByLabel("Email", { exact: true }).fill(opts.email);
  await page.getByLabel("Password", { exact: true }).fill(opts["new-password"]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await waitForUrl(page, "/app/");
  await page.getByRole("heading", { name: "Balance" }).waitFor();

  mark("set up two-step sign-in");
  await page.getByRole("link", { name: "Account security" }).click();
  await waitForUrl(page, "/app/account");
  await page.getByText("Two-step sign-in is off").waitFor();
  await page.getByRole("button", { name: "Set up two-step sign-in" }).click();
  const qr = page.getByRole("img", { name: /QR code/ });
  result.qrCode = ((await qr.getAttribute("src")) ?? "").slice(0, 40);
  result.qrRendered = await qr.evaluate((img) => img.complete && img.naturalWidth > 0);
  const secret = (await page.locator("code.secret").textContent()).trim();
  // The code field has the focus: type into it as a keyboard user would.
  result.codeFieldFocused = await page.getByLabel("Code from the app", { exact: true }).evaluate((el) => el === document.activeElement);
  await page.keyboard.type(totp(secret));
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Your recovery codes" }).waitFor();
  result.recoveryCodes = await page.locator(".recovery-codes li").allTextContents();
  await page.getByText("Two-step sign-in is on").waitFor();

  mark("sign in with a code");
  await page.getByRole("button", { name: "Sign out" }).click();
  await waitForUrl(page, "/app/sign-in");
  await page.getByLabel("Email", { exact: true }).fill(opts.email);
  await page.getByLabel("Password", { exact: true }).fill(opts["new-password"]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Two-step sign-in" }).waitFor();
  const codeField = page.getByLabel(/Code from your authenticator app/);
  result.loginCodeFieldFocused = await codeField.evaluate((el) => el === document.activeElement);
  // The setup spent this step's code: the next step's is good (one step of drift).
  await codeField.fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await waitForUrl(page, "/app/");
  await page.getByRole("heading", { name: "Balance" }).waitFor();

  result.ok = true;
} catch (error) {
  result.step = step;
  result.error = String(error?.stack ?? error);
} finally {
  if (page) {
    await page.screenshot({ path: opts.screenshot, fullPage: true }).catch(() => undefined);
    result.screenshot = opts.screenshot;
  }
  await browser.close().catch(() => undefined);
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(result.ok ? 0 : 1);
