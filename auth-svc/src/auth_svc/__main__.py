"""``python -m auth_svc`` serves; ``python -m auth_svc migrate`` applies the migrations."""

import sys

from auth_svc.bootstrap import build
from auth_svc.config import AuthSettings
from tollgate_kit.service import main

if __name__ == "__main__":
    sys.exit(main("auth_svc", AuthSettings, build))
