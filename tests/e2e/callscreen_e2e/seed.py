"""The numbers of the scenarios, and the list and settings they need in Redis.

All numbers are Dutch (CALLSCREEN_REGION=NL) and valid for phonenumbers; the listed ones are in
the 085 555 01xx range, the load run's in 085 2xx xxxx, so the two never meet.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .services import Redis, callscreen

CLEAN = "+31201234567"  # not on any list
REVOKED = "+31855550101"  # revoked: blocked both ways
SUSPECTED = "+31855550102"  # suspected: warned (blocked for strict subscribers)
REVOKED_NATIONAL = "0855550101"  # REVOKED as a subscriber dials it
SUSPECTED_NATIONAL = "0855550102"
EMERGENCY = "112"
EMERGENCY_BLOCK = "31112"  # international digits of a block that covers 112 dialled as 0112...

SUBSCRIBER = "+31301234567"  # standard mode, English prompts
STRICT = "+31301234568"  # strict mode, Dutch prompts
OFF = "+31301234569"  # opted out of screening
DUTCH = "+31301234570"  # standard mode, Dutch prompts and labels (no withhold label: services.py)


def seed(redis: Redis) -> None:
    """List the scenario numbers through `callscreen import` and set the subscribers."""
    feed = {
        "feed": {"format": "screening-feed/v1", "source": "e2e", "mode": "snapshot",
                 "generated_at": "2026-01-01T00:00:00Z", "record_count": 2},
        "records": [
            {"number": REVOKED, "category": "revoked", "reference": "E2E-REVOKED",
             "reason": "fake helpdesk (end-to-end test)"},
            {"number": SUSPECTED, "category": "suspected", "reference": "E2E-SUSPECTED",
             "reason": "reported (end-to-end test)"},
        ],
    }
    with tempfile.TemporaryDirectory(prefix="callscreen-e2e-feed-") as tmp:
        path = Path(tmp) / "feed.json"
        path.write_text(json.dumps(feed))
        callscreen(redis, "import", str(path), "--quiet")
    callscreen(redis, "subscriber", "set", SUBSCRIBER, "--mode", "standard", "--language", "en")
    callscreen(redis, "subscriber", "set", STRICT, "--mode", "strict", "--language", "nl")
    callscreen(redis, "subscriber", "set", OFF, "--mode", "off")
    callscreen(redis, "subscriber", "set", DUTCH, "--mode", "standard", "--language", "nl")
