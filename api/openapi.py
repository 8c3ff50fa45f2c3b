"""The OpenAPI description: FastAPI's, with every error answer described as it really is
(`application/problem+json`, RFC 9457) instead of FastAPI's default validation error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.feed_models import FormatSpec
from api.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri",
                 "examples": ["urn:callscreen:problem:invalid-number"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "examples": ["'0800 123' is not a phone number"]},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "properties": {
                "location": {"type": "array", "items": {"anyOf": [{"type": "string"},
                                                                  {"type": "integer"}]}},
                "message": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
_COMMON = {
    "401": "no API key, or not a valid one",
    "403": "the key's role may not do this",
    "413": "the request body is too large",
    "422": "a parameter or the body is not valid (the detail says why)",
    "503": "the blocklist store did not answer",
}
_PUBLIC = {"401", "403"}
# Query parameters that carry JSON: described by their model, as OpenAPI's `content`.
JSON_QUERY: dict[tuple[str, str, str], type[BaseModel]] = {
    ("/v1/entries/import", "post", "config"): FormatSpec,
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _describe_json_queries(paths: dict[str, Any], components: dict[str, Any]) -> None:
    for (path, method, name), model in JSON_QUERY.items():
        described = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(described.pop("$defs", {}))
        components[model.__name__] = described
        for parameter in paths[path][method].get("parameters", []):
            if parameter["name"] == name and parameter["in"] == "query":
                description = parameter["schema"].get("description", "")
                del parameter["schema"]
                parameter["description"] = description
                parameter["content"] = {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def install(app: FastAPI) -> None:
    """Replace `app.openapi` with one that documents problem answers on every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = PROBLEM_SCHEMA
        _describe_json_queries(schema["paths"], components)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                secured = bool(operation.get("security"))
                for status, description in _COMMON.items():
                    if status in _PUBLIC and not secured:
                        continue
                    if status == "413" and "requestBody" not in operation:
                        continue
                    given = responses.get(status, {}).get("description")
                    responses[status] = _problem(given or description)
                for status, answer in responses.items():
                    if status.startswith(("4", "5")) and status not in _COMMON:
                        responses[status] = _problem(answer.get("description", ""))
                if path.startswith("/v1/"):
                    operation.setdefault("security", [{"HTTPBearer": []}, {"APIKeyHeader": []}])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
