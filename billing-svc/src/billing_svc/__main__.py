"""``python -m billing_svc`` serves; ``python -m billing_svc migrate`` applies the migrations."""

import sys

from billing_svc.bootstrap import build
from billing_svc.config import BillingSettings
from tollgate_kit.service import main

if __name__ == "__main__":
    sys.exit(main("billing_svc", BillingSettings, build))
