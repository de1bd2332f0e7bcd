import { describe, expect, it } from "vitest";
import { ApiError, friendlyError } from "./api/errors";
import {
  AmountInputError,
  currencyDigits,
  formatMoney,
  minorToDecimal,
  minorToInput,
  moneyError,
  parseAmount,
  parseWalletAmount,
  toMinor,
} from "./money";

describe("formatMoney", () => {
  it("formats minor units of a two-digit currency", () => {
    expect(formatMoney("750", "USD", { locale: "en-US" })).toBe("$7.50");
    expect(formatMoney("5", "USD", { locale: "en-US" })).toBe("$0.05");
    expect(formatMoney("0", "USD", { locale: "en-US" })).toBe("$0.00");
  });

  it("uses the currency's own number of digits", () => {
    expect(formatMoney("1500", "JPY", { locale: "en-US" })).toBe("¥1,500");
    expect(formatMoney("1234", "BHD", { locale: "en-US" }).replace(/\s/g, " ")).toBe("BHD 1.234");
  });

  it("follows the locale", () => {
    expect(formatMoney("123456", "EUR", { locale: "de-DE" })).toBe("1.234,56\u00a0€");
  });

  it("shows negative amounts and an explicit sign when asked", () => {
    expect(formatMoney("-250", "USD", { locale: "en-US" })).toBe("-$2.50");
    expect(formatMoney("-250", "USD", { locale: "en-US", signed: true })).toBe("-$2.50");
    expect(formatMoney("1000", "USD", { locale: "en-US", signed: true })).toBe("+$10.00");
  });

  it("is exact beyond the float range (int64 arrives as a string)", () => {
    expect(formatMoney("9223372036854775807", "USD", { locale: "en-US" })).toBe(
      "$92,233,720,368,547,758.07",
    );
  });

  it("accepts numbers and bigints", () => {
    expect(formatMoney(850, "USD", { locale: "en-US" })).toBe("$8.50");
    expect(formatMoney(850n, "USD", { locale: "en-US" })).toBe("$8.50");
  });
});

describe("toMinor", () => {
  it("reads int64 strings and rejects anything else", () => {
    expect(toMinor("-42")).toBe(-42n);
    expect(toMinor(undefined)).toBe(0n);
    expect(() => toMinor("1.5")).toThrow(RangeError);
    expect(() => toMinor(1.5)).toThrow(RangeError);
  });
});

describe("minorToDecimal", () => {
  it("places the decimal point", () => {
    expect(minorToDecimal(7n, 2)).toBe("0.07");
    expect(minorToDecimal(-1234n, 2)).toBe("-12.34");
    expect(minorToDecimal(1234n, 0)).toBe("1234");
    expect(minorToDecimal(1234n, 3)).toBe("1.234");
  });
});

describe("parseAmount", () => {
  it("turns typed major units into minor units", () => {
    expect(parseAmount("10", "USD")).toBe(1000n);
    expect(parseAmount("2.5", "USD")).toBe(250n);
    expect(parseAmount(" 1,000.25 ", "USD")).toBe(100025n);
    expect(parseAmount(".99", "USD")).toBe(99n);
    expect(parseAmount("1500", "JPY")).toBe(1500n);
  });

  it("rejects bad input", () => {
    for (const bad of ["", "abc", "-5", "0", "0.00", "1.234", "1e3", "."]) {
      expect(() => parseAmount(bad, "USD"), bad).toThrow(AmountInputError);
    }
    expect(() => parseAmount("1.5", "JPY")).toThrow(AmountInputError);
  });

  it("reads separators as the locale shown to the user does", () => {
    expect(parseAmount("10,50", "EUR", "de-DE")).toBe(1050n);
    expect(parseAmount("1.234,56", "EUR", "de-DE")).toBe(123456n);
    expect(parseAmount("1.000", "EUR", "de-DE")).toBe(100000n);
    expect(parseAmount("10.5", "EUR", "fr-FR")).toBe(1050n); // "." is no French separator
    expect(parseAmount("1\u202f234,5", "EUR", "fr-FR")).toBe(123450n);
    expect(parseAmount("1'234.50", "CHF", "de-CH")).toBe(123450n);
    expect(parseAmount("12,34,567", "INR", "en-IN")).toBe(1234567_00n);
    expect(parseAmount("1,000", "USD", "en-US")).toBe(100000n);
  });

  it("refuses what could be read two ways instead of guessing", () => {
    // A German "ten fifty" in an English locale, and the other way round: never 100x.
    expect(() => parseAmount("10,50", "USD", "en-US")).toThrow(/Use "\." for decimals/);
    expect(() => parseAmount("10.50", "EUR", "de-DE")).toThrow(/Use "," for decimals/);
    for (const bad of ["1,2,3", "1.000.00", "1,000,00", ",", "1,,000"]) {
      expect(() => parseAmount(bad, "USD", "en-US"), bad).toThrow(AmountInputError);
    }
  });

  it("formats input values in the locale's convention", () => {
    expect(minorToInput(1250n, "EUR", "de-DE")).toBe("12,50");
    expect(minorToInput(1250n, "USD", "en-US")).toBe("12.50");
    expect(parseAmount(minorToInput(9007199254740993n, "EUR", "de-DE"), "EUR", "de-DE")).toBe(
      9007199254740993n,
    );
  });

  it("round-trips with minorToDecimal", () => {
    for (const minor of [1n, 99n, 100n, 12345n, 9007199254740993n]) {
      expect(parseAmount(minorToDecimal(minor, currencyDigits("USD")), "USD")).toBe(minor);
    }
  });
});

describe("amount limits", () => {
  it("refuses amounts past the largest a wallet can hold before sending them", () => {
    expect(parseWalletAmount("90071992547409.91", "USD", "en-US")).toBe(2n ** 53n - 1n);
    expect(() => parseWalletAmount("90071992547409.92", "USD", "en-US")).toThrow("That amount is too large.");
    expect(() => parseWalletAmount("99999999999999999999", "USD", "en-US")).toThrow("That amount is too large.");
    expect(() => parseWalletAmount("0", "USD", "en-US")).toThrow("greater than zero");
  });

  it("names the server's maximum in the wallet's currency", () => {
    const refused = new ApiError(400, {
      code: 3,
      message: "amount must not exceed 100000000",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "INVALID_AMOUNT",
          metadata: { max_amount: "100000000" },
        },
      ],
    });
    expect(moneyError(refused, "USD", "en-US")).toBe("The most one payment can move is $1,000,000.00.");
    const other = new ApiError(400, {
      code: 3,
      message: "amount must be positive",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_AMOUNT" }],
    });
    expect(moneyError(other, "USD", "en-US")).toBe(friendlyError(other));
  });
});

describe("locales with their own digits and decimal sign", () => {
  it("reads what the form's hint shows and what people type", () => {
    const hint = minorToInput(1000n, "EGP", "ar-EG");
    expect(parseAmount(hint, "EGP", "ar-EG")).toBe(1000n);
    expect(parseAmount("10\u066b50", "EGP", "ar-EG")).toBe(1050n); // 10٫50
    expect(parseAmount("\u0661\u0660\u066b\u0665\u0660", "EGP", "ar-EG")).toBe(1050n); // ١٠٫٥٠
    expect(parseAmount("10.50", "EGP", "ar-EG")).toBe(1050n);
  });
});
