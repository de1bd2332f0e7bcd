"""One realistic example per request and response message of the public API (protojson:
lowerCamelCase names, 64-bit integers as strings), shown in ``/openapi.json`` and checked
against the message's schema by ``gateway/tests/unit/test_openapi_document.py``."""

from __future__ import annotations

from typing import Any

_AUTH = "tollgate.auth.v1."
_BILLING = "tollgate.billing.v1."
_USER = "3f2b9c1e-6c1e-4b3d-9a55-2f8e1c4d7b60"
_SESSION = "8d1e2f3a-1d2c-4e4f-8a91-6b0c2d3e4f51"
_ACCESS = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMTkzYTRmMiJ9.c2lnbmF0dXJl"
)
_REFRESH = "rt_5Qm1b8ZxWc3tVn7LpR2kY9hD4sF6gJ0a"
_CHARGE = {
    "id": "c41d7e2a-8b7a-4c6d-9e0f-1a2b3c4d5e6f",
    "amount": "-1500",
    "kind": "CHARGE",
    "description": "Pro plan, December 2026",
    "refundOf": "",
    "createdAt": "2026-12-06T20:15:00Z",
    "currency": "USD",
}
_TOKENS = {
    "accessToken": _ACCESS,
    "refreshToken": _REFRESH,
    "tokenType": "Bearer",
    "expiresIn": 900,
}

EXAMPLES: dict[str, Any] = {
    _AUTH + "RegisterRequest": {"email": "ada@example.com", "password": "correct horse battery"},
    _AUTH + "RegisterResponse": {
        "userId": _USER,
        "email": "ada@example.com",
        "accountState": "ACTIVE",
    },
    _AUTH + "LoginRequest": {"email": "ada@example.com", "password": "correct horse battery"},
    _AUTH + "LoginResponse": _TOKENS,
    _AUTH + "RefreshRequest": {"refreshToken": _REFRESH},
    _AUTH + "RefreshResponse": _TOKENS,
    _AUTH + "LogoutRequest": {},
    _AUTH + "LogoutResponse": {},
    _AUTH + "MeResponse": {
        "userId": _USER,
        "email": "ada@example.com",
        "emailVerified": True,
        "createdAt": "2026-11-30T09:12:44Z",
        "accountState": "ACTIVE",
    },
    _AUTH + "VerifyEmailRequest": {"token": "vt_Jq4nX8cR1mZ7wB3yT6kP0sL2"},
    _AUTH + "VerifyEmailResponse": {},
    _AUTH + "GetJwksResponse": {
        "keys": [
            {
                "kty": "OKP",
                "kid": "k1",
                "use": "sig",
                "alg": "EdDSA",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            }
        ]
    },
    _AUTH + "ListSessionsResponse": {
        "sessions": [
            {
                "sessionId": _SESSION,
                "createdAt": "2026-12-06T08:00:00Z",
                "lastRefreshedAt": "2026-12-06T20:00:00Z",
                "current": True,
            }
        ]
    },
    _AUTH + "RevokeSessionRequest": {"sessionId": _SESSION},
    _AUTH + "RevokeSessionResponse": {},
    _AUTH + "CloseAccountRequest": {"password": "correct horse battery"},
    _AUTH + "CloseAccountResponse": {"accountState": "CLOSED"},
    _BILLING + "GetWalletResponse": {"balance": "48500", "currency": "USD"},
    _BILLING + "TopUpRequest": {"amount": "50000", "idempotencyKey": "topup-2026-12-06-0001"},
    _BILLING + "TopUpResponse": {
        "transaction": {
            **_CHARGE,
            "id": "5b6c7d8e-2a1b-4c3d-8e4f-5a6b7c8d9e0f",
            "amount": "50000",
            "kind": "TOP_UP",
            "description": "",
        },
        "balance": "50000",
    },
    _BILLING + "ChargeRequest": {
        "amount": "1500",
        "description": "Pro plan, December 2026",
        "idempotencyKey": "order-2026-12-0042",
    },
    _BILLING + "ChargeResponse": {"transaction": _CHARGE, "balance": "48500"},
    _BILLING + "RefundRequest": {
        "chargeId": _CHARGE["id"],
        "amount": "500",
        "idempotencyKey": "refund-2026-12-0042-1",
    },
    _BILLING + "RefundResponse": {
        "transaction": {
            **_CHARGE,
            "id": "e9f0a1b2-3c4d-4e5f-9a0b-1c2d3e4f5a6b",
            "amount": "500",
            "kind": "REFUND",
            "description": "",
            "refundOf": _CHARGE["id"],
        },
        "balance": "49000",
    },
    _BILLING + "ListTransactionsRequest": {"pageSize": 20, "pageToken": ""},
    _BILLING + "ListTransactionsResponse": {
        "transactions": [_CHARGE],
        "nextPageToken": "djEuMjAyNi0xMi0wNlQyMDoxNTowMFo",
    },
}
