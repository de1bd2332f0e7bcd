import { describe, expect, it } from "vitest";
import { ApiError, NetworkError, errorReason, friendlyError } from "./errors";

const info = (reason: string) => ({
  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
  reason,
  domain: "billing.tollgate",
});

describe("errorReason", () => {
  it("finds the ErrorInfo among other details", () => {
    const details = [
      { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [] },
      info("INSUFFICIENT_FUNDS"),
    ];
    expect(errorReason(details)).toBe("INSUFFICIENT_FUNDS");
  });

  it("is undefined without an ErrorInfo", () => {
    expect(errorReason([])).toBeUndefined();
    expect(errorReason([{ "@type": "type.googleapis.com/google.rpc.RetryInfo" }])).toBeUndefined();
  });
});

describe("friendlyError", () => {
  it("maps known reasons to plain words", () => {
    const error = new ApiError(400, {
      code: 9,
      message: "insufficient funds: balance 100, charge 250",
      details: [info("INSUFFICIENT_FUNDS")],
    });
    expect(error.reason).toBe("INSUFFICIENT_FUNDS");
    expect(error.message).toBe("insufficient funds: balance 100, charge 250");
    expect(friendlyError(error)).toBe("Your balance is too low for this charge. Top up first.");
    expect(friendlyError(new ApiError(409, { code: 6, message: "x", details: [info("EMAIL_TAKEN")] }))).toMatch(
      /already exists/,
    );
    expect(
      friendlyError(new ApiError(400, { code: 9, message: "x", details: [info("REFUND_EXCEEDS_CHARGE")] })),
    ).toMatch(/left to refund/);
    expect(
      friendlyError(new ApiError(400, { code: 9, message: "x", details: [info("BALANCE_LIMIT_EXCEEDED")] })),
    ).toMatch(/cannot hold that much/);
  });

  it("shows the gateway's message for an unknown reason on a 4xx", () => {
    const error = new ApiError(400, { code: 3, message: "amount must be positive", details: [info("SOMETHING_NEW")] });
    expect(friendlyError(error)).toBe("amount must be positive");
  });

  it("never shows a 5xx message, which may be internal", () => {
    expect(friendlyError(new ApiError(500, { code: 13, message: "internal: db exploded" }))).toBe(
      "Something went wrong. Please try again.",
    );
    expect(friendlyError(new ApiError(503, { code: 14, message: "backend down" }))).toMatch(/temporarily unavailable/);
  });

  it("handles bodies that are not the JSON status", () => {
    const error = new ApiError(502, undefined, "Request failed (502)");
    expect(error.reason).toBeUndefined();
    expect(error.details).toEqual([]);
    expect(friendlyError(error)).toBe("Something went wrong. Please try again.");
    expect(friendlyError(new ApiError(429, undefined))).toMatch(/Too many requests/);
  });

  it("explains network failures", () => {
    expect(friendlyError(new NetworkError(new TypeError("Failed to fetch")))).toMatch(/Can't reach/);
  });
});
