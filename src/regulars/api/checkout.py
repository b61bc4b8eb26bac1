"""The till: quote a cart, commit a sale, refund it."""

from functools import partial
from typing import Annotated

from fastapi import Depends, Request, Response, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, ReceiptId, allow, own_store
from regulars.api.unit_of_work import READS_ONLY, names_objects, routes
from regulars.checkout.refunds import refund_sale
from regulars.checkout.schemas import CartIn, Quote, RefundResult, SaleIn, SaleResult
from regulars.checkout.service import commit_sale, quote
from regulars.clock import utc_now
from regulars.operations.metrics import count_sale
from regulars.sales.rules import Limits
from regulars.sales.schemas import Receipt, RefundIn
from regulars.sales.service import get_receipt

router = routes(prefix="/v1", tags=["till"])
Till = Annotated[Principal, Depends(allow(Role.POS))]
Reader = Annotated[Principal, Depends(allow(Role.POS, Role.SUPPORT))]


def _limits(request: Request) -> Limits:
    limits: Limits = request.app.state.settings.receipt_limits
    return limits


@router.post("/checkout/quote", openapi_extra=READS_ONLY)
async def price(cart: CartIn, session: DbSession, caller: Till) -> Quote:
    """Price a cart as a sale would be priced now; nothing is written."""
    own_store(session, caller, code=cart.store_code)
    return quote(session, cart=cart, now=utc_now())


@router.post(
    "/receipts",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same sale was committed before: its answer."}},
)
async def commit(
    sale: SaleIn, session: DbSession, request: Request, response: Response, caller: Till
) -> SaleResult:
    """Commit a sale once: retried with the same store, number and content, it answers again."""
    own_store(session, caller, code=sale.store_code)
    result = commit_sale(session, sale=sale, now=utc_now(), limits=_limits(request))
    names_objects(request, receipt_id=result.receipt_id)
    if not result.created:
        response.status_code = status.HTTP_200_OK
        return result
    counted = partial(
        count_sale, points_earned=result.points_earned, points_redeemed=result.points_redeemed
    )
    request.state.after_commit.append(counted)
    return result


@router.get("/receipts/{receipt_id}")
async def read_receipt(receipt_id: ReceiptId, session: DbSession, caller: Reader) -> Receipt:
    """One receipt with its lines."""
    receipt = get_receipt(session, receipt_id=receipt_id)
    own_store(session, caller, store_id=receipt.store_id)
    return Receipt.model_validate(receipt)


@router.post("/receipts/{receipt_id}/refunds", status_code=status.HTTP_201_CREATED)
async def refund(
    receipt_id: ReceiptId,
    data: RefundIn,
    session: DbSession,
    request: Request,
    response: Response,
    caller: Till,
) -> RefundResult:
    """Refund lines of a receipt; the points they earned are reversed."""
    own_store(session, caller, store_id=get_receipt(session, receipt_id=receipt_id).store_id)
    result = refund_sale(
        session,
        receipt_id=receipt_id,
        refund=data,
        now=utc_now(),
        limits=_limits(request),
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return result
