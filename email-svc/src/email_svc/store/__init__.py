"""PostgreSQL adapter of email-svc."""

from email_svc.store.send_log import PgSendLog

__all__ = ["PgSendLog"]
