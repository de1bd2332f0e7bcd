"""gRPC servicer of billing-svc."""

from billing_svc.api.metrics import BillingMetrics
from billing_svc.api.servicer import CHARGE_SPAN, BillingServicer

__all__ = ["CHARGE_SPAN", "BillingMetrics", "BillingServicer"]
