"""``python -m tollgate_devstack.mailcatcher``: run the development mail catcher until
SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from tollgate_devstack.mailcatcher._catcher import HTTP_PORT, SMTP_PORT, MailCatcher
from tollgate_devstack.mailcatcher._messages import CaughtMessage
from tollgate_kit.logs import configure_logging, get_logger

log = get_logger("tollgate_devstack.mailcatcher")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tollgate_devstack.mailcatcher",
        description="Development SMTP server; lists received mail over a Mailpit-style API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--smtp-port", type=int, default=SMTP_PORT)
    parser.add_argument("--http-port", type=int, default=HTTP_PORT)
    parser.add_argument("--store-dir", type=Path, help="also keep messages here as .eml files")
    parser.add_argument(
        "--max", dest="max_messages", type=int, default=500, help="keep at most N (0: all)"
    )
    parser.add_argument(
        "--ignore-duplicate-ids",
        action="store_true",
        help="drop a message whose Message-ID was already received (as Mailpit does)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def _log_message(message: CaughtMessage) -> None:
    log.info(
        "mail_received",
        id=message.id,
        message_id=message.message_id,
        to=[a.address for a in message.to] or message.envelope_to,
        subject=message.subject,
        size=message.size,
    )


async def _run(args: argparse.Namespace) -> None:
    catcher = MailCatcher(
        host=args.host,
        smtp_port=args.smtp_port,
        http_port=args.http_port,
        store_dir=args.store_dir,
        max_messages=args.max_messages,
        ignore_duplicate_ids=args.ignore_duplicate_ids,
        on_message=_log_message,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await catcher.start()
    log.info(
        "mailcatcher_started",
        smtp=f"{args.host}:{catcher.smtp_port}",
        url=catcher.http_url,
        api=f"{catcher.http_url}/api/v1/messages",
    )
    try:
        await stop.wait()
    finally:
        await catcher.stop()
        log.info("mailcatcher_stopped")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    configure_logging("mailcatcher", args.log_level)
    # aiosmtpd logs every SMTP command at INFO; this catcher logs one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
