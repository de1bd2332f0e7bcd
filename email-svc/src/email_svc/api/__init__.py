"""gRPC entry point of email-svc."""

from email_svc.api.servicer import EmailServicer

__all__ = ["EmailServicer"]
