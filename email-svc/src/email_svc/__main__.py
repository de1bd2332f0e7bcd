"""``python -m email_svc`` serves; ``python -m email_svc migrate`` applies the migrations."""

import sys

from email_svc.bootstrap import build
from email_svc.config import EmailSettings
from tollgate_kit.service import main

if __name__ == "__main__":
    sys.exit(main("email_svc", EmailSettings, build))
