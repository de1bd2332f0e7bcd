// The REST client for the gateway (contract: issue 2's table). Authenticated calls carry the
// access token; on a 401 the client refreshes the tokens once — one refresh shared by every
// request that failed at the same time, and one at a time across the app's tabs (a Web Lock),
// since refresh tokens rotate and a reused one revokes the session — retries the call once,
// and otherwise ends the session.

import { ApiError, NetworkError, errorReason, type StatusBody } from "./errors";
import type { TokenStore, Tokens } from "./session";
import type {
  LoginResponse,
  Me,
  MfaEnrollment,
  MoneyResponse,
  RegisterResponse,
  TransactionPage,
  Wallet,
} from "./types";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The part of the Web Locks API (`navigator.locks`) the client needs: an exclusive lock
 * shared by every tab of the origin, held while `callback` runs. */
export interface SharedLock {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

const REFRESH_LOCK = "tollgate.refresh";

export interface ClientOptions {
  tokens: TokenStore;
  fetch?: FetchLike;
  /** Prefix for every path; "" means the page's own origin (the gateway). */
  baseUrl?: string;
  /** Called once the session is gone for good (refresh refused): show sign-in. */
  onSessionExpired?: () => void;
  /** Default: `navigator.locks`; without it, a lock within this page only. */
  locks?: SharedLock;
}

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

export class ApiClient {
  private readonly tokens: TokenStore;
  private readonly fetchImpl: FetchLike;
  private readonly baseUrl: string;
  private readonly onSessionExpired: (() => void) | undefined;
  private readonly locks: SharedLock;
  private refreshing: Promise<Tokens | null> | null = null;

  constructor(options: ClientOptions) {
    this.tokens = options.tokens;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.baseUrl = options.baseUrl ?? "";
    this.onSessionExpired = options.onSessionExpired;
    this.locks = options.locks ?? browserLocks() ?? pageLock();
  }

  // -- auth ----------------------------------------------------------------------------------
  register(email: string, password: string): Promise<RegisterResponse> {
    return this.publicCall("POST", "/v1/auth/register", { body: { email, password } });
  }

  /** Signs in, or answers the challenge of the second step for an account with TOTP on. */
  async login(email: string, password: string): Promise<{ mfaToken: string } | null> {
    const result = await this.publicCall<LoginResponse>("POST", "/v1/auth/login", {
      body: { email, password },
    });
    if (result.mfaRequired) return { mfaToken: result.mfaToken ?? "" };
    this.tokens.set({ accessToken: result.accessToken, refreshToken: result.refreshToken });
    return null;
  }

  /** A login's second step: a TOTP code or a recovery code. */
  async completeMfaLogin(mfaToken: string, code: string): Promise<void> {
    const result = await this.publicCall<LoginResponse>("POST", "/v1/auth/login:mfa", {
      body: { mfaToken, code },
    });
    this.tokens.set({ accessToken: result.accessToken, refreshToken: result.refreshToken });
  }

  requestPasswordReset(email: string): Promise<Record<string, never>> {
    return this.publicCall("POST", "/v1/auth/password-reset", { body: { email } });
  }

  confirmPasswordReset(token: string, newPassword: string): Promise<Record<string, never>> {
    return this.publicCall("POST", "/v1/auth/password-reset:confirm", {
      body: { token, newPassword },
    });
  }

  confirmEmailChange(token: string): Promise<Record<string, never>> {
    return this.publicCall("POST", "/v1/auth/email-change:confirm", { body: { token } });
  }

  changePassword(currentPassword: string, newPassword: string): Promise<Record<string, never>> {
    return this.authedCall("POST", "/v1/auth/me/password", {
      body: { currentPassword, newPassword },
    });
  }

  changeEmail(password: string, newEmail: string): Promise<Record<string, never>> {
    return this.authedCall("POST", "/v1/auth/me/email", { body: { password, newEmail } });
  }

  enrollMfa(): Promise<MfaEnrollment> {
    return this.authedCall("POST", "/v1/auth/me/mfa:enroll", { body: {} });
  }

  confirmMfa(code: string): Promise<{ recoveryCodes: string[] }> {
    return this.authedCall("POST", "/v1/auth/me/mfa:confirm", { body: { code } });
  }

  disableMfa(password: string, code: string): Promise<Record<string, never>> {
    return this.authedCall("POST", "/v1/auth/me/mfa:disable", { body: { password, code } });
  }

  /** Ends the session on the server (best effort) and always forgets the tokens here. */
  async logout(): Promise<void> {
    try {
      if (this.tokens.get()) await this.authedCall("POST", "/v1/auth/logout", { body: {} });
    } finally {
      this.tokens.set(null);
    }
  }

  verifyEmail(token: string): Promise<Record<string, never>> {
    return this.publicCall("POST", "/v1/auth/verify-email", { body: { token } });
  }

  me(): Promise<Me> {
    return this.authedCall("GET", "/v1/auth/me");
  }

  // -- wallet --------------------------------------------------------------------------------
  wallet(): Promise<Wallet> {
    return this.authedCall("GET", "/v1/wallet");
  }

