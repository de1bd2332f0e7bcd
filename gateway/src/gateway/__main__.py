"""``python -m gateway``: uvicorn (uvloop + httptools) with ``GATEWAY_WORKERS`` processes.

uvicorn's factory mode builds the app inside each worker (nothing at import time). With
more than one worker, Prometheus' multiprocess mode is switched on before any worker
starts: ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless already set) holds
every worker's samples and ``/metrics`` adds them up, whichever worker serves the scrape.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile

import uvicorn

from gateway.config import GatewaySettings
from gateway.metrics import MULTIPROC_ENV
from tollgate_kit.logs import configure_logging

APP_FACTORY = "gateway.bootstrap:create_app"


def main() -> int:
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    owned_dir: str | None = None
    if settings.workers > 1 and not os.environ.get(MULTIPROC_ENV):
        owned_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
        os.environ[MULTIPROC_ENV] = owned_dir
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_config=None,
            server_header=False,
            # The client address is resolved by GATEWAY_TRUSTED_PROXIES alone; uvicorn's own
            # X-Forwarded-For handling (on by default, trusting loopback) would let any local
            # peer choose the address the rate limits key on.
            proxy_headers=False,
            limit_concurrency=settings.max_concurrency,
            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        )
    finally:
        if owned_dir is not None:
            shutil.rmtree(owned_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
