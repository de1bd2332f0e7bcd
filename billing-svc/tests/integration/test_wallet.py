"""TopUp, GetWallet and ListTransactions."""

import asyncio
import uuid

import grpc
import pytest

from tollgate.billing.v1 import billing_pb2
from tollgate_kit.errors import error_reason

pytestmark = pytest.mark.integration


def top_up(amount, key=None):
    return billing_pb2.TopUpRequest(amount=amount, idempotency_key=key or uuid.uuid4().hex)


async def test_a_new_user_has_an_empty_wallet(billing):
    md = await billing.session()
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert (wallet.balance, wallet.currency) == (0, "USD")
    page = await billing.stub.ListTransactions(billing_pb2.ListTransactionsRequest(), metadata=md)
    assert list(page.transactions) == []
    assert page.next_page_token == ""


async def test_top_up_creates_the_wallet_and_is_idempotent(billing):
    md = await billing.session()
    request = top_up(250)
    responses = await asyncio.gather(*(billing.stub.TopUp(request, metadata=md) for _ in range(20)))
    assert {r.SerializeToString(deterministic=True) for r in responses} == {
        responses[0].SerializeToString(deterministic=True)
    }
    assert responses[0].balance == 250
    assert responses[0].transaction.kind == billing_pb2.Transaction.TOP_UP
    wallet = await billing.stub.GetWallet(billing_pb2.GetWalletRequest(), metadata=md)
    assert wallet.balance == 250
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.TopUp(top_up(251, key=request.idempotency_key), metadata=md)
    assert error_reason(err.value) == "IDEMPOTENCY_KEY_REUSED"


async def test_transactions_page_newest_first(billing):
    md = await billing.session()
    ids = []
    for amount in range(1, 8):
        ids.append((await billing.stub.TopUp(top_up(amount), metadata=md)).transaction.id)
    seen, token = [], ""
    while True:
        page = await billing.stub.ListTransactions(
            billing_pb2.ListTransactionsRequest(page_size=3, page_token=token), metadata=md
        )
        assert len(page.transactions) <= 3
        seen.extend(t.id for t in page.transactions)
        token = page.next_page_token
        if not token:
            break
    assert seen == ids[::-1]


async def test_paging_is_stable_while_transactions_are_added(billing):
    md = await billing.session()
    before = [(await billing.stub.TopUp(top_up(1), metadata=md)).transaction.id for _ in range(25)]
    seen, token = [], ""
    while True:
        # Other writes land between every page.
        await asyncio.gather(*(billing.stub.TopUp(top_up(1), metadata=md) for _ in range(3)))
        page = await billing.stub.ListTransactions(
            billing_pb2.ListTransactionsRequest(page_size=4, page_token=token), metadata=md
        )
        seen.extend(t.id for t in page.transactions)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    # Everything that existed before paging began is seen exactly once, in order.
    assert [i for i in seen if i in set(before)] == before[::-1]


async def test_page_size_is_defaulted_and_capped(billing):
    md = await billing.session()
    await asyncio.gather(*(billing.stub.TopUp(top_up(1), metadata=md) for _ in range(105)))
    default = await billing.stub.ListTransactions(
        billing_pb2.ListTransactionsRequest(), metadata=md
    )
    assert len(default.transactions) == 20
    capped = await billing.stub.ListTransactions(
        billing_pb2.ListTransactionsRequest(page_size=1000), metadata=md
    )
    assert len(capped.transactions) == 100
    assert capped.next_page_token


async def test_each_user_sees_only_their_own_transactions(billing):
    alice, bob = await billing.funded(10), await billing.funded(20)
    page = await billing.stub.ListTransactions(
        billing_pb2.ListTransactionsRequest(), metadata=alice
    )
    assert [t.amount for t in page.transactions] == [10]
    page = await billing.stub.ListTransactions(billing_pb2.ListTransactionsRequest(), metadata=bob)
    assert [t.amount for t in page.transactions] == [20]


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (billing_pb2.ListTransactionsRequest(page_token="garbage!"), "INVALID_PAGE_TOKEN"),
        (billing_pb2.ListTransactionsRequest(page_size=-1), "INVALID_PAGE_SIZE"),
    ],
)
async def test_bad_paging_requests_are_rejected(billing, request_, reason):
    md = await billing.session()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await billing.stub.ListTransactions(request_, metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err.value) == reason
