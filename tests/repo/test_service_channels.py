"""Every channel from one service to another goes through tollgate_kit.mtls.open_channel and
every gRPC port through the runner: a plaintext channel or port added by hand would be
refused by (or bypass) the mutual TLS the deployments turn on."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "auth-svc" / "src",
    ROOT / "billing-svc" / "src",
    ROOT / "email-svc" / "src",
    ROOT / "gateway" / "src",
    ROOT / "libs" / "kit" / "src",
]
# The two places plaintext is decided: when no TLS files are configured.
ALLOWED = {
    ROOT / "libs" / "kit" / "src" / "tollgate_kit" / "mtls.py",
    ROOT / "libs" / "kit" / "src" / "tollgate_kit" / "server.py",
}
PLAINTEXT = re.compile(r"\binsecure_channel\(|\badd_insecure_port\(")


def test_no_plaintext_channel_or_port_outside_the_tls_switch() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for source in SOURCES
        for path in sorted(source.rglob("*.py"))
        if path not in ALLOWED
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PLAINTEXT.search(line)
    ]
    assert offenders == [], "use tollgate_kit.mtls.open_channel: " + ", ".join(offenders)
