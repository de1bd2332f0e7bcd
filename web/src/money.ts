// Money is an integer number of minor units (int64, sent as a JSON string) plus an ISO 4217
// currency. Nothing here goes through a JavaScript float: amounts are BigInt, and
// Intl.NumberFormat receives an exact decimal string.

import { ApiError, friendlyError } from "./api/errors";

export type MinorUnits = bigint;

/** The most minor units any amount may have: a wallet's limit (2^53 − 1, the largest integer
 * a JSON number holds exactly), so no single movement can be larger either. */
export const MAX_MINOR_UNITS: MinorUnits = 2n ** 53n - 1n;

/** Number of minor-unit digits of a currency (USD 2, JPY 0, BHD 3), as Intl knows it. */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
    .maximumFractionDigits ?? 2;
}

/** Reads an int64 as the gateway sends it ("-250", or a number for small values). */
export function toMinor(value: string | number | bigint | undefined | null): MinorUnits {
  if (value === undefined || value === null || value === "") return 0n;
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer amount: ${value}`);
    return BigInt(value);
  }
  if (!/^-?\d+$/.test(value)) throw new RangeError(`not an integer amount: ${value}`);
  return BigInt(value);
}

/** "-250", 2 → "-2.50": the exact decimal string of a minor-unit amount. */
export function minorToDecimal(amount: MinorUnits, digits: number): string {
  const negative = amount < 0n;
  const abs = (negative ? -amount : amount).toString();
  if (digits === 0) return (negative ? "-" : "") + abs;
  const padded = abs.padStart(digits + 1, "0");
  const whole = padded.slice(0, -digits);
  const fraction = padded.slice(-digits);
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale: string | undefined, signed: boolean): Intl.NumberFormat {
  const key = `${locale ?? ""}|${currency}|${signed}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      signDisplay: signed ? "exceptZero" : "auto",
    });
    formatters.set(key, found);
  }
  return found;
}

/** Formats minor units for display, e.g. ("750", "USD", "en-US") → "$7.50". */
export function formatMoney(
  amount: string | number | bigint,
  currency: string,
  options: { locale?: string; signed?: boolean } = {},
): string {
  const minor = toMinor(amount);
  const decimal = minorToDecimal(minor, currencyDigits(currency));
  // Intl.NumberFormat formats a decimal string exactly (ES2023), with no float rounding.
  return formatter(currency, options.locale, options.signed ?? false).format(
    decimal as Intl.StringNumericLiteral,
  );
}

export class AmountInputError extends Error {}

/** The decimal and grouping separators of a locale (en-US "." and ",", de-DE "," and "."). */
export function separators(locale?: string): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(locale).formatToParts(1234567.5);
  return {
    decimal: parts.find((p) => p.type === "decimal")?.value ?? ".",
    group: parts.find((p) => p.type === "group")?.value ?? ",",
  };
}

/** Minor units as a person would type them in ``locale`` (no grouping): 1250n → "12,50" in de-DE. */
export function minorToInput(amount: MinorUnits, currency: string, locale?: string): string {
  return minorToDecimal(amount, currencyDigits(currency)).replace(".", separators(locale).decimal);
}

const SPACES = /[\s\u00a0\u202f_]/g;

/** ``text`` with the locale's native digits (١٢٣ in ar-EG, ১২৩ in bn) as ASCII ones. */
function asciiDigits(text: string, locale?: string): string {
  const native = new Intl.NumberFormat(locale, { useGrouping: false }).format(1234567890);
  if (native === "1234567890") return text;
  const value = new Map([...native].map((digit, index) => [digit, String((index + 1) % 10)]));
  return [...text].map((c) => value.get(c) ?? c).join("");
}

/**
 * Parses what a person typed in major units into minor units, in the conventions of
 * ``locale`` (the one amounts are shown in): "1,000.25" in en-US, "1.000,25" in de-DE.
 * A separator is read as the locale reads it; "." or "," that the locale does not use at all
 * is a decimal point. What could be read two ways ("10,50" in en-US: ten-fifty or a
 * thousand and fifty?) is refused, never guessed. Rejects zero, negatives, and more decimals
 * than the currency has.
 */
export function parseAmount(input: string, currency: string, locale?: string): MinorUnits {
  const digits = currencyDigits(currency);
  const { decimal, group } = separators(locale);
  const groupChar = /\s/.test(group) || group === "\u202f" ? "" : group;
  let text = asciiDigits(input.trim().replace(SPACES, ""), locale);
  if (groupChar === "\u2019") text = text.replaceAll("'", groupChar); // de-CH: 1'000 or 1’000
  const example = `Enter an amount such as 10${decimal}${"0".repeat(Math.max(digits, 2))}.`;
  // The locale's own decimal sign too: ar-EG writes 10٫50, as the form's hint shows.
  const allowed = [..."0123456789.,", ...groupChar, ...decimal];
  if (!text || ![...text].every((c) => allowed.includes(c))) throw new AmountInputError(example);

  let whole = text;
  let fraction = "";
  const decimals = [...text].filter((c) => c === decimal || (c !== groupChar && ".,".includes(c)));
  const [point, ...extra] = decimals;
  if (extra.length > 0) throw new AmountInputError(example);
  if (point !== undefined) {
    const at = text.lastIndexOf(point);
    whole = text.slice(0, at);
    fraction = text.slice(at + 1);
  }
  if (!/^\d*$/.test(fraction)) throw new AmountInputError(example);
  if (groupChar && whole.includes(groupChar)) {
    // Group separators only between digit groups, the last group three digits wide
    // (1,000 / 12,34,567), so "10,50" in en-US is not silently a thousand and fifty.
    const groups = whole.split(groupChar);
    const last = groups[groups.length - 1] ?? "";
    const wellFormed =
      last.length === 3 &&
      groups.every(
        (g, index) => /^\d+$/.test(g) && (index === 0 ? g.length <= 3 : g.length >= 2 && g.length <= 3),
      );
    if (!wellFormed) {
      throw new AmountInputError(`Use "${decimal}" for decimals, e.g. 10${decimal}50.`);
    }
    whole = groups.join("");
  }
  if (!/^\d*$/.test(whole) || (whole === "" && fraction === "")) throw new AmountInputError(example);
  if (fraction.length > digits) {
    throw new AmountInputError(
      digits === 0
        ? `${currency} has no fractional units.`
        : `Use at most ${digits} decimal places.`,
    );
  }
  const minor = BigInt((whole || "0") + fraction.padEnd(digits, "0"));
  if (minor <= 0n) throw new AmountInputError("The amount must be greater than zero.");
  return minor;
}

/** parseAmount for a money form: also refuses what no wallet can hold, before it is sent
 * (the gateway would answer with a parser's message about a number the user never typed). */
export function parseWalletAmount(input: string, currency: string, locale?: string): MinorUnits {
  const minor = parseAmount(input, currency, locale);
  if (minor > MAX_MINOR_UNITS) throw new AmountInputError("That amount is too large.");
  return minor;
}

/** The sentence for a failed money request: a refused amount names the largest allowed, in
 * the wallet's currency; anything else as friendlyError says it. */
export function moneyError(error: unknown, currency: string, locale?: string): string {
  if (error instanceof ApiError && error.reason === "INVALID_AMOUNT") {
    const max = error.details.find((d) => d.reason === "INVALID_AMOUNT")?.metadata?.max_amount;
    if (max !== undefined && /^\d+$/.test(max)) {
      return `The most one payment can move is ${formatMoney(BigInt(max), currency, { locale })}.`;
    }
  }
  return friendlyError(error);
}
