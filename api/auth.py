"""Access: every `/v1` endpoint needs an API key, sent as `Authorization: Bearer <key>` or
`X-API-Key: <key>`. No key or an unknown one is 401; a key whose role ranks below what the
endpoint needs (read < write < admin) is 403. The key itself is never logged: requests are
logged with the key's id (`blocklist.store.apikeys`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.context import Context, get_context
from api.problems import Problem
from blocklist.store.apikeys import ApiKey, Role, authenticate

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer csk_...`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="`X-API-Key: csk_...`, instead of the bearer header")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="callscreen"'}
MAX_TOKEN_CHARS = 200


def _principal(
    request: Request,
    context: Annotated[Context, Depends(get_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
) -> ApiKey:
    token = credentials.credentials if credentials is not None else header_key
    if not token:
        raise Problem(401, "unauthorized", "send an API key: Authorization: Bearer <key>",
                      headers=_CHALLENGE)
    key = authenticate(context.store, token) if len(token) <= MAX_TOKEN_CHARS else None
    if key is None:
        raise Problem(401, "unauthorized", "the API key is not valid (revoked or mistyped)",
                      headers=_CHALLENGE)
    request.state.key_id = key.id  # for the access log: the id, never the key
    return key


def require(role: Role) -> Callable[..., ApiKey]:
    """A dependency: the caller's key, which must have at least `role`."""

    def check(key: Annotated[ApiKey, Depends(_principal)]) -> ApiKey:
        if not key.role.allows(role):
            raise Problem(403, "forbidden",
                          f"this needs the {role.value} role; key {key.id} has {key.role.value}")
        return key

    return check


Reader = Annotated[ApiKey, Depends(require(Role.READ))]
Writer = Annotated[ApiKey, Depends(require(Role.WRITE))]
Admin = Annotated[ApiKey, Depends(require(Role.ADMIN))]
