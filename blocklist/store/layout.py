"""The Redis key layout, and how values are packed. Pure: no I/O.

Every key shares the hash tag `{P}` (P = `CALLSCREEN_KEY_PREFIX`, default `cs`), so on a Redis
Cluster they live in one slot and multi-key commands work. A million numbers take about 20 MB.

    {cs}:n:<r>               hash  the call path's exact numbers. A number's digits as an
                                   integer N go in bucket r = N mod 10000 under field
                                   N div 10000, with a packed listing (below) as value. Real
                                   numbers spread evenly over the last four digits, so at a
                                   million numbers each bucket holds about 100 small integer
                                   fields: Redis keeps it as a listpack (about 10 bytes a
                                   number) where one string key per number costs 72-136.
    {cs}:p                   hash  the call path's prefixes: digits -> packed listing
    {cs}:allow               hash  global allowlist: `n<digits>` (number) or `p<digits>`
                                   (block) -> JSON provenance
    {cs}:sub:<digits>        hash  one subscriber: `mode`, `lang`, and `a<digits>` per
                                   personal allowlist number -> when it was added
    {cs}:sources             set   the sources that have entries (feed ids, `manual`)
    {cs}:src:<s>:n:<r>       string  source s's exact numbers in bucket r, as
                                   `field,meta id,field,meta id,...` (bucketed as above):
                                   only the admin side reads it, a bucket at a time, and
                                   a snapshot writes it with one SET per bucket
    {cs}:src:<s>:p           hash  source s's prefixes -> meta id
    {cs}:src:<s>:meta        hash  meta id -> JSON provenance (category, applies_to,
                                   reference, reason, dates, who); rows of one decision
                                   share one id, so provenance costs little per number
    {cs}:src:<s>:metaidx     hash  JSON provenance -> meta id (deduplication)
    {cs}:src:<s>:metaseq     string  the last meta id handed out
    {cs}:meta                hash  `schema` version
    {cs}:lock:apply          string  the apply lock (token, expiry, renewed while an apply runs)
    {cs}:dirty               string  an apply that did not finish (the next one rebuilds)
    {cs}:durable             string  when a writer last asked the replicas to confirm its
                                     writes (`blocklist.store.durability`)
    {cs}:apikeys             hash  key id -> JSON {name, role, sha256, created_at, created_by}
    {cs}:audit               stream  the audit trail (`blocklist.store.audit`)
    {cs}:reports:<digits>    zset  reporter hash -> when last reported (`...store.reports`)
    {cs}:reported            zset  reported digits -> when last reported: the reports queue
    {cs}:reported:first      hash  reported digits -> when first reported
    {cs}:act:m:<slot>        hash  activity in five minutes (slots of 300 s since 1970),
                                   kept an hour: the `hour` window
    {cs}:act:h:<hour>        hash  activity in one hour (hours since 1970, UTC):
                                   `<key>|<d><a>` -> hits (`blocklist.store.activity`)
    {cs}:act:d:<day>         hash  the same for one day (days since 1970, UTC)
    {cs}:act:seen            zset  listed key -> when last seen in a call (Unix seconds)
    {cs}:dispute:<id>        hash  one dispute (`blocklist.store.disputes`)
    {cs}:disputes            zset  dispute id -> id (paging, newest first)
    {cs}:disputes:seq        string  the last dispute id handed out
    {cs}:disputes:n:<digits> set   a number's open dispute ids
    {cs}:feeds               hash  feed id -> configuration JSON
    {cs}:feed:<id>:state     hash  etag, last_modified, last_success, last_run
    {cs}:feed:<id>:runs      list  run records (JSON), newest first, capped
    {cs}:lock:feed:<id>      string  a feed's sync lock (token, expiry)
    {cs}:lock:<name>         string  a lock of background work (`blocklist.store.locks`)
    {cs}:session:<h>         hash  a console session (h: SHA-256 of its token): key id,
                                   CSRF token, when made; expires (`...store.sessions`)
    {cs}:session:<h>:upload  string  a console import waiting for its apply; expires
    {cs}:signin-fail:<h>     string  console sign-in attempts from one client; expires

`KeySpace` below is the only code that formats these names; the modules named above say
what their values mean.

The call path reads all it needs in one round trip: `SCREENING_SCRIPT` (below), loaded once
per connection and run with EVALSHA (the per-call script sends it with EVAL).

A packed listing is one integer (a 24-bit listpack integer in Redis):
bits 0-2 the category when the number calls, bits 3-5 when it is called (0 none, 1 revoked,
2 fraud, 3 suspected, 4 dno), bit 6 shadow, bits 7 and up the last valid day as days since
1970-01-01 (0: no end).
"""

from __future__ import annotations

from blocklist.entries import Category, Listing, Lookup, Match, Mode, SubscriberSettings

