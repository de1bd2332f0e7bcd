import { describe, expect, it, vi } from "vitest";
import { ApiClient, type FetchLike } from "./client";
import { ApiError, NetworkError } from "./errors";
import { createTokenStore, type KeyValueStorage, type Tokens } from "./session";

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const unauthenticated = () =>
  json(401, {
    code: 16,
    message: "token expired",
    details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "TOKEN_INVALID" }],
  });

/** A fake gateway: `handler` answers each call; every call is recorded. */
function fakeGateway(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call: Call = {
      method: init.method ?? "GET",
      url,
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return handler(call);
  };
  return { calls, fetch };
}

function setup(handler: (call: Call) => Response | Promise<Response>, tokens: Tokens | null = { accessToken: "a1", refreshToken: "r1" }) {
  const store = createTokenStore(null);
  store.set(tokens);
  const gateway = fakeGateway(handler);
  const onSessionExpired = vi.fn();
  const client = new ApiClient({ tokens: store, fetch: gateway.fetch, onSessionExpired });
  return { client, store, calls: gateway.calls, onSessionExpired };
}

const refreshes = (calls: Call[]) => calls.filter((c) => c.url === "/v1/auth/refresh");

describe("ApiClient authenticated calls", () => {
  it("sends the access token and returns the JSON body", async () => {
    const { client, calls } = setup(() => json(200, { balance: "850", currency: "USD" }));
    await expect(client.wallet()).resolves.toEqual({ balance: "850", currency: "USD" });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.Authorization).toBe("Bearer a1");
  });

  it("refreshes once on a 401 and retries the call with the new token", async () => {
    const { client, store, calls, onSessionExpired } = setup((call) => {
      if (call.url === "/v1/auth/refresh") {
        return json(200, { accessToken: "a2", refreshToken: "r2", tokenType: "Bearer", expiresIn: "900" });
      }
      return call.headers.Authorization === "Bearer a2" ? json(200, { balance: "1", currency: "USD" }) : unauthenticated();
    });
    await expect(client.wallet()).resolves.toEqual({ balance: "1", currency: "USD" });
    expect(calls.map((c) => c.url)).toEqual(["/v1/wallet", "/v1/auth/refresh", "/v1/wallet"]);
    expect(refreshes(calls)[0]!.body).toEqual({ refreshToken: "r1" });
    expect(refreshes(calls)[0]!.headers.Authorization).toBeUndefined();
    expect(store.get()).toEqual({ accessToken: "a2", refreshToken: "r2" });
    expect(onSessionExpired).not.toHaveBeenCalled();
  });

  it("signs out when the refresh is refused, without retrying the call", async () => {
    const { client, store, calls, onSessionExpired } = setup((call) =>
      call.url === "/v1/auth/refresh"
        ? json(401, { code: 16, message: "session revoked", details: [] })
        : unauthenticated(),
    );
    const error = await client.wallet().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(calls.map((c) => c.url)).toEqual(["/v1/wallet", "/v1/auth/refresh"]);
    expect(store.get()).toBeNull();
    expect(onSessionExpired).toHaveBeenCalledTimes(1);
  });

  it("refreshes only once: a second 401 after the refresh ends the session", async () => {
    const { client, store, calls, onSessionExpired } = setup((call) =>
      call.url === "/v1/auth/refresh"
        ? json(200, { accessToken: "a2", refreshToken: "r2", tokenType: "Bearer", expiresIn: "900" })
        : unauthenticated(),
    );
    await expect(client.wallet()).rejects.toMatchObject({ status: 401 });
    expect(refreshes(calls)).toHaveLength(1);
    expect(calls).toHaveLength(3);
    expect(store.get()).toBeNull();
    expect(onSessionExpired).toHaveBeenCalledTimes(1);
  });

  it("shares one refresh between concurrent calls (refresh tokens rotate)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { client, calls } = setup(async (call) => {
      if (call.url === "/v1/auth/refresh") {
        await gate;
        return json(200, { accessToken: "a2", refreshToken: "r2", tokenType: "Bearer", expiresIn: "900" });
      }
      return call.headers.Authorization === "Bearer a2" ? json(200, { ok: call.url }) : unauthenticated();
    });
    const pending = Promise.all([client.wallet(), client.transactions(10), client.me()]);
    await vi.waitFor(() => expect(refreshes(calls)).toHaveLength(1));
    release();
    const results = await pending;
    expect(results).toHaveLength(3);
    expect(refreshes(calls)).toHaveLength(1);
    expect(calls.filter((c) => c.headers.Authorization === "Bearer a2")).toHaveLength(3);
  });

  it("uses tokens another call already renewed instead of refreshing again", async () => {
    const { client, store, calls } = setup((call) => {
      if (call.url === "/v1/wallet" && call.headers.Authorization === "Bearer a1") {
        // While this call was on its way, another one refreshed the session.
        store.set({ accessToken: "a2", refreshToken: "r2" });
        return unauthenticated();
      }
      return json(200, {});
    });
    await client.wallet();
    expect(refreshes(calls)).toHaveLength(0);
    expect(calls[1]!.headers.Authorization).toBe("Bearer a2");
  });

  it("keeps the session when the refresh fails on the network", async () => {
    const { client, store, onSessionExpired } = setup((call) => {
      if (call.url === "/v1/auth/refresh") throw new TypeError("Failed to fetch");
      return unauthenticated();
    });
    await expect(client.wallet()).rejects.toBeInstanceOf(NetworkError);
    expect(store.get()).toEqual({ accessToken: "a1", refreshToken: "r1" });
    expect(onSessionExpired).not.toHaveBeenCalled();
  });

  it.each([429, 500, 503, 504])(
    "keeps the session when the refresh answers %i (busy or restarting, not refused)",
    async (status) => {
      const { client, store, onSessionExpired } = setup((call) => {
        if (call.url === "/v1/auth/refresh") return json(status, { code: 14, message: "unavailable" });
        return unauthenticated();
      });
      const failure = await client.wallet().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiError);
      expect((failure as ApiError).status).toBe(status);
      expect(store.get()).toEqual({ accessToken: "a1", refreshToken: "r1" });
      expect(onSessionExpired).not.toHaveBeenCalled();
    },
  );

  it("does not call the gateway without a session", async () => {
    const { client, calls, onSessionExpired } = setup(() => json(200, {}), null);
    await expect(client.wallet()).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(0);
    expect(onSessionExpired).not.toHaveBeenCalled();
  });

  it("ends a dead session once, however many calls found it dead", async () => {
    const { client, store, calls, onSessionExpired } = setup((call) =>
      call.url === "/v1/auth/refresh" ? json(401, { code: 16, message: "revoked" }) : unauthenticated(),
    );
    const results = await Promise.allSettled([client.wallet(), client.transactions(10), client.me()]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(refreshes(calls)).toHaveLength(1);
    expect(store.get()).toBeNull();
    expect(onSessionExpired).toHaveBeenCalledTimes(1);
  });

  it("does not refresh on other errors and exposes the ErrorInfo reason", async () => {
    const { client, calls } = setup(() =>
      json(400, {
        code: 9,
        message: "insufficient funds",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INSUFFICIENT_FUNDS" }],
      }),
    );
    await expect(client.charge(250n, "coffee", "k1")).rejects.toMatchObject({
      status: 400,
      code: 9,
      reason: "INSUFFICIENT_FUNDS",
      message: "insufficient funds",
    });
    expect(calls).toHaveLength(1);
  });
});

