"""The one place where email-svc's real adapters are wired together."""

from __future__ import annotations

import grpc
from prometheus_client import CollectorRegistry

from email_svc.api import EmailServicer
from email_svc.config import EmailSettings
from email_svc.metrics import EmailMetrics
from email_svc.smtp import SmtpTransport
from email_svc.store import PgSendLog
from email_svc.usecases.retention import purge_send_log
from email_svc.usecases.sending import EmailSender
from tollgate.email.v1 import email_pb2, email_pb2_grpc
from tollgate_kit.db import DatabaseProbe, create_pool
from tollgate_kit.server import GrpcApp

SERVICE_NAME = email_pb2.DESCRIPTOR.services_by_name["EmailService"].full_name


async def build(settings: EmailSettings) -> GrpcApp:
    """email-svc's servicer on a fresh pool; the pool closes when the server stops."""
    pool = await create_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
    )
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
    registry = CollectorRegistry()
    servicer = EmailServicer(sender, EmailMetrics(registry))

    def register(server: grpc.aio.Server) -> None:
        email_pb2_grpc.add_EmailServiceServicer_to_server(servicer, server)

    # Not through the pool: sends hold its connections for a whole SMTP exchange.
    database_ready = DatabaseProbe(settings.database_url)

    async def on_stop() -> None:
        await sender.drain()
        await pool.close()
        await database_ready.close()

    return GrpcApp(
        settings=settings,
        register=register,
        service_names=[SERVICE_NAME],
        registry=registry,
        ready=database_ready,
        background=[
            lambda: purge_send_log(
                send_log, settings.send_log_retention, settings.send_log_purge_interval_seconds
            )
        ],
        on_stop=on_stop,
    )