SCHEMA_VERSION = "1"
BUCKETS = 10_000
# The shortest prefix the call path asks about, in digits including the country code: US DNO
# lists carry 3-digit area codes (1 + 3 digits).
MIN_LOOKUP_PREFIX = 2

_CATEGORY_CODES: dict[Category, int] = {
    Category.REVOKED: 1,
    Category.FRAUD: 2,
    Category.SUSPECTED: 3,
    Category.DNO: 4,
}
_CODE_CATEGORIES: dict[int, Category] = {v: k for k, v in _CATEGORY_CODES.items()}

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt


def bucket(number_digits: str) -> tuple[str, str]:
    """(bucket, field) for a number's digits; a bijection, since digits have no leading 0."""
    value = int(number_digits)
    return str(value % BUCKETS), str(value // BUCKETS)


def unbucket(bucket_id: str, field: str) -> str:
    """The digits back from (bucket, field)."""
    return str(int(field) * BUCKETS + int(bucket_id))


def pack(listing: Listing) -> int:
    days = day_number(listing.valid_until) if listing.valid_until is not None else 0
    caller = _CATEGORY_CODES[listing.caller] if listing.caller else 0
    callee = _CATEGORY_CODES[listing.callee] if listing.callee else 0
    return caller | callee << 3 | int(listing.shadow) << 6 | days << 7


def unpack(code: int) -> Listing:
    days = code >> 7
    return Listing(
        caller=_CODE_CATEGORIES.get(code & 7),
        callee=_CODE_CATEGORIES.get(code >> 3 & 7),
        shadow=bool(code >> 6 & 1),
        valid_until=_day(days) if days else None,
    )


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the unit expiry is stored and compared in."""
    return day.toordinal() - _EPOCH_ORDINAL


def _day(days: int) -> dt.date:
    import datetime  # only for listings with an end date: the per-call script rarely pays

    return datetime.date.fromordinal(days + _EPOCH_ORDINAL)


_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


class KeySpace:
    """Every key name for one prefix (the layout above). Only `blocklist.store` uses this."""

    def __init__(self, prefix: str = "cs") -> None:
        root = self.root = "{" + prefix + "}"
        self.prefixes = f"{root}:p"
        self.allow = f"{root}:allow"
        self.sources = f"{root}:sources"
        self.meta = f"{root}:meta"
        self.apply_lock = f"{root}:lock:apply"
        self.dirty = f"{root}:dirty"
        self.durable = f"{root}:durable"
        self.apikeys = f"{root}:apikeys"
        self.audit = f"{root}:audit"
        self.feeds = f"{root}:feeds"
        self.reported = f"{root}:reported"
        self.reported_first = f"{root}:reported:first"
        self.activity_seen = f"{root}:act:seen"
        self.disputes = f"{root}:disputes"
        self.disputes_seq = f"{root}:disputes:seq"
        self._numbers = f"{root}:n:"  # the call path builds these per call: prefix + id
        self._subscriber = f"{root}:sub:"

    def numbers(self, bucket_id: str) -> str:
        return self._numbers + bucket_id

    def subscriber(self, number_digits: str) -> str:
        return self._subscriber + number_digits

    def source(self, source: str) -> SourceKeys:
        return SourceKeys(f"{self.root}:src:{source}")

    def reports(self, number_digits: str) -> str:
        return f"{self.root}:reports:{number_digits}"

    def activity_slot(self, slot: int) -> str:
        return f"{self.root}:act:m:{slot}"

    def activity_hour(self, hour: int) -> str:
        return f"{self.root}:act:h:{hour}"

    def activity_day(self, day: int) -> str:
        return f"{self.root}:act:d:{day}"

    def dispute(self, dispute_id: int) -> str:
        return f"{self.root}:dispute:{dispute_id}"

    def number_disputes(self, number_digits: str) -> str:
        return f"{self.root}:disputes:n:{number_digits}"

    def feed_state(self, feed_id: str) -> str:
        return f"{self.root}:feed:{feed_id}:state"

    def feed_runs(self, feed_id: str) -> str:
        return f"{self.root}:feed:{feed_id}:runs"

    def feed_lock(self, feed_id: str) -> str:
        return self.lock(f"feed:{feed_id}")

    def lock(self, name: str) -> str:
        return f"{self.root}:lock:{name}"

    def session(self, token_hash: str) -> str:
        return f"{self.root}:session:{token_hash}"

    def session_upload(self, token_hash: str) -> str:
        return f"{self.root}:session:{token_hash}:upload"

    def signin_failures(self, client_hash: str) -> str:
        return f"{self.root}:signin-fail:{client_hash}"


class SourceKeys:
    """The key names of one source's entries (`{cs}:src:<s>:*`)."""

    def __init__(self, base: str) -> None:
        self.prefixes = base + ":p"
        self.meta = base + ":meta"
        self.metaidx = base + ":metaidx"
        self.metaseq = base + ":metaseq"
        self._numbers = base + ":n:"

    def numbers(self, bucket_id: str) -> str:
        return self._numbers + bucket_id


# -- the screening round trip ----------------------------------------------------------------


def lookup_prefixes(number_digits: str) -> list[str]:
    """Every proper prefix of a number the call path asks about, longest first."""
    return [number_digits[:n] for n in range(len(number_digits) - 1, MIN_LOOKUP_PREFIX - 1, -1)]


# One screening is one script run in Redis: the number's bucket, every prefix, the allowlist
# and the subscriber, read where the data is. Sending the ~25 field names of a plain pipeline
# and parsing their ~25 replies measured as the largest share of the FastAGI server's CPU per
# call. KEYS: bucket, prefixes, allowlist[, subscriber]. ARGV: field, digits, shortest prefix.
# Returns {exact code or nil, {prefix, code, ...}, allowlisted 0/1, {mode, lang, personal}}.
SCREENING_SCRIPT = """
local digits = ARGV[2]
local fields = {}
for size = #digits - 1, tonumber(ARGV[3]), -1 do
  fields[#fields + 1] = string.sub(digits, 1, size)
end
local hits = {}
local allow = {'n' .. digits}
if #fields > 0 then
  local codes = redis.call('HMGET', KEYS[2], unpack(fields))
  for i = 1, #fields do
    if codes[i] then hits[#hits + 1] = fields[i]; hits[#hits + 1] = codes[i] end
    allow[#allow + 1] = 'p' .. fields[i]
  end
end
local allowed = 0
local found = redis.call('HMGET', KEYS[3], unpack(allow))
for i = 1, #allow do if found[i] then allowed = 1; break end end
local sub = {}
if #KEYS > 3 then sub = redis.call('HMGET', KEYS[4], 'mode', 'lang', 'a' .. digits) end
return {redis.call('HGET', KEYS[1], ARGV[1]), hits, allowed, sub}
"""


def script_sha() -> str:
    """The SHA1 Redis knows SCREENING_SCRIPT by (for EVALSHA after SCRIPT LOAD)."""
    import hashlib  # not on the per-call script's path: it sends EVAL

    return hashlib.sha1(SCREENING_SCRIPT.encode(), usedforsecurity=False).hexdigest()


def screening_command(
    keys: KeySpace, number_digits: str, subscriber_digits: str | None, sha: str | None = None
) -> tuple[str, ...]:
    """The one command of a screening: EVALSHA when `sha` is given (the script was loaded on
    this connection), else EVAL with the script itself."""
    bucket_id, field = bucket(number_digits)
    names = [keys.numbers(bucket_id), keys.prefixes, keys.allow]
    if subscriber_digits:
        names.append(keys.subscriber(subscriber_digits))
    head = ("EVALSHA", sha) if sha else ("EVAL", SCREENING_SCRIPT)
    return (*head, str(len(names)), *names, field, number_digits, str(MIN_LOOKUP_PREFIX))


def read_screening(number_digits: str, reply: object, today_days: int) -> Lookup:
    """The `Lookup` from the script's reply; `today_days` is today as a `day_number`.

    Raises ValueError when the reply is not what the script answers (an error reply too).
    """
    if not isinstance(reply, list) or len(reply) != 4:
        raise ValueError(f"unexpected screening reply {reply!r:.200}")
    exact, hits, allowed, sub = reply
    if not isinstance(hits, list) or len(hits) % 2 or not isinstance(sub, list):
        raise ValueError(f"unexpected screening reply {reply!r:.200}")
    matches: list[Match] = []
    if exact is not None:
        _add_match(matches, number_digits, False, exact, today_days)
    for n in range(0, len(hits), 2):
        _add_match(matches, _text(hits[n]), True, hits[n + 1], today_days)
    subscriber = SubscriberSettings()
    personally_allowed = False
    if sub:
        if len(sub) != 3:
            raise ValueError(f"unexpected subscriber reply {sub!r:.200}")
        mode, lang, personal = sub
        subscriber = SubscriberSettings(mode=_mode(mode), language=_text(lang) or None)
        personally_allowed = personal is not None
    return Lookup(
        matches=tuple(matches),
        allowlisted=allowed == 1,
        subscriber_allowlisted=personally_allowed,
        subscriber=subscriber,
    )


def _add_match(
    matches: list[Match], key: str, is_prefix: bool, raw: object, today_days: int
) -> None:
    code = int(_text(raw))
    days = code >> 7
    if days and days < today_days:
        return  # expired entries never match
    matches.append(Match(key, is_prefix, unpack(code)))


def _text(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


def _mode(raw: object) -> Mode:
    try:
        return Mode(_text(raw)) if raw is not None else Mode.STANDARD
    except ValueError:
        return Mode.STANDARD  # an unknown stored mode must not stop screening
