"""Whether the numbering data still matches the installed phonenumbers.

`blocklist._numbering_data` holds facts taken from one phonenumbers release
(`PHONENUMBERS_VERSION`, written by tools/gen-numbering-data), and the lock files pin that same
release. The call path reads numbers with those facts alone; the admin side also asks the
installed phonenumbers (`NumberPlan.parse_exact`'s validity check, the feed parsers). Installed
outside the lock, another release may be there, and the two sides may then disagree about
number ranges allocated or withdrawn in between: a number the admin side accepts onto the list
may read differently in a call, or the other way round. Nothing breaks and no call is refused
for it; the servers say so once, when they start, in a log line and a metric.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from blocklist._numbering_data import PHONENUMBERS_VERSION
from blocklist.metrics import NUMBERING_DATA_DRIFT

NOT_INSTALLED = "none"

log = logging.getLogger("callscreen.numbering")


def installed_phonenumbers() -> str:
    """The installed phonenumbers' version, from its package metadata (importing phonenumbers
    would cost about 24 ms), or `NOT_INSTALLED`."""
    try:
        return version("phonenumbers") or NOT_INSTALLED
    except PackageNotFoundError:
        return NOT_INSTALLED


def report_numbering_drift(installed: str | None = None) -> bool:
    """Compare `installed` (default: the installed phonenumbers) with the release the numbering
    data was built from; set `callscreen_numbering_data_drift` (both versions as labels, 1 when
    they differ, else 0) and, when they differ, log a warning naming both.

    Returns whether they differ. Called once at the start of each server process.
    """
    installed = installed or installed_phonenumbers()
    drift = installed != PHONENUMBERS_VERSION
    NUMBERING_DATA_DRIFT.labels(data_version=PHONENUMBERS_VERSION,
                                installed_version=installed).set(1 if drift else 0)
    if drift:
        log.warning(
            "the numbering data was built from phonenumbers %s but phonenumbers %s is installed:"
            " calls and the admin side may read newly allocated or withdrawn number ranges"
            " differently; install the versions of requirements.lock",
            PHONENUMBERS_VERSION, installed,
        )
    return drift
