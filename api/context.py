"""What every request handler needs, built once by `create_app` and kept on the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from blocklist.numbers import NumberPlan
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store import audit
from blocklist.store.admin import Store
from blocklist.store.apikeys import ApiKey


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    store: Store
    plan: NumberPlan
    screener: Screener

    def audit(self, key: ApiKey, action: str, target: str,
              detail: Mapping[str, Any] | None = None, reason: str = "") -> None:
        """Record a change made with `key` in the audit trail."""
        audit.record(self.store, key.name, action, target, {**(detail or {}), "key_id": key.id},
                     reason, max_events=self.settings.audit_max_events)


def get_context(request: Request) -> Context:
    """FastAPI dependency: the app's context."""
    context: Context = request.app.state.context
    return context
