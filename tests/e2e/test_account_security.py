"""Issue 15 end to end: password reset, password change, email change and the TOTP second
factor through the real gateway, auth-svc (outbox relay), email-svc and the dev mail catcher,
on real PostgreSQL and Redis — the successful flows and their refusals."""

from __future__ import annotations

import asyncio
import hashlib
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pyotp
import pytest

from tollgate_devstack.mailcatcher import MailpitClient
from tollgate_devstack.stack import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
MAIL_WITHIN = 30.0
RESET_SUBJECT = "Reset your Tollgate password"
MFA_ON_SUBJECT = "Two-step sign-in is on for your Tollgate account"
MFA_OFF_SUBJECT = "Two-step sign-in is off for your Tollgate account"
CHANGED_SUBJECT = "Your Tollgate password was changed"


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.http_url("gateway"), timeout=20) as client:
        yield client


@pytest.fixture
async def mail(stack: Stack) -> AsyncIterator[MailpitClient]:
    async with MailpitClient(stack.http_url("mailcatcher")) as client:
        yield client


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def _reason(response: httpx.Response) -> str:
    return str(response.json()["details"][0]["reason"])


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def _signed_up(api: httpx.AsyncClient, email: str) -> dict[str, Any]:
    registered = await api.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    return await _login(api, email)


