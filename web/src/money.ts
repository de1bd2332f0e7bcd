// Money is an integer number of minor units (int64, sent as a JSON string) plus an ISO 4217
// currency. Nothing here goes through a JavaScript float: amounts are BigInt, and
// Intl.NumberFormat receives an exact decimal string.

export type MinorUnits = bigint;

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

/**
 * Parses what a person typed ("10", "10.5", "1,000.25") in major units into minor units.
 * Rejects zero, negatives, and more decimals than the currency has.
 */
export function parseAmount(input: string, currency: string): MinorUnits {
  const digits = currencyDigits(currency);
  const text = input.trim().replace(/[\s,_]/g, "");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!text || !match || (match[1] === "" && !match[2])) {
    throw new AmountInputError("Enter an amount such as 10.00.");
  }
  const whole = match[1] || "0";
  const fraction = match[2] ?? "";
  if (fraction.length > digits) {
    throw new AmountInputError(
      digits === 0
        ? `${currency} has no fractional units.`
        : `Use at most ${digits} decimal places.`,
    );
  }
  const minor = BigInt(whole + fraction.padEnd(digits, "0"));
  if (minor <= 0n) throw new AmountInputError("The amount must be greater than zero.");
  return minor;
}
