// One Idempotency-Key per submission of a money form. The key is made when the form is first
// submitted and reused while the outcome is unknown — a double click, or a retry after a
// network error or a 5xx — so the server sees one request and never debits twice. It is
// dropped once the server gave a definite answer, or when the form's content changes (the
// same key with a different request would be rejected as IDEMPOTENCY_KEY_REUSED).

import { ApiError } from "./api/errors";

export class SubmissionKey {
  private key: string | null = null;
  private fingerprint = "";

  constructor(private readonly newKey: () => string = () => crypto.randomUUID()) {}

  /** The key for a submission of this content (same content, same pending key). */
  forRequest(fingerprint: string): string {
    if (this.key === null || fingerprint !== this.fingerprint) {
      this.key = this.newKey();
      this.fingerprint = fingerprint;
    }
    return this.key;
  }

  /** Records the outcome of the request sent with ``sent``: keep the key only when it is
   * unknown whether the server acted. An answer for a key that is no longer the pending one
   * (the content changed while it was in flight) leaves the newer key alone. */
  settle(sent: string, error?: unknown): void {
    if (sent !== this.key) return;
    if (error === undefined || !outcomeUnknown(error)) this.key = null;
  }
}

export function outcomeUnknown(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429;
  return true; // NetworkError or anything unexpected: the request may have been applied.
}