async def _login(api: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await api.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _link_token(mail: MailpitClient, to: str, subject: str, screen: str) -> str:
    message = await mail.wait_for_message(to, subject=subject, within=MAIL_WITHIN)
    links = set(re.findall(r"https?://\S+/app/" + screen + r"\?\S+", message.text))
    assert len(links) == 1, message.text
    (token,) = parse_qs(urlsplit(links.pop()).query)["token"]
    return token


async def _ended(api: httpx.AsyncClient, tokens: dict[str, Any]) -> bool:
    """The session of ``tokens`` is over: its refresh token no longer works."""
    refresh = await api.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    return refresh.status_code == 401


# -- password reset --------------------------------------------------------------------------


async def test_password_reset_mails_a_link_that_sets_the_password_and_ends_sessions(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("reset")
    session = await _signed_up(api, email)

    first = await api.post("/v1/auth/password-reset", json={"email": email})
    assert first.status_code == 200, first.text
    old_token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    await mail.delete_messages([m.id for m in await mail.messages() if email in m.recipients])
    again = await api.post("/v1/auth/password-reset", json={"email": email.upper()})
    assert again.status_code == 200, again.text
    token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    assert token != old_token

    # A newer link voids the older one; the password rules are registration's.
    voided = await api.post(
        "/v1/auth/password-reset:confirm", json={"token": old_token, "newPassword": NEW_PASSWORD}
    )
    assert (voided.status_code, _reason(voided)) == (400, "RESET_TOKEN_INVALID"), voided.text
    short = await api.post(
        "/v1/auth/password-reset:confirm", json={"token": token, "newPassword": "short"}
    )
    assert (short.status_code, _reason(short)) == (400, "INVALID_PASSWORD"), short.text

    done = await api.post(
        "/v1/auth/password-reset:confirm", json={"token": token, "newPassword": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert await _ended(api, session)
    await mail.wait_for_message(email, subject=CHANGED_SUBJECT, within=MAIL_WITHIN)
    old = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401, old.text
    await _login(api, email, NEW_PASSWORD)

    for used_or_unknown in (token, "not-a-token-" + uuid.uuid4().hex):
        refused = await api.post(
            "/v1/auth/password-reset:confirm",
            json={"token": used_or_unknown, "newPassword": PASSWORD},
        )
        assert (refused.status_code, _reason(refused)) == (400, "RESET_TOKEN_INVALID")


async def test_an_expired_reset_link_is_refused(
    stack: Stack, api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("expired")
    await _signed_up(api, email)
    assert (await api.post("/v1/auth/password-reset", json={"email": email})).status_code == 200
    token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    # 30 minutes pass, as far as the link's row can tell.
    conn = await asyncpg.connect(stack.database_dsn("auth"))
    try:
        status = await conn.execute(
            "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'"
            " WHERE token_hash = $1",
            hashlib.sha256(token.encode()).digest(),
        )
    finally:
        await conn.close()
    assert status == "UPDATE 1"
    expired = await api.post(
        "/v1/auth/password-reset:confirm", json={"token": token, "newPassword": NEW_PASSWORD}
    )
    assert (expired.status_code, _reason(expired)) == (400, "RESET_TOKEN_INVALID")
    await _login(api, email)  # the password did not change


async def test_concurrent_confirms_with_one_token_succeed_exactly_once(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("race")
    await _signed_up(api, email)
    assert (await api.post("/v1/auth/password-reset", json={"email": email})).status_code == 200
    token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    passwords = [f"racing password {n}" for n in range(5)]
    answers = await asyncio.gather(
        *(
            api.post(
                "/v1/auth/password-reset:confirm", json={"token": token, "newPassword": password}
            )
            for password in passwords
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 400, 400, 400, 400], [a.text for a in answers]
    assert {_reason(a) for a in answers if a.status_code == 400} == {"RESET_TOKEN_INVALID"}
    winner = passwords[[a.status_code for a in answers].index(200)]
    await _login(api, email, winner)


async def test_reset_answers_the_same_for_existing_and_unknown_addresses(
    api: httpx.AsyncClient,
) -> None:
    """Same status, same body, and response-time medians within 10 ms + 25 % of the slower
    one, over interleaved requests (each address asked once, so no limit is met)."""
    rounds = 15
    existing = [_email("exists") for _ in range(rounds)]
    for email in existing:
        registered = await api.post(
            "/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 200, registered.text
    unknown = [_email("nobody") for _ in range(rounds)]
    timings: dict[str, list[float]] = {"existing": [], "unknown": []}
    bodies: dict[str, set[tuple[int, bytes]]] = {"existing": set(), "unknown": set()}
    for known, nobody in zip(existing, unknown, strict=True):
        for kind, email in (("existing", known), ("unknown", nobody)):
            started = time.perf_counter()
            response = await api.post("/v1/auth/password-reset", json={"email": email})
            timings[kind].append(time.perf_counter() - started)
            bodies[kind].add((response.status_code, response.content))
    assert bodies["existing"] == bodies["unknown"] == {(200, b"{}")}, bodies
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    slower = max(medians.values())
    assert abs(medians["existing"] - medians["unknown"]) <= 0.010 + 0.25 * slower, medians


async def test_reset_requests_are_limited_per_email_and_per_address_like_login(
    gateway_replica: Any,
) -> None:
    """A gateway with the login limits of 2 per email and 4 per client address (burst): the
    third request for one address is refused, another address still goes through until the
    client's own budget is spent. The replica shares the suite's Redis, so the client is an
    address of its own (named by X-Forwarded-For from a trusted proxy): the suite's other
    tests keep their budgets."""
    email = _email("limited")
    limits = {
        "GATEWAY_LOGIN_RATE_LIMIT_BURST": "2",
        "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": "1",
        "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_BURST": "4",
        "GATEWAY_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1",
        "GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
    }
    client = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    with gateway_replica("reset_limits", limits) as url:
        forwarded = {"X-Forwarded-For": client}
        async with httpx.AsyncClient(base_url=url, timeout=20, headers=forwarded) as limited:

            async def ask(address: str) -> int:
                response = await limited.post("/v1/auth/password-reset", json={"email": address})
                return response.status_code

            assert [await ask(email) for _ in range(3)] == [200, 200, 429]
            assert [await ask(_email("other")) for _ in range(2)] == [200, 429]


# -- password change -------------------------------------------------------------------------


async def test_password_change_keeps_the_callers_session_and_ends_the_others(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("change")
    mine = await _signed_up(api, email)
    other = await _login(api, email)

    wrong = await api.post(
        "/v1/auth/me/password",
        json={"currentPassword": "not the password", "newPassword": NEW_PASSWORD},
        headers=_bearer(mine),
    )
    assert (wrong.status_code, _reason(wrong)) == (401, "INVALID_CREDENTIALS"), wrong.text
    changed = await api.post(
        "/v1/auth/me/password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=_bearer(mine),
    )
    assert changed.status_code == 200, changed.text
    assert await _ended(api, other)
    assert (await api.get("/v1/auth/me", headers=_bearer(mine))).status_code == 200
    assert not await _ended(api, mine)
    await mail.wait_for_message(email, subject=CHANGED_SUBJECT, within=MAIL_WITHIN)
    await _login(api, email, NEW_PASSWORD)

    # Wrong current passwords count against the login limit (10 a minute per account and
    # address; 5 attempts so far).
    fresh = await _login(api, email, NEW_PASSWORD)
    answers = [
        await api.post(
            "/v1/auth/me/password",
            json={"currentPassword": "still not it", "newPassword": PASSWORD},
            headers=_bearer(fresh),
        )
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429], [a.text for a in answers]
    limited = await api.post("/v1/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert (limited.status_code, _reason(limited)) == (429, "TOO_MANY_LOGIN_ATTEMPTS")


async def test_a_password_change_voids_reset_links_mailed_before_it(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("change-voids")
    mine = await _signed_up(api, email)
    assert (await api.post("/v1/auth/password-reset", json={"email": email})).status_code == 200
    token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    changed = await api.post(
        "/v1/auth/me/password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=_bearer(mine),
    )
    assert changed.status_code == 200, changed.text

    stale = await api.post(
        "/v1/auth/password-reset:confirm", json={"token": token, "newPassword": PASSWORD}
    )
    assert (stale.status_code, _reason(stale)) == (400, "RESET_TOKEN_INVALID"), stale.text
    await _login(api, email, NEW_PASSWORD)


# -- email change ----------------------------------------------------------------------------


async def test_email_change_moves_the_account_once_the_link_is_followed(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email, new_email = _email("before"), _email("after")
    tokens = await _signed_up(api, email)
    wrong = await api.post(
        "/v1/auth/me/email",
        json={"password": "not the password", "newEmail": new_email},
        headers=_bearer(tokens),
    )
    assert (wrong.status_code, _reason(wrong)) == (401, "INVALID_CREDENTIALS"), wrong.text
    asked = await api.post(
        "/v1/auth/me/email",
        json={"password": PASSWORD, "newEmail": new_email},
        headers=_bearer(tokens),
    )
    assert asked.status_code == 200, asked.text
    token = await _link_token(
        mail, new_email, "Confirm your new Tollgate email address", "confirm-email-change"
    )
    await mail.wait_for_message(
        email, subject="A change of your Tollgate email address was requested", within=MAIL_WITHIN
    )
    me = (await api.get("/v1/auth/me", headers=_bearer(tokens))).json()
    assert me["email"] == email  # not before the link is followed

    confirmed = await api.post("/v1/auth/email-change:confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    me = (await api.get("/v1/auth/me", headers=_bearer(tokens))).json()
    assert (me["email"], me["emailVerified"]) == (new_email, True)
    await _login(api, new_email)
    gone = await api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert gone.status_code == 401
    reused = await api.post("/v1/auth/email-change:confirm", json={"token": token})
    assert (reused.status_code, _reason(reused)) == (400, "EMAIL_CHANGE_TOKEN_INVALID")


async def test_a_taken_address_is_refused_and_only_its_owner_is_told(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email, owner = _email("mover"), _email("owner")
    tokens = await _signed_up(api, email)
    await _signed_up(api, owner)
    free = await api.post(
        "/v1/auth/me/email",
        json={"password": PASSWORD, "newEmail": _email("free")},
        headers=_bearer(tokens),
    )
    taken = await api.post(
        "/v1/auth/me/email",
        json={"password": PASSWORD, "newEmail": owner.upper()},
        headers=_bearer(tokens),
    )
    # The requester cannot tell a taken address from a free one.
    assert (taken.status_code, taken.content) == (free.status_code, free.content) == (200, b"{}")
    notice = await mail.wait_for_message(
        owner, subject="Someone tried to use your email address on Tollgate", within=MAIL_WITHIN
    )
    assert "/app/" not in notice.text  # no link to follow
    me = (await api.get("/v1/auth/me", headers=_bearer(tokens))).json()
    assert me["email"] == email


# -- TOTP ------------------------------------------------------------------------------------


def _code(secret: str, steps_ahead: int = 0) -> str:
    return str(pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead))


async def _enrolled(api: httpx.AsyncClient, email: str) -> tuple[dict[str, Any], str, list[str]]:
    """A signed-up account with TOTP on: its session, secret and recovery codes."""
    tokens = await _signed_up(api, email)
    enrolled = await api.post("/v1/auth/me/mfa:enroll", json={}, headers=_bearer(tokens))
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    secret = body["secret"]
    assert body["otpauthUri"].startswith("otpauth://totp/Tollgate:")
    assert f"secret={secret}" in body["otpauthUri"]
    assert body["qrCode"].startswith("data:image/svg+xml")
    wrong = await api.post(
        "/v1/auth/me/mfa:confirm", json={"code": "000000"}, headers=_bearer(tokens)
    )
    assert (wrong.status_code, _reason(wrong)) == (401, "MFA_CODE_INVALID"), wrong.text
    confirmed = await api.post(
        "/v1/auth/me/mfa:confirm", json={"code": _code(secret)}, headers=_bearer(tokens)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recoveryCodes"]
    assert len(set(codes)) == 10
    return tokens, secret, codes


async def _challenge(api: httpx.AsyncClient, email: str) -> str:
    first = await _login(api, email)
    assert (first["mfaRequired"], first["accessToken"]) == (True, ""), first
    return str(first["mfaToken"])


async def _second_step(api: httpx.AsyncClient, challenge: str, code: str) -> httpx.Response:
    return await api.post("/v1/auth/login:mfa", json={"mfaToken": challenge, "code": code})


async def test_totp_login_takes_a_code_once_and_a_recovery_code_once(
    api: httpx.AsyncClient, mail: MailpitClient
) -> None:
    email = _email("totp")
    tokens, secret, codes = await _enrolled(api, email)
    me = (await api.get("/v1/auth/me", headers=_bearer(tokens))).json()
    assert me["mfaEnabled"] is True
    turned_on = await mail.wait_for_message(email, subject=MFA_ON_SUBJECT, within=MAIL_WITHIN)
    assert "http" not in turned_on.text  # a notice, nothing to follow

    challenge = await _challenge(api, email)
    wrong = await _second_step(api, challenge, "123456" if _code(secret) != "123456" else "654321")
    assert (wrong.status_code, _reason(wrong)) == (401, "MFA_CODE_INVALID")
    # The code that confirmed the enrollment is spent; the next step's is good once.
    replayed = await _second_step(api, challenge, _code(secret))
    assert (replayed.status_code, _reason(replayed)) == (401, "MFA_CODE_INVALID")
    code = _code(secret, steps_ahead=1)
    signed_in = await _second_step(api, challenge, code)
    assert signed_in.status_code == 200, signed_in.text
    assert (await api.get("/v1/auth/me", headers=_bearer(signed_in.json()))).status_code == 200
    used = await _second_step(api, challenge, code)
    assert (used.status_code, _reason(used)) == (401, "MFA_CHALLENGE_INVALID")
    again = await _second_step(api, await _challenge(api, email), code)
    assert (again.status_code, _reason(again)) == (401, "MFA_CODE_INVALID")

    recovered = await _second_step(api, await _challenge(api, email), codes[0].upper())
    assert recovered.status_code == 200, recovered.text
    twice = await _second_step(api, await _challenge(api, email), codes[0])
    assert (twice.status_code, _reason(twice)) == (401, "MFA_CODE_INVALID")

    refused = await api.post(
        "/v1/auth/me/mfa:disable",
        json={"password": "not the password", "code": codes[1]},
        headers=_bearer(tokens),
    )
    assert (refused.status_code, _reason(refused)) == (401, "INVALID_CREDENTIALS")
    disabled = await api.post(
        "/v1/auth/me/mfa:disable",
        json={"password": PASSWORD, "code": codes[1]},
        headers=_bearer(tokens),
    )
    assert disabled.status_code == 200, disabled.text
    assert (await api.get("/v1/auth/me", headers=_bearer(tokens))).json()["mfaEnabled"] is False
    assert (await _login(api, email))["accessToken"]
    await mail.wait_for_message(email, subject=MFA_OFF_SUBJECT, within=MAIL_WITHIN)


async def test_second_factor_codes_are_throttled_per_account(api: httpx.AsyncClient) -> None:
    email = _email("guess")
    _, secret, _ = await _enrolled(api, email)  # two codes tried
    challenge = await _challenge(api, email)
    good = _code(secret, steps_ahead=1)
    guesses = [str(n).zfill(6) for n in range(100) if str(n).zfill(6) != good][:9]
    answers = [await _second_step(api, challenge, guess) for guess in guesses]
    assert {a.status_code for a in answers[:8]} == {401}
    assert (answers[8].status_code, _reason(answers[8])) == (429, "TOO_MANY_LOGIN_ATTEMPTS")
    # Even the right code waits for the window.
    assert (await _second_step(api, challenge, good)).status_code == 429


# -- GraphQL ---------------------------------------------------------------------------------


async def test_the_flows_over_graphql(api: httpx.AsyncClient, mail: MailpitClient) -> None:
    email = _email("graphql")
    tokens = await _signed_up(api, email)

    async def graphql(query: str, auth: bool = True) -> dict[str, Any]:
        headers = _bearer(tokens) if auth else {}
        response = await api.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    asked = await graphql(f'mutation {{ requestPasswordReset(email: "{email}") }}', auth=False)
    assert asked == {"data": {"requestPasswordReset": True}}
    token = await _link_token(mail, email, RESET_SUBJECT, "reset-password")
    wrong = await graphql(
        'mutation { changePassword(currentPassword: "nope nope", newPassword: "whatever1") }'
    )
    assert wrong["errors"][0]["extensions"]["reason"] == "INVALID_CREDENTIALS"
    enrollment = await graphql("mutation { enrollMfa { secret otpauthUri qrCode } }")
    secret = enrollment["data"]["enrollMfa"]["secret"]
    codes = await graphql(f'mutation {{ confirmMfa(code: "{_code(secret)}") {{ recoveryCodes }} }}')
    assert len(codes["data"]["confirmMfa"]["recoveryCodes"]) == 10
    assert (await graphql("{ me { mfaEnabled } }"))["data"] == {"me": {"mfaEnabled": True}}
    reset = await graphql(
        f'mutation {{ confirmPasswordReset(token: "{token}", newPassword: "{NEW_PASSWORD}") }}',
        auth=False,
    )
    assert reset == {"data": {"confirmPasswordReset": True}}
    login = await graphql(
        f'mutation {{ login(email: "{email}", password: "{NEW_PASSWORD}")'
        " { accessToken mfaRequired mfaToken } }",
        auth=False,
    )
    step = login["data"]["login"]
    assert (step["accessToken"], step["mfaRequired"]) == ("", True)
    done = await graphql(
        f'mutation {{ completeMfaLogin(mfaToken: "{step["mfaToken"]}",'
        f' code: "{_code(secret, 1)}") {{ accessToken mfaRequired }} }}',
        auth=False,
    )
    assert done["data"]["completeMfaLogin"]["accessToken"], done
