"""The send log's retention: a background task of every email-svc replica."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from email_svc.domain import SendLogUnavailable
from email_svc.usecases.ports import Purging
from tollgate_kit.logs import get_logger
from tollgate_kit.tasks import stop_if_cancelled

log = get_logger(__name__)


async def purge_send_log(send_log: Purging, retention: timedelta, interval: float) -> None:
    """Every ``interval`` seconds, forget sends older than ``retention`` (the records hold
    recipients' addresses). Until cancelled; database trouble waits for the next round.
    Replicas may purge at once: rows one of them holds are skipped by the others."""
    while True:
        stop_if_cancelled()
        try:
            purged = await send_log.purge(retention)
        except SendLogUnavailable as err:
            log.warning("send_log_purge_failed", error=type(err.__cause__).__name__)
        else:
            if purged:
                log.info("send_log_purged", rows=purged)
        await asyncio.sleep(interval)
