"""``python -m tollgate_devstack._bound_to_parent PID CMD...``: runs CMD in this process,
asking the kernel to SIGTERM it when the launcher (PID) dies, even by SIGKILL.

A separate step rather than ``Popen(preexec_fn=...)``: the launcher has threads (one log pump
per service), and running Python between fork and exec in a threaded process can deadlock.
The death signal survives ``execv``. Linux only (``prctl``); elsewhere CMD simply runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m tollgate_devstack._bound_to_parent PID CMD...")
    launcher = int(argv[0])
    command = argv[1:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # The launcher may have died before the death signal was armed.
        if os.getppid() != launcher:
            raise SystemExit(1)
    os.execv(command[0], command)  # noqa: S606 - the launcher's own argv, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
