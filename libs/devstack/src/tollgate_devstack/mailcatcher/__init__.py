"""A development SMTP server with a Mailpit-compatible HTTP API.

``python -m tollgate_devstack.mailcatcher [--host H] [--smtp-port 1025] [--http-port 8025]``
runs it; :class:`MailCatcher` runs it inside a test's event loop; :class:`MailpitClient`
reads it (or a real Mailpit) over HTTP.
"""

from tollgate_devstack.mailcatcher._catcher import HTTP_PORT, SMTP_PORT, MailCatcher
from tollgate_devstack.mailcatcher._messages import Address, CaughtMessage, MessageStore
from tollgate_devstack.mailcatcher.client import MailpitClient

__all__ = [
    "HTTP_PORT",
    "SMTP_PORT",
    "Address",
    "CaughtMessage",
    "MailCatcher",
    "MailpitClient",
    "MessageStore",
]
