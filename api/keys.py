"""`/v1/keys`: API keys, for admins (the same as `callscreen keys`). A new key is shown once;
a key can't revoke itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.auth import Admin
from api.context import Context, get_context
from api.models import KeyCreate, KeyCreated, KeyOut
from api.problems import Problem
from blocklist.store.apikeys import ApiKey, create_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"])
Ctx = Annotated[Context, Depends(get_context)]


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(id=key.id, name=key.name, role=key.role, created_at=key.created_at,
                  created_by=key.created_by)


@router.get("", summary="List API keys", response_model=list[KeyOut])
def read_keys(context: Ctx, _key: Admin) -> list[KeyOut]:
    return [key_out(k) for k in list_keys(context.store)]


@router.post("", status_code=201, summary="Create an API key", response_model=KeyCreated)
def make_key(body: KeyCreate, context: Ctx, key: Admin) -> KeyCreated:
    made, token = create_key(context.store, body.name, body.role, created_by=key.name)
    context.audit(key, "key.create", made.id, {"name": made.name, "role": made.role.value})
    return KeyCreated(**key_out(made).model_dump(), key=token)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key",
               responses={404: {"description": "no such key"},
                          409: {"description": "the key making the request"}})
def drop_key(key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")], context: Ctx,
             key: Admin) -> Response:
    """Revoke another key. A key can't revoke itself (an admin locking themselves out):
    revoke it with another admin key, or `callscreen keys revoke`."""
    if key_id == key.id:
        raise Problem(409, "conflict", f"key {key_id} is the one making this request; revoke"
                      " it with another admin key or `callscreen keys revoke`")
    revoked = revoke_key(context.store, key_id)
    if revoked is None:
        raise Problem(404, "not-found", f"no API key {key_id!r}")
    context.audit(key, "key.revoke", key_id, {"name": revoked.name, "role": revoked.role.value})
    return Response(status_code=204)
