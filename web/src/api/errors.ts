// Gateway errors are grpc-gateway's JSON status: {code, message, details: [{"@type", reason, …}]}.
// `reason` (google.rpc.ErrorInfo) is the machine-readable cause the UI maps to plain words.

export interface ErrorDetail {
  "@type"?: string;
  reason?: string;
  domain?: string;
  metadata?: Record<string, string>;
  [key: string]: unknown;
}

export interface StatusBody {
  code?: number;
  message?: string;
  details?: ErrorDetail[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: number | undefined;
  readonly reason: string | undefined;
  readonly details: ErrorDetail[];
  /** True when `message` came from the gateway rather than being made up here. */
  readonly fromServer: boolean;

  constructor(status: number, body: StatusBody | undefined, fallback = "Request failed") {
    super(body?.message || fallback);
    this.fromServer = Boolean(body?.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.code;
    this.details = Array.isArray(body?.details) ? body.details : [];
    this.reason = errorReason(this.details);
  }
}

/** Thrown when the gateway cannot be reached at all (offline, DNS, CORS, aborted). */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super("Network error", { cause });
    this.name = "NetworkError";
  }
}

const ERROR_INFO = "google.rpc.ErrorInfo";

export function errorReason(details: readonly ErrorDetail[]): string | undefined {
  const info = details.find(
    (d) => typeof d["@type"] === "string" && d["@type"].endsWith(ERROR_INFO),
  );
  return typeof info?.reason === "string" && info.reason ? info.reason : undefined;
}

const FRIENDLY: Record<string, string> = {
  INSUFFICIENT_FUNDS: "Your balance is too low for this charge. Top up first.",
  REFUND_EXCEEDS_CHARGE: "That is more than is left to refund on this charge.",
  BALANCE_LIMIT_EXCEEDED: "Your wallet cannot hold that much. Spend some of it first.",
  NOT_REFUNDABLE: "Only charges can be refunded.",
  CHARGE_NOT_FOUND: "That charge no longer exists.",
  IDEMPOTENCY_KEY_REUSED:
    "This request was already sent with different details. Please submit it again.",
  INVALID_AMOUNT: "Enter an amount greater than zero and within the allowed limit.",
  INVALID_DESCRIPTION: "The description is too long or contains invalid characters.",
  INVALID_CREDENTIALS: "The email or password is incorrect.",
  TOO_MANY_LOGIN_ATTEMPTS: "Too many sign-in attempts. Wait a minute and try again.",
  EMAIL_TAKEN: "An account with this email already exists. Sign in instead.",
  INVALID_EMAIL: "Enter a valid email address.",
  INVALID_PASSWORD: "Choose a password of at least 8 characters (at most 72 bytes).",
  VERIFICATION_TOKEN_EXPIRED: "This verification link has expired.",
  VERIFICATION_TOKEN_INVALID: "This verification link is not valid.",
  VERIFICATION_TOKEN_USED: "This email address is already verified.",
  SESSION_NOT_FOUND: "Your session has ended. Please sign in again.",
  SESSION_REVOKED: "Your session has ended. Please sign in again.",
  REFRESH_TOKEN_REUSED: "Your session has ended. Please sign in again.",
  TOKEN_INVALID: "Your session has ended. Please sign in again.",
  TOKEN_MISSING: "Please sign in.",
  INVALID_PAGE_TOKEN: "The list changed; reload the page.",
  RESET_TOKEN_INVALID: "This reset link is not valid any more. Ask for a new one.",
  EMAIL_CHANGE_TOKEN_INVALID: "This link is not valid any more. Ask for the change again.",
  MFA_CODE_INVALID: "That code is wrong or was already used. Try the next one.",
  MFA_CHALLENGE_INVALID: "The sign-in took too long. Please sign in again.",
  MFA_ALREADY_ENABLED: "Two-step sign-in is already on.",
  MFA_NOT_ENABLED: "Two-step sign-in is not on.",
};

const BY_STATUS: Record<number, string> = {
  401: "Please sign in again.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  413: "The request is too large.",
  429: "Too many requests. Wait a moment and try again.",
  503: "The service is temporarily unavailable. Try again shortly.",
  504: "The service took too long to answer. Try again.",
};

/** The sentence to show a person for an error of any kind. */
export function friendlyError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.reason && FRIENDLY[error.reason]) return FRIENDLY[error.reason]!;
    // Server messages for 4xx are written for clients; 5xx ones are generic by design.
    const ownWords = error.status === 401 || error.status === 413 || error.status === 429;
    if (error.fromServer && error.status >= 400 && error.status < 500 && !ownWords) {
      return error.message;
    }
    return BY_STATUS[error.status] ?? "Something went wrong. Please try again.";
  }
  if (error instanceof NetworkError) return "Can't reach Tollgate. Check your connection and try again.";
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Please try again.";
}
