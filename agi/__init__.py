"""callscreen's call path: the AGI protocol, the per-call AGI script and the FastAGI server.

Imports `blocklist` only, never the admin side (`api`), and keeps heavy imports inside the
functions that need them: the per-call script pays for every import on every call.
"""