  topUp(amount: bigint, idempotencyKey: string): Promise<MoneyResponse> {
    return this.authedCall("POST", "/v1/wallet/top-ups", {
      body: { amount: amount.toString() },
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  charge(amount: bigint, description: string, idempotencyKey: string): Promise<MoneyResponse> {
    return this.authedCall("POST", "/v1/wallet/charges", {
      body: { amount: amount.toString(), description },
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  refund(chargeId: string, amount: bigint, idempotencyKey: string): Promise<MoneyResponse> {
    return this.authedCall("POST", `/v1/wallet/charges/${encodeURIComponent(chargeId)}/refunds`, {
      body: { amount: amount.toString() },
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  transactions(pageSize: number, pageToken = ""): Promise<TransactionPage> {
    const query = new URLSearchParams({ pageSize: String(pageSize) });
    if (pageToken) query.set("pageToken", pageToken);
    return this.authedCall("GET", `/v1/wallet/transactions?${query.toString()}`);
  }

  // -- plumbing ------------------------------------------------------------------------------
  private async publicCall<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    return parse<T>(await this.send(method, path, options, null));
  }

  private async authedCall<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const used = this.tokens.get();
    if (!used) {
      this.expire();
      throw new ApiError(401, { code: 16, message: "Please sign in." });
    }
    const first = await this.send(method, path, options, used.accessToken);
    if (first.status !== 401 || (await refusesCredentials(first))) return parse<T>(first);

    const fresh = await this.refreshAfter(used);
    if (!fresh) {
      this.expire();
      return parse<T>(first);
    }
    const second = await this.send(method, path, options, fresh.accessToken);
    if (second.status === 401) this.expire();
    return parse<T>(second);
  }

  /**
   * New tokens after `used` was rejected, or null when the session cannot be renewed.
   * Concurrent callers share one refresh; a caller whose tokens were already replaced by
   * another request's refresh just takes the new ones.
   */
  private refreshAfter(used: Tokens): Promise<Tokens | null> {
    const current = this.tokens.get();
    if (!current) return Promise.resolve(null);
    if (current.accessToken !== used.accessToken && !this.refreshing) {
      return Promise.resolve(current);
    }
    if (!this.refreshing) {
      this.refreshing = this.locks
        .request(REFRESH_LOCK, () => this.refreshUnlessRotated(current))
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  /** Under the cross-tab lock: another tab may have rotated `stale` while this one waited;
   * its tokens are in the shared storage, and refreshing `stale` again would be reuse. */
  private refreshUnlessRotated(stale: Tokens): Promise<Tokens | null> {
    const current = this.tokens.reload();
    if (!current) return Promise.resolve(null);
    if (current.refreshToken !== stale.refreshToken) return Promise.resolve(current);
    return this.refresh(current.refreshToken);
  }

  private async refresh(refreshToken: string): Promise<Tokens | null> {
    // Only a refusal of the token itself (400, 401) ends the session. A network failure
    // (NetworkError) or a busy or restarting gateway (429, 5xx: an ApiError) propagates and
    // keeps the session for a later retry.
    const response = await this.send("POST", "/v1/auth/refresh", { body: { refreshToken } }, null);
    if (response.status === 400 || response.status === 401) return null;
    const result = await parse<LoginResponse>(response);
    const tokens = { accessToken: result.accessToken, refreshToken: result.refreshToken };
    this.tokens.set(tokens);
    return tokens;
  }

  /** Forgets the session; tells the app once, however many calls found it dead. */
  private expire(): void {
    if (this.tokens.get() === null) return;
    this.tokens.set(null);
    this.onSessionExpired?.();
  }

  private async send(
    method: string,
    path: string,
    options: CallOptions,
    accessToken: string | null,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const init: RequestInit = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    try {
      return await this.fetchImpl(this.baseUrl + path, init);
    } catch (error) {
      throw new NetworkError(error);
    }
  }
}

function browserLocks(): SharedLock | null {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return null;
  return { request: (name, callback) => locks.request(name, () => callback()) };
}

/** Serialises refreshes within one page, where the Web Locks API is missing. */
function pageLock(): SharedLock {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback, callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

// 401s that refuse what the person typed (a password, a code), not the session's token.
const CREDENTIAL_REFUSALS = new Set(["INVALID_CREDENTIALS", "MFA_CODE_INVALID"]);

/** Whether a 401 refused a password or code typed into a form: the session is fine, and
 * neither a refresh nor signing out would help. */
async function refusesCredentials(response: Response): Promise<boolean> {
  try {
    const body = (await response.clone().json()) as StatusBody;
    const reason = errorReason(Array.isArray(body?.details) ? body.details : []);
    return reason !== undefined && CREDENTIAL_REFUSALS.has(reason);
  } catch {
    return false;
  }
}

async function parse<T>(response: Response): Promise<T> {
  let text = "";
  try {
    text = await response.text();
  } catch (error) {
    throw new NetworkError(error);
  }
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      body && typeof body === "object" ? (body as StatusBody) : undefined,
      `Request failed (${response.status})`,
    );
  }
  if (body === undefined && text) throw new ApiError(response.status, undefined, "Unexpected response");
  return (body ?? {}) as T;
}
