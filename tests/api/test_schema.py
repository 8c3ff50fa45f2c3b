"""Schemathesis against the running server's OpenAPI description: no answer is a 5xx.

Bounded so it runs in the normal suite: a few generated requests per operation, no
shrinking. (Driven through hypothesis directly: schemathesis' pytest plugin does not run
under this pytest.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from api.app import create_app
from blocklist.settings import Settings

OPERATIONS = [
    (method.upper(), path)
    for path, ops in create_app(Settings(redis_url="redis://unused")).openapi()["paths"].items()
    for method in ops
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(api, method, path) -> None:
    """Generated requests (valid and not), with an admin key, never get a 5xx."""
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    check()
