"""Every Prometheus metric callscreen exports, declared in one place.

Names follow Prometheus conventions (`_total`, `_seconds`); labels take a few fixed values
each. A phone number is never a label.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- the call path -------------------------------------------------------------------------

CALLS = Counter(
    "callscreen_calls",
    "Screened calls, by direction, action and status (ok, or degraded: decided without the store).",
    ["direction", "action", "status"],
)
FAIL_OPEN = Counter(
    "callscreen_fail_open",
    "Calls allowed without asking the store, by reason.",
    ["reason"],
)
DECISION_SECONDS = Histogram(
    "callscreen_decision_seconds",
    "Time from the end of the AGI environment to the decision (store round trip included).",
    buckets=(0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
             0.01, 0.02, 0.05, 0.1, 0.25),
)
STORE_ERRORS = Counter(
    "callscreen_store_errors",
    "Store lookups that failed, by kind (timeout, unavailable, bad-reply).",
    ["kind"],
)
CALLS_IN_FLIGHT = Gauge(
    "callscreen_calls_in_flight",
    "AGI connections being served now.",
    multiprocess_mode="livesum",
)
AGI_ERRORS = Counter(
    "callscreen_agi_errors",
    "AGI conversations that broke off, by kind (protocol, timeout, hangup, reset).",
    ["kind"],
)
SHADOW_MATCHES = Counter(
    "callscreen_shadow_matches",
    "Calls matched by a shadow entry (counted, no action changed), by category.",
    ["category"],
)

ORIGIN_CALLS = Counter(
    "callscreen_origin_calls",
    "Inbound calls that carried an ORIGIN or ATTESTATION, by origin (national, international,"
    " internal, unknown), action and reason (the SCREEN_REASON code).",
    ["origin", "action", "reason"],
)
ROAMING_CHECKS = Counter(
    "callscreen_roaming_checks",
    "Roaming checks of mobile home numbers calling from abroad, by outcome (verified,"
    " not-roaming, timeout, error, cached).",
    ["outcome"],
)
ROAMING_CHECK_SECONDS = Histogram(
    "callscreen_roaming_check_seconds",
    "Time a roaming check took (answered, failed or timed out; cached answers not counted).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0),
)

# -- the admin API -------------------------------------------------------------------------

API_REQUESTS = Counter(
    "callscreen_api_requests",
    "Admin API requests, by route template (never the raw path), method and status class.",
    ["route", "method", "status"],
)
API_REQUEST_SECONDS = Histogram(
    "callscreen_api_request_seconds",
    "Admin API request duration, by route template.",
    ["route"],
)
ENTRIES = Gauge(
    "callscreen_entries",
    "Listed entries (numbers and blocks), by source and category.",
    ["source", "category"],
    multiprocess_mode="livemax",
)

# -- feed sync -----------------------------------------------------------------------------

FEED_LAST_SUCCESS = Gauge(
    "callscreen_feed_last_success_timestamp_seconds",
    "When each feed last synced successfully (applied, or unchanged), Unix time; by feed id.",
    ["feed"],
    multiprocess_mode="max",
)
FEED_SYNC_SECONDS = Histogram(
    "callscreen_feed_sync_seconds",
    "Feed sync duration (download, parse, guard, apply), by feed id.",
    ["feed"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600),
)
FEED_ROWS_REJECTED = Counter(
    "callscreen_feed_rows_rejected",
    "Feed rows refused by the parser (bad number, protected number, ...), by feed id.",
    ["feed"],
)
FEED_SYNCS = Counter(
    "callscreen_feed_syncs",
    "Feed syncs by feed id and outcome (ok, unchanged, refused, failed, dry-run).",
    ["feed", "outcome"],
)

# -- high availability: where the call path reads, and the primary for writes ------------------

READ_ENDPOINT = Gauge(
    "callscreen_read_endpoint",
    "1 for the Redis endpoint this process reads from now, 0 for its others (host:port or"
    " socket path).",
    ["endpoint"],
    multiprocess_mode="livemax",
)
READ_ENDPOINT_SWITCHES = Counter(
    "callscreen_read_endpoint_switches",
    "Times the call path switched read endpoint, by reason (error, timeout, readonly,"
    " loading, masterdown, preferred_back).",
    ["reason"],
)
REPLICA_LAG_SECONDS = Gauge(
    "callscreen_replica_lag_seconds",
    "Replication lag a replica the call path reads reports (INFO replication:"
    " master_last_io_seconds_ago, or how long its link has been down), by endpoint.",
    ["endpoint"],
    multiprocess_mode="livemax",
)
FAILOVERS_FOLLOWED = Counter(
    "callscreen_failovers_followed",
    "Times this process saw the Sentinels name a new primary.",
)
PRIMARY_REACHABLE = Gauge(
    "callscreen_primary_reachable",
    "1 when the admin API process last reached the primary for writes, 0 when it did not.",
    multiprocess_mode="livemax",
)

# -- activity (`blocklist.store.activity_counter`) -----------------------------------------

ACTIVITY_FLUSHES = Counter(
    "callscreen_activity_flushes",
    "Flushes of the in-memory activity counts to the store that succeeded.",
)
ACTIVITY_FLUSH_ERRORS = Counter(
    "callscreen_activity_flush_errors",
    "Flushes of the activity counts that failed (store down, timeout, refused): dropped.",
)
ACTIVITY_HITS_LOST = Counter(
    "callscreen_activity_hits_lost",
    "Hits (calls matching a listed key) dropped with a failed activity flush.",
)

# -- start-up ------------------------------------------------------------------------------

NUMBERING_DATA_DRIFT = Gauge(
    "callscreen_numbering_data_drift",
    "1 when the installed phonenumbers is not the release the numbering data was built from,"
    " else 0; set once at start (blocklist.numbering_drift).",
    ["data_version", "installed_version"],
    multiprocess_mode="max",
)