describe("ApiClient money calls", () => {
  it("sends amounts as int64 strings with the Idempotency-Key, also on the retry", async () => {
    let first = true;
    const { client, calls } = setup((call) => {
      if (call.url === "/v1/auth/refresh") {
        return json(200, { accessToken: "a2", refreshToken: "r2", tokenType: "Bearer", expiresIn: "900" });
      }
      if (first) {
        first = false;
        return unauthenticated();
      }
      return json(200, { transaction: { id: "t1" }, balance: "750" });
    });
    await client.charge(250n, "coffee", "key-123");
    const charges = calls.filter((c) => c.url === "/v1/wallet/charges");
    expect(charges).toHaveLength(2);
    for (const charge of charges) {
      expect(charge.method).toBe("POST");
      expect(charge.headers["Idempotency-Key"]).toBe("key-123");
      expect(charge.body).toEqual({ amount: "250", description: "coffee" });
    }
  });

  it("builds the refund and transactions URLs", async () => {
    const { client, calls } = setup(() => json(200, {}));
    await client.refund("ch/1", 100n, "k");
    await client.transactions(5, "tok+/=");
    await client.transactions(5);
    expect(calls.map((c) => c.url)).toEqual([
      "/v1/wallet/charges/ch%2F1/refunds",
      "/v1/wallet/transactions?pageSize=5&pageToken=tok%2B%2F%3D",
      "/v1/wallet/transactions?pageSize=5",
    ]);
    expect(calls[0]!.body).toEqual({ amount: "100" });
  });
});

describe("ApiClient sessions", () => {
  it("stores the tokens from login and forgets them on logout", async () => {
    const saved = new Map<string, string>();
    const storage: KeyValueStorage = {
      getItem: (k) => saved.get(k) ?? null,
      setItem: (k, v) => void saved.set(k, v),
      removeItem: (k) => void saved.delete(k),
    };
    const store = createTokenStore(storage);
    const { fetch, calls } = fakeGateway((call) =>
      call.url === "/v1/auth/login"
        ? json(200, { accessToken: "a1", refreshToken: "r1", tokenType: "Bearer", expiresIn: "900" })
        : json(200, {}),
    );
    const client = new ApiClient({ tokens: store, fetch });
    await client.login("a@example.com", "correct horse");
    expect(store.get()).toEqual({ accessToken: "a1", refreshToken: "r1" });
    // A reload of the tab finds the session in sessionStorage.
    expect(createTokenStore(storage).get()).toEqual({ accessToken: "a1", refreshToken: "r1" });
    await client.logout();
    expect(calls.at(-1)).toMatchObject({ url: "/v1/auth/logout", method: "POST", body: {} });
    expect(calls.at(-1)!.headers.Authorization).toBe("Bearer a1");
    expect(store.get()).toBeNull();
    expect(createTokenStore(storage).get()).toBeNull();
  });

  it("forgets the tokens even when the logout request fails", async () => {
    const { client, store } = setup(() => {
      throw new TypeError("offline");
    });
    await expect(client.logout()).rejects.toBeInstanceOf(NetworkError);
    expect(store.get()).toBeNull();
  });

  it("reports bad credentials without touching the session", async () => {
    const { client, store } = setup(
      () =>
        json(401, {
          code: 16,
          message: "invalid email or password",
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_CREDENTIALS" }],
        }),
      null,
    );
    await expect(client.login("a@example.com", "nope")).rejects.toMatchObject({ reason: "INVALID_CREDENTIALS" });
    expect(store.get()).toBeNull();
  });

  it("ignores a corrupt sessionStorage entry", () => {
    const storage: KeyValueStorage = { getItem: () => "{not json", setItem: () => {}, removeItem: () => {} };
    expect(createTokenStore(storage).get()).toBeNull();
  });
});
