"""``python -m auth_svc`` serves; ``python -m auth_svc migrate`` applies the migrations."""

from __future__ import annotations

import asyncio
import sys

from auth_svc.bootstrap import build
from auth_svc.config import AuthSettings
from tollgate_kit.db import migrations_dir, upgrade
from tollgate_kit.logs import configure_logging, get_logger
from tollgate_kit.server import serve
from tollgate_kit.telemetry import configure_telemetry, instrument_clients

USAGE = "usage: python -m auth_svc [migrate]"


async def _serve(settings: AuthSettings) -> None:
    app = await build(settings)
    await serve(app)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["migrate"]):
        print(USAGE, file=sys.stderr)
        return 2
    settings = AuthSettings()
    configure_logging(settings.service_name, settings.log_level)
    if args == ["migrate"]:
        migrations = migrations_dir("auth_svc", settings.migrations_dir)
        asyncio.run(upgrade(settings.database_url, migrations))
        get_logger(__name__).info("migrated", migrations=str(migrations))
        return 0
    configure_telemetry(settings.service_name)
    instrument_clients()
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
