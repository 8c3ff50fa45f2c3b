"""The admin API (FastAPI): `api.app.create_app(settings)`; `callscreen api` serves it."""
