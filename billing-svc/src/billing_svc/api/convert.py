"""Domain types → protobuf messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from billing_svc.domain.model import Kind, Transaction
from tollgate.billing.v1 import billing_pb2

_KINDS = {
    Kind.TOP_UP: billing_pb2.Transaction.TOP_UP,
    Kind.CHARGE: billing_pb2.Transaction.CHARGE,
    Kind.REFUND: billing_pb2.Transaction.REFUND,
}


def transaction_message(tx: Transaction) -> billing_pb2.Transaction:
    created_at = Timestamp()
    created_at.FromDatetime(tx.created_at)
    return billing_pb2.Transaction(
        id=str(tx.id),
        amount=tx.amount,
        kind=_KINDS[tx.kind],
        description=tx.description,
        refund_of=str(tx.refund_of) if tx.refund_of else "",
        created_at=created_at,
        currency=tx.currency,
    )
