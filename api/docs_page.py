"""The interactive API docs at `/docs` (Swagger UI), served whole from this package.

FastAPI's own `/docs` loads Swagger UI's JavaScript, CSS and icon from a CDN, so on a closed
network (an operator's core network) it is a blank page. Here the page names only this server:
the assets are the npm package `swagger-ui-dist`, vendored into `api/static/swagger-ui/` with
its licence by `tools/vendor-assets` (which pins the version), and mounted under
`/docs/assets`. No build step at run time. ReDoc is off (`redoc_url=None`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
# Swagger UI would send the description to an online validator for its badge; never here.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install(app: FastAPI) -> None:
    """Serve Swagger UI for `app.openapi_url` at `/docs`, its assets from this package.
    `app` must be made with `docs_url=None` (FastAPI's CDN page would take the path first)."""
    if app.docs_url is not None or app.openapi_url is None:
        raise ValueError(f"docs_page.install needs docs_url=None and an openapi_url, "
                         f"got docs_url={app.docs_url!r}, openapi_url={app.openapi_url!r}")
    openapi_url = app.openapi_url
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        # Behind a proxy that mounts the API under a prefix, as FastAPI's own page does.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
