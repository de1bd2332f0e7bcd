"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded by the `st` process).

- Requests are signed in as a new user with money (at FUZZ_BASE_URL), so charges can
  succeed; the fuzzer calls logout too, so a 401 signs in a new user and replays (a new one:
  auth-svc allows an account 10 logins a minute).
- Every money call gets a fresh Idempotency-Key: a key the fuzzer repeats ("0", "A", …) for
  another request is IDEMPOTENCY_KEY_REUSED by design, which says nothing about the
  document. Keys the fuzzer made invalid on purpose (negative cases) are left as they are.
- `request_shape_is_accepted`: a schema-valid request may be declined by a business rule the
  document cannot state (insufficient funds, an unknown charge, a positive amount), with
  that rule's reason; it may never be refused for its shape (malformed JSON, a field of the
  wrong type, a field or header the document allows). The built-in positive-data check then
  allows 400, and this check holds those 400s to a domain reason.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import httpx
import schemathesis

_KEY = re.compile(r"[ \t]*[!-~](?:[ -~]{0,253}[!-~])?[ \t]*")
# Reasons that mean "the request's shape", which a document-valid request must never get.
SHAPE_REASONS = frozenset(
    {
        "MALFORMED_JSON",
        "INVALID_FIELD",
        "INVALID_PATH",
        "FIELD_BELONGS_IN_HEADER",
        "INVALID_HEADER",
        "INVALID_IDEMPOTENCY_KEY",
        "BODY_TOO_LARGE",
    }
)


# BILLING_MAX_AMOUNT's default: the most one call may move.
_MAX_AMOUNT = 100_000_000


@schemathesis.auth(refresh_interval=600)
class TollgateLogin:
    def get(self, case: Any, ctx: Any) -> str:
        account = {"email": f"fuzz-{uuid.uuid4().hex}@example.com", "password": uuid.uuid4().hex}
        with httpx.Client(base_url=os.environ["FUZZ_BASE_URL"], timeout=15) as client:
            client.post("/v1/auth/register", json=account).raise_for_status()
            login = client.post("/v1/auth/login", json=account)
            login.raise_for_status()
            token = str(login.json()["accessToken"])
            for _ in range(10):
                key = uuid.uuid4().hex
                client.post(
                    "/v1/wallet/top-ups",
                    json={"amount": _MAX_AMOUNT},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                ).raise_for_status()
        return token

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def map_headers(ctx: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    key = headers.get("Idempotency-Key") if headers else None
    if headers and isinstance(key, str) and _KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    return headers


@schemathesis.check
def request_shape_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        details = response.json().get("details", [])
    except ValueError:
        raise AssertionError("a 400 without a JSON status body") from None
    reasons = [
        detail.get("reason")
        for detail in details
        if isinstance(detail, dict) and detail.get("@type", "").endswith("google.rpc.ErrorInfo")
    ]
    if not reasons or not all(reasons):
        raise AssertionError(f"a 400 without an ErrorInfo reason: {response.text[:200]}")
    refused = SHAPE_REASONS.intersection(reasons)
    if refused:
        raise AssertionError(
            f"a request the document allows was refused for its shape ({', '.join(refused)}): "
            f"{response.text[:200]}"
        )
    return None
