"""The audit trail of the account-security flows: for each attempt one ``audit`` log line
(who, what, from which client address, with what outcome — never a password, token, code or
secret) and one count in ``auth_credential_changes{flow, result}``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from auth_svc.domain.errors import AuthError
from auth_svc.metrics import AuthMetrics
from tollgate_kit.logs import get_logger

log = get_logger("auth_svc.audit")


@dataclass(slots=True)
class Attempt:
    flow: str
    client: str
    user_id: str | None = None
    # Set by the flow when it ends well in a way worth telling apart ("sent", "taken", …);
    # "success" otherwise, and a refusal's reason (lower-cased) when one is raised.
    outcome: str | None = None


@contextmanager
def audited(
    metrics: AuthMetrics, flow: str, client: str, user_id: str | None = None
) -> Iterator[Attempt]:
    attempt = Attempt(flow=flow, client=client, user_id=user_id)
    try:
        yield attempt
    except AuthError as err:
        attempt.outcome = err.reason.lower()
        raise
    except BaseException:
        attempt.outcome = "error"
        raise
    finally:
        outcome = attempt.outcome or "success"
        metrics.credentials.labels(flow, outcome).inc()
        log.info(
            "audit",
            flow=flow,
            user_id=attempt.user_id,
            client_address=attempt.client,
            outcome=outcome,
        )
