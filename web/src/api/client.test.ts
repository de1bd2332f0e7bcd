import { describe, expect, it, vi } from "vitest";
import { ApiClient, type FetchLike, type SharedLock } from "./client";
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
    // A reload of the tab (or another tab) finds the session in the storage.
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

  it("ignores a corrupt stored entry", () => {
    const storage: KeyValueStorage = { getItem: () => "{not json", setItem: () => {}, removeItem: () => {} };
    expect(createTokenStore(storage).get()).toBeNull();
  });
});

/** localStorage as tabs share it: one map behind every tab's store. */
function sharedStorage(): KeyValueStorage {
  const saved = new Map<string, string>();
  return {
    getItem: (k) => saved.get(k) ?? null,
    setItem: (k, v) => void saved.set(k, v),
    removeItem: (k) => void saved.delete(k),
  };
}

/** Web Locks as the browser grants them: exclusive, first come first served, per name. */
function webLocks(): SharedLock {
  const tails = new Map<string, Promise<unknown>>();
  return {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const run = (tails.get(name) ?? Promise.resolve()).then(callback, callback);
      tails.set(name, run.catch(() => undefined));
      return run;
    },
  };
}

/** No coordination between tabs: what each tab had before the shared lock. */
const eachTabAlone: SharedLock = { request: (_name, callback) => callback() };

/**
 * auth-svc's refresh rule, strictly: each refresh token works once and rotates; presenting a
 * used one revokes the whole session. The first access token has expired.
 */
function strictAuthGateway() {
  const state = { refreshToken: "r1", accessTokens: new Set<string>(), revoked: false, issued: 1 };
  return {
    state,
    ...fakeGateway(async (call) => {
      await new Promise((resolve) => setTimeout(resolve, 5)); // the network: both tabs in flight
      if (call.url === "/v1/auth/refresh") {
        const presented = (call.body as { refreshToken: string }).refreshToken;
        if (state.revoked || presented !== state.refreshToken) {
          state.revoked = true;
          return json(401, { code: 16, message: "refresh token reused: session revoked" });
        }
        state.issued += 1;
        state.refreshToken = `r${state.issued}`;
        const accessToken = `a${state.issued}`;
        state.accessTokens.add(accessToken);
        return json(200, { accessToken, refreshToken: state.refreshToken, tokenType: "Bearer", expiresIn: "900" });
      }
      const token = call.headers.Authorization?.replace("Bearer ", "") ?? "";
      if (state.revoked || !state.accessTokens.has(token)) return unauthenticated();
      return json(200, { balance: "850", currency: "USD" });
    }),
  };
}

function twoTabs(locks: SharedLock) {
  const storage = sharedStorage();
  createTokenStore(storage).set({ accessToken: "a1", refreshToken: "r1" });
  const gateway = strictAuthGateway();
  const tabs = [0, 1].map(() => {
    const store = createTokenStore(storage);
    const onSessionExpired = vi.fn();
    const client = new ApiClient({ tokens: store, fetch: gateway.fetch, onSessionExpired, locks });
    return { store, client, onSessionExpired };
  });
  return { gateway, tabs };
}

describe("ApiClient across tabs", () => {
  it("two tabs refreshing at once take turns and both keep the session", async () => {
    const { gateway, tabs } = twoTabs(webLocks());
    const balances = await Promise.all(tabs.map((tab) => tab.client.wallet()));
    expect(balances).toEqual([
      { balance: "850", currency: "USD" },
      { balance: "850", currency: "USD" },
    ]);
    // One refresh reached the server: the second tab took the tokens the first had rotated.
    expect(refreshes(gateway.calls)).toHaveLength(1);
    expect(gateway.state.revoked).toBe(false);
    for (const tab of tabs) {
      expect(tab.onSessionExpired).not.toHaveBeenCalled();
      expect(tab.store.get()).toEqual({ accessToken: "a2", refreshToken: "r2" });
    }
    // Later calls in either tab keep working on the one session.
    await expect(tabs[1]!.client.wallet()).resolves.toEqual({ balance: "850", currency: "USD" });
  });

  it("without a shared lock the second refresh is a reuse that ends the session", async () => {
    const { gateway, tabs } = twoTabs(eachTabAlone);
    const outcomes = await Promise.allSettled(tabs.map((tab) => tab.client.wallet()));
    expect(outcomes.some((outcome) => outcome.status === "rejected")).toBe(true);
    expect(refreshes(gateway.calls)).toHaveLength(2);
    expect(gateway.state.revoked).toBe(true);
  });

  it("a tab waiting for the lock takes the sign-out another tab made", async () => {
    const { gateway, tabs } = twoTabs(webLocks());
    tabs[0]!.store.set(null); // signed out in the other tab, before this one refreshes
    await expect(tabs[1]!.client.wallet()).rejects.toBeInstanceOf(ApiError);
    expect(refreshes(gateway.calls)).toHaveLength(0);
    expect(tabs[1]!.store.get()).toBeNull();
    // A sign-out is no expired session: the page follows the store to sign-in, no notice.
    expect(tabs[1]!.onSessionExpired).not.toHaveBeenCalled();
  });

  it("reload tells the page when another tab changed the session", () => {
    const storage = sharedStorage();
    const mine = createTokenStore(storage);
    const other = createTokenStore(storage);
    mine.set({ accessToken: "a1", refreshToken: "r1" });
    const heard: (Tokens | null)[] = [];
    const listening = createTokenStore(storage);
    listening.subscribe((tokens) => heard.push(tokens));
    other.set({ accessToken: "a2", refreshToken: "r2" });
    expect(listening.reload()).toEqual({ accessToken: "a2", refreshToken: "r2" });
    listening.reload(); // nothing new: no second notice
    other.set(null);
    expect(listening.reload()).toBeNull();
    expect(heard).toEqual([{ accessToken: "a2", refreshToken: "r2" }, null]);
  });
});

describe("ApiClient account security", () => {
  it("keeps the session when a 401 refuses a typed password, without refreshing", async () => {
    const { client, store, calls, onSessionExpired } = setup(() =>
      json(401, {
        code: 16,
        message: "wrong password",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_CREDENTIALS" }],
      }),
    );
    const refused = client.changePassword("wrong one", "a new password");
    await expect(refused).rejects.toMatchObject({ status: 401, reason: "INVALID_CREDENTIALS" });
    expect(calls.map((c) => c.url)).toEqual(["/v1/auth/me/password"]);
    expect(calls[0]!.body).toEqual({ currentPassword: "wrong one", newPassword: "a new password" });
    expect(store.get()).toEqual({ accessToken: "a1", refreshToken: "r1" });
    expect(onSessionExpired).not.toHaveBeenCalled();
  });

  it("stores no tokens when the login asks for a second factor, then signs in with a code", async () => {
    const { client, store, calls } = setup(
      (call) =>
        call.url === "/v1/auth/login"
          ? json(200, { accessToken: "", refreshToken: "", mfaRequired: true, mfaToken: "m1" })
          : json(200, { accessToken: "a9", refreshToken: "r9", tokenType: "Bearer", expiresIn: 900 }),
      null,
    );
    await expect(client.login("ann@example.com", "pw")).resolves.toEqual({ mfaToken: "m1" });
    expect(store.get()).toBeNull();
    await client.completeMfaLogin("m1", "123456");
    expect(calls[1]).toMatchObject({ url: "/v1/auth/login:mfa", body: { mfaToken: "m1", code: "123456" } });
    expect(store.get()).toEqual({ accessToken: "a9", refreshToken: "r9" });
  });
});
