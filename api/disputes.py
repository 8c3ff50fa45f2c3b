"""`/v1/disputes`: the owner of a listed number says it is wrongly listed; the fraud desk
records it (`write`) and decides: uphold (the number is unlisted: its manual entry removed,
or the number allowlisted when a feed, a block or the reports still list it) or reject.
Each step is audited with who and why (`dispute.open`, `dispute.uphold`, `dispute.reject`,
and the `entry.delete` / `allowlist.add` an upheld dispute made). A number's open disputes
also show in `GET /v1/numbers/{number}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.auth import Reader, Writer
from api.context import Context, get_context
from api.desk_models import DisputeCreate, DisputeDecision, DisputeOut, DisputePage, DisputeStatus
from api.fields import read_number
from api.problems import Problem
from blocklist.store import disputes
from blocklist.store.disputes import Dispute, DisputeClosedError

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])
Ctx = Annotated[Context, Depends(get_context)]
DisputeId = Annotated[int, Path(ge=1, le=999_999_999_999, examples=[17])]
_CHANGES: dict[int | str, dict[str, Any]] = {404: {"description": "no such dispute"},
            409: {"description": "the dispute is not open"}}


def dispute_out(dispute: Dispute) -> DisputeOut:
    return DisputeOut(
        id=dispute.id, number="+" + dispute.number, contact=dispute.contact, text=dispute.text,
        status=dispute.status, opened_at=dispute.opened_at, opened_by=dispute.opened_by,
        decided_at=dispute.decided_at, decided_by=dispute.decided_by, reason=dispute.reason,
        removed=dispute.removed, allowlisted=dispute.allowlisted,
    )


@router.post("", status_code=201, summary="Record a dispute", response_model=DisputeOut,
             responses={422: {"description": "invalid or protected number, bad field"}})
def open_dispute(body: DisputeCreate, context: Ctx, key: Writer,
                 response: Response) -> DisputeOut:
    """Record that a number's owner says it is wrongly listed (whether it is listed now or
    not: the desk decides)."""
    number = read_number(context.plan, body.number, ["body", "number"])
    dispute = disputes.open_dispute(context.store, number, body.contact, body.text, key.name)
    context.audit(key, "dispute.open", "+" + number, {"dispute": dispute.id}, "")
    response.headers["Location"] = f"/v1/disputes/{dispute.id}"
    return dispute_out(dispute)


@router.get("", summary="List disputes", response_model=DisputePage)
def list_disputes(
    context: Ctx,
    _key: Reader,
    status: DisputeStatus | None = None,
    cursor: Annotated[str | None, Query(
        pattern=r"^\d{1,12}$", examples=["17"],
        description="a position: the id of the last dispute of the previous page (its"
                    " `next_cursor`); the page starts below it")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DisputePage:
    """Disputes newest first, of one status if given; follow `next_cursor` for more."""
    before = int(cursor) if cursor is not None else None
    found, next_id = disputes.list_disputes(context.store, status=status, before=before,
                                            limit=limit)
    return DisputePage(disputes=[dispute_out(d) for d in found],
                       next_cursor=str(next_id) if next_id is not None else None)


@router.get("/{dispute_id}", summary="Read a dispute", response_model=DisputeOut,
            responses={404: {"description": "no such dispute"}})
def read_dispute(dispute_id: DisputeId, context: Ctx, _key: Reader) -> DisputeOut:
    dispute = disputes.get_dispute(context.store, dispute_id)
    if dispute is None:
        raise Problem(404, "not-found", f"no dispute {dispute_id}")
    return dispute_out(dispute)


@router.post("/{dispute_id}/uphold", summary="Uphold a dispute: unlist the number",
             response_model=DisputeOut, responses=_CHANGES)
def uphold_dispute(dispute_id: DisputeId, body: DisputeDecision, context: Ctx,
                   key: Writer) -> DisputeOut:
    """The number is unlisted: its manual entry removed, and allowlisted when anything else
    (a feed's entry, a block, the reports) still lists it."""
    try:
        dispute = disputes.uphold(context.store, dispute_id, key.name, body.reason)
    except KeyError:
        raise Problem(404, "not-found", f"no dispute {dispute_id}") from None
    except DisputeClosedError as error:
        raise Problem(409, "conflict", str(error)) from None
    target = "+" + dispute.number
    context.audit(key, "dispute.uphold", target,
                  {"dispute": dispute.id, "removed": dispute.removed,
                   "allowlisted": dispute.allowlisted}, body.reason)
    if dispute.removed:
        context.audit(key, "entry.delete", target,
                      {"source": "manual", "dispute": dispute.id}, body.reason)
    if dispute.allowlisted:
        context.audit(key, "allowlist.add", target, {"kind": "number", "dispute": dispute.id},
                      body.reason)
    return dispute_out(dispute)


@router.post("/{dispute_id}/reject", summary="Reject a dispute: the listing stays",
             response_model=DisputeOut, responses=_CHANGES)
def reject_dispute(dispute_id: DisputeId, body: DisputeDecision, context: Ctx,
                   key: Writer) -> DisputeOut:
    try:
        dispute = disputes.reject(context.store, dispute_id, key.name, body.reason)
    except KeyError:
        raise Problem(404, "not-found", f"no dispute {dispute_id}") from None
    except DisputeClosedError as error:
        raise Problem(409, "conflict", str(error)) from None
    context.audit(key, "dispute.reject", "+" + dispute.number, {"dispute": dispute.id},
                  body.reason)
    return dispute_out(dispute)
