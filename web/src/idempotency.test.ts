import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "./api/errors";
import { SubmissionKey } from "./idempotency";

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("SubmissionKey", () => {
  it("reuses the key while a submission of the same content is pending", () => {
    const keys = new SubmissionKey(counter());
    expect(keys.forRequest("250|coffee")).toBe("key-1");
    expect(keys.forRequest("250|coffee")).toBe("key-1"); // double click
  });

  it("makes a new key after a success", () => {
    const keys = new SubmissionKey(counter());
    keys.settle(keys.forRequest("250|coffee"));
    expect(keys.forRequest("250|coffee")).toBe("key-2");
  });

  it("keeps the key when the outcome is unknown, so a retry cannot charge twice", () => {
    const keys = new SubmissionKey(counter());
    keys.settle(keys.forRequest("250|coffee"), new NetworkError());
    expect(keys.forRequest("250|coffee")).toBe("key-1");
    keys.settle("key-1", new ApiError(503, { code: 14, message: "unavailable" }));
    expect(keys.forRequest("250|coffee")).toBe("key-1");
  });

  it("drops the key after a definite refusal", () => {
    const keys = new SubmissionKey(counter());
    keys.settle(keys.forRequest("250|coffee"), new ApiError(400, { code: 9, message: "insufficient funds" }));
    expect(keys.forRequest("250|coffee")).toBe("key-2");
  });

  it("makes a new key when the content changes", () => {
    const keys = new SubmissionKey(counter());
    keys.settle(keys.forRequest("250|coffee"), new NetworkError());
    expect(keys.forRequest("300|coffee")).toBe("key-2");
  });

  it("leaves a newer pending key alone when an older request's answer arrives", () => {
    const keys = new SubmissionKey(counter());
    const first = keys.forRequest("100"); // in flight…
    const second = keys.forRequest("200"); // …while the form was changed and resent
    keys.settle(second, new NetworkError()); // the second's outcome is unknown
    keys.settle(first); // the first one's late success must not drop the second's key
    expect(keys.forRequest("200")).toBe(second);
  });

  it("defaults to random UUIDs", () => {
    const a = new SubmissionKey().forRequest("x");
    const b = new SubmissionKey().forRequest("x");
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });
});
