"""The one place where email-svc's real adapters are wired together."""

from __future__ import annotations

from email_svc.api import EmailServicer
from email_svc.config import EmailSettings
from email_svc.metrics import EmailMetrics
from email_svc.smtp import SmtpTransport
from email_svc.store import PgSendLog
from email_svc.usecases.retention import purge_send_log
from email_svc.usecases.sending import EmailSender
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_kit.db import create_pool
from tollgate_kit.server import GrpcApp
from tollgate_kit.service import Assembly, Served, assemble

SERVICE_NAME = email_pb2.DESCRIPTOR.services_by_name["EmailService"].full_name


async def build(settings: EmailSettings) -> GrpcApp:
    """email-svc's servicer on a fresh pool; the pool closes when the server stops."""
    return await assemble(settings, _wire)


async def _wire(parts: Assembly, settings: EmailSettings) -> GrpcApp:
    pool = await create_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
    )
    parts.opened(pool, pool.close)
    parts.database_probe(settings.database_url)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    transport = SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        timeout_seconds=settings.smtp_timeout_seconds,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=password,
    )
    send_log = PgSendLog(pool, lease_seconds=settings.send_lease_seconds)
    sender = EmailSender(
        send_log,
        transport,
        sender=settings.sender,
        busy_wait_seconds=settings.busy_wait_seconds,
    )
    # Sends in flight finish before the pool closes.
    parts.opened(sender, sender.drain)
    servicer = EmailServicer(sender, EmailMetrics(parts.registry))
    return parts.app(
        [Served(SERVICE_NAME, email_pb2_grpc.add_EmailServiceServicer_to_server, servicer)],
        background=[
            lambda: purge_send_log(
                send_log, settings.send_log_retention, settings.send_log_purge_interval_seconds
            )
        ],
    )
