"""Settings: read once from the environment at an entry point, then passed down.

Every `CALLSCREEN_*` variable is read here and nowhere else (README, "Configuration").
A malformed value raises `ConfigError` naming the variable and the value.

Where Redis is, is decided here too, once: `Settings.redis` is a `RedisLocation`, and every
command, server and script asks it for the URL to use (like arq's `RedisSettings`).
"""

from __future__ import annotations

import os
import re

from blocklist.entries import Action, Category, Direction
from blocklist.errors import ConfigError
from blocklist.origin import (
    OriginPolicy,
    parse_home_countries,
    parse_origin_policy,
    preset_policy,
)
from blocklist.policy import (
    DEFAULT_LABELS,
    DEFAULT_POLICY,
    PROMPT_LANGUAGES,
    parse_labels,
    parse_policy,
)
from blocklist.urls import unquote
from blocklist.values import value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from ipaddress import IPv4Network, IPv6Network

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SWITCH = ("on", "1", "true", "yes", "off", "0", "false", "no")  # the first four switch on
# CALLSCREEN_ROAMING_CHECK_URL in its parts, each then checked by `_check_roaming_url`:
# http(s):// (any case), user info (refused, by name), a host (a host name, an IPv4 address or
# an [IPv6 address]; checked after), an optional :PORT (checked after), then path, query or
# nothing, and a #fragment (refused, by name). Spaces and control characters are refused first.
ROAMING_URL = re.compile(
    r"(?i)https?://(?P<userinfo>[^/?#]*@)?(?P<host>\[[^/?#@\]]*\]|[^/?#@:\[\]]*)"
    r"(?::(?P<port>[^/?#]*))?(?:[/?][^#]*)?(?P<fragment>#.*)?",
    re.DOTALL,
)
URL_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
HOST_NAME = re.compile(r"[a-z0-9._-]+", re.IGNORECASE)  # _ too: resolvers take it, DNS holds it
IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                  r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")

DEFAULT_PROTECTED: Mapping[str, tuple[str, ...]] = {
    # 113 Zelfmoordpreventie; 116xxx harmonised European services of social value.
    "NL": ("0800 0113", "116xxx"),
    "DE": ("116xxx", "0800 111 0 111", "0800 111 0 222"),
    "GB": ("116xxx",),
}


@value
class Listen:
    """A host and port to listen on."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, name: str = "address") -> Listen:
        host, sep, port = text.strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError(f"{name} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:4573")
        return cls(host.strip("[]") or "127.0.0.1", int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@value
class EmbeddedRedis:
    """The redis-server that `callscreen run` starts when `CALLSCREEN_REDIS_URL` is unset.

    Its files (data, configuration, log) and its unix socket are in `directory`
    (`CALLSCREEN_DATA_DIR/redis`); it also listens on 127.0.0.1:`port`
    (`CALLSCREEN_EMBEDDED_REDIS_PORT`). `blocklist.redis_server` runs it.
    """

    directory: str
    port: int

    @property
    def socket_path(self) -> str:
        return os.path.join(self.directory, "redis.sock")

    @property
    def tcp_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def socket_url(self) -> str:
        return f"unix://{os.path.abspath(self.socket_path)}"


SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
SENTINEL_PORT = 26379
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


@value
class SentinelLocation:
    """A primary found through Redis Sentinel: `CALLSCREEN_REDIS_URL` as

        redis+sentinel://[[user]:password@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]
            [?sentinel_password=...&sentinel_username=...]

    (`rediss+sentinel://`: TLS to the Redis nodes). The user and password are the Redis
    nodes' (primary and replicas); the Sentinels' own credentials, when they have any, are the
    `sentinel_*` query parameters: the Sentinels rarely share the nodes' password, so one is
    never sent for the other. A port left out is Sentinel's, 26379.
    """

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    tls: bool = False
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SentinelLocation:
        """Raises ConfigError naming the URL (without its passwords) and what is wrong."""
        shown = _without_password(url)
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in SENTINEL_SCHEMES:
            raise ConfigError(f"Redis URL {shown!r}: a Sentinel URL starts redis+sentinel://"
                              " or rediss+sentinel://")
        rest, _, query = rest.partition("?")
        options: dict[str, str] = {}
        for pair in query.split("&") if query else ():
            name, eq, text = pair.partition("=")
            if name not in _SENTINEL_OPTIONS or not eq:
                raise ConfigError(f"Redis URL {shown!r}: unknown option {name!r} (known:"
                                  f" {', '.join(_SENTINEL_OPTIONS)})")
            options[name] = unquote(text)
        userinfo, at, hosts_path = rest.rpartition("@")
        if not at:
            userinfo, hosts_path = "", rest
        hosts_text, _, path = hosts_path.partition("/")
        sentinels = tuple(_sentinel_host(h, shown) for h in hosts_text.split(","))
        service, _, db_text = path.partition("/")
        if not service or not all(c.isalnum() or c in "-_." for c in service):
            raise ConfigError(f"Redis URL {shown!r}: expected /SERVICE after the Sentinels"
                              " (letters, digits, - _ .), e.g. /callscreen")
        if db_text.endswith("/"):
            db_text = db_text[:-1]
        if db_text and not (db_text.isdecimal() and int(db_text) < 10_000):
            raise ConfigError(f"Redis URL {shown!r}: database {db_text!r} is not a number")
        username, colon, password = userinfo.partition(":")
        return cls(
            sentinels=sentinels, service=service, db=int(db_text or 0),
            tls=scheme == "rediss+sentinel", username=unquote(username) or None,
            password=unquote(password) if colon else None,
            sentinel_username=options.get("sentinel_username") or None,
            sentinel_password=options.get("sentinel_password"),
        )

    def __str__(self) -> str:
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
        scheme = "rediss+sentinel" if self.tls else "redis+sentinel"
        return f"{scheme}://{hosts}/{self.service}/{self.db}"


def _sentinel_host(text: str, shown: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [ipv6]:port
        host, _, tail = text[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else tail
    else:
        host, _, port_text = text.partition(":")
    if not host or not all(c.isalnum() or c in "-_.:" for c in host):
        raise ConfigError(f"Redis URL {shown!r}: Sentinel host {text!r} is not a host name")
    if port_text and not (port_text.isdecimal() and 0 < int(port_text) < 65536):
        raise ConfigError(f"Redis URL {shown!r}: Sentinel port {port_text!r} is not a port")
    return host, int(port_text) if port_text else SENTINEL_PORT




@value
class RedisLocation:
    """Where the blocklist's Redis is: `CALLSCREEN_REDIS_URL`, or else the embedded one; and
    where the call path reads (`CALLSCREEN_READ_URLS`).

    Built from the settings (`Settings.redis`); nothing else decides it. The call path and
    callscreen's own commands reach the embedded Redis differently, for the reasons given
    below; with a configured URL both use it. With a Sentinel URL (`sentinel` is set), the
    writers find the primary through the Sentinels and follow a failover, and the call path
    reads the replicas the Sentinels name unless `read_urls` lists endpoints of its own.
    """

    configured_url: str | None  # CALLSCREEN_REDIS_URL
    embedded: EmbeddedRedis
    read_urls: tuple[str, ...] = ()  # CALLSCREEN_READ_URLS, in order of preference
    min_replicas_ack: int | None = None  # CALLSCREEN_MIN_REPLICAS_ACK; None: decide by topology

    @property
    def sentinel(self) -> SentinelLocation | None:
        """The Sentinels and service, when `CALLSCREEN_REDIS_URL` is a Sentinel URL."""
        url = self.configured_url
        if url is None or url.partition("://")[0] not in SENTINEL_SCHEMES:
            return None
        return SentinelLocation.parse(url)

    @property
    def call_path_url(self) -> str:
        """The Redis the per-call script asks. The embedded one over TCP: Asterisk runs the
        script as its own user, who may not open the socket in callscreen's data directory,
        and from its own working directory, where a relative `CALLSCREEN_DATA_DIR` means
        nothing. No file system check either: the script fails open if nothing answers."""
        return self.configured_url or self.embedded.tcp_url

    def call_path_reads(self) -> tuple[str, ...]:
        """The URLs the call path tries, in order: `CALLSCREEN_READ_URLS`, else the one Redis
        (a Sentinel URL here means: ask the Sentinels for the replicas, then the primary)."""
        return self.read_urls or (self.call_path_url,)

    def service_url(self) -> str:
        """The Redis for callscreen's own commands and servers (run as callscreen's user).

        The embedded one through its unix socket: the socket in the data directory names
        that directory's Redis, where the TCP port might be any Redis. Raises `ConfigError`
        saying what to do when it is not running.
        """
        if self.configured_url:
            return self.configured_url
        if not os.path.exists(self.embedded.socket_path):
            raise ConfigError(
                "CALLSCREEN_REDIS_URL is not set and no embedded Redis is running"
                f" (no {self.embedded.socket_path}): start `callscreen run`, or set"
                " CALLSCREEN_REDIS_URL"
            )
        return self.embedded.socket_url


@value
class Settings:
    """callscreen's configuration. Build it with `Settings.from_env(os.environ)`."""

    redis_url: str | None = None
    region: str = "NL"
    lookup_timeout_s: float = 0.05
    default_language: str = "en"
    protected_numbers: tuple[str, ...] = DEFAULT_PROTECTED["NL"]
    policy: Mapping[tuple[Category, Direction], Action] = DEFAULT_POLICY
    # Origin screening (blocklist.origin): the calling codes whose caller IDs are ours, and
    # what to do with them from abroad. The default preset `off` changes nothing.
    home_countries: tuple[str, ...] = ("31",)
    origin_policy: OriginPolicy = OriginPolicy()
    # SCREEN_LABEL by (action, language): the caller name shown on an inbound warn or withhold.
    labels: Mapping[tuple[Action, str], str] = DEFAULT_LABELS
    # The operator's roaming endpoint (`GET .../{e164}` -> {"roaming": true}); None: no check.
    roaming_check_url: str | None = None
    # A PEM CA bundle the https roaming endpoint's certificate is verified against (an
    # operator's internal CA); None: the system's trust store.
    roaming_check_ca: str | None = None
    key_prefix: str = "cs"
    fastagi_listen: Listen = Listen("127.0.0.1", 4573)
    metrics_listen: Listen | None = Listen("127.0.0.1", 9573)
    api_listen: Listen = Listen("127.0.0.1", 8573)
    max_calls: int = 2000
    workers: int = 1
    data_dir: str = "var"  # the embedded Redis keeps its files here
    embedded_redis_port: int = 6380
    log_numbers: str = "hash"
    log_level: str = "INFO"
    # The FastAGI server's activity counts (hits per listed number) go to the store this
    # often; a crash loses at most this much of them, and a call never waits for it.
    activity_flush_s: float = 5.0
    # Reports (admin API): this many distinct reporters within the window list a number as
    # `suspected` for `report_listing_days`. At least 2, so one reporter can't list alone.
    report_threshold: int = 3
    report_window_s: float = 7 * 86400
    report_listing_days: int = 30
    audit_max_events: int = 100_000  # the audit stream is trimmed to about this many
    api_max_upload_bytes: int = 64 * 1024 * 1024  # bulk imports through the admin API
    feeds_file: str | None = None  # feed configurations stored at first start (JSON)
    feed_sync: bool = True  # the API process runs the feed scheduler
    read_urls: tuple[str, ...] = ()  # the call path's read endpoints, in order of preference
    min_replicas_ack: int | None = None  # replicas that must have a write; None: 1 if any
    # Feed hosts that may resolve to loopback/private/link-local addresses (lower case).
    feed_allowed_hosts: tuple[str, ...] = ()
    # Reverse proxies in front of the API whose X-Forwarded-For is believed (the console's
    # sign-in limit counts per client address); none by default: the peer is the client.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()

    @property
    def redis(self) -> RedisLocation:
        """Where Redis is (a property, so a copy with another `redis_url` can't disagree)."""
        return RedisLocation(
            self.redis_url, EmbeddedRedis(os.path.join(self.data_dir, "redis"),
                                          self.embedded_redis_port),
            self.read_urls, self.min_replicas_ack,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read `CALLSCREEN_*` variables; unset ones take the defaults."""

        def get(name: str) -> str | None:
            value = environ.get("CALLSCREEN_" + name)
            return value.strip() if value is not None and value.strip() else None

        def number(name: str, default: float, low: float, high: float) -> float:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"CALLSCREEN_{name}={raw!r} is not a number") from None
            if not low <= value <= high:  # also refuses nan
                raise ConfigError(f"CALLSCREEN_{name}={raw!r} is outside {low:g}..{high:g}")
            return value

        def whole(name: str, default: int, low: int, high: int) -> int:
            raw = get(name)
            if raw is not None and not raw.isdecimal():
                raise ConfigError(f"CALLSCREEN_{name}={raw!r} is not a whole number")
            return int(number(name, default, low, high))

        def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
            raw = get(name)
            if raw is None:
                return default
            if raw.lower() not in choices:
                raise ConfigError(f"CALLSCREEN_{name}={raw!r}: use {', '.join(choices)}")
            return raw.lower()

        region = (get("REGION") or "NL").upper()
        if len(region) != 2 or not region.isalpha():
            raise ConfigError(f"CALLSCREEN_REGION={region!r}: expected ISO 3166 alpha-2, e.g. NL")
        language = (get("DEFAULT_LANGUAGE") or "en").lower()
        if language not in PROMPT_LANGUAGES:
            raise ConfigError(
                f"CALLSCREEN_DEFAULT_LANGUAGE={language!r}: prompts exist for"
                f" {', '.join(PROMPT_LANGUAGES)}"
            )
        protected_raw = get("PROTECTED_NUMBERS")
        protected = (
            tuple(p.strip() for p in protected_raw.split(",") if p.strip())
            if protected_raw is not None
            else DEFAULT_PROTECTED.get(region, ("116xxx",))
        )
        redis_url = get("REDIS_URL")
        if redis_url is not None:
            scheme = redis_url.partition("://")[0]
            if scheme in SENTINEL_SCHEMES:
                try:
                    SentinelLocation.parse(redis_url)
                except ConfigError as exc:
                    raise ConfigError(f"CALLSCREEN_REDIS_URL: {exc}") from None
            elif scheme not in ("redis", "rediss", "unix"):
                raise ConfigError(
                    f"CALLSCREEN_REDIS_URL={_without_password(redis_url)!r}: expected"
                    " redis://, rediss://, unix://, redis+sentinel:// or rediss+sentinel://"
                )
        read_urls = tuple(u.strip() for u in (get("READ_URLS") or "").split(",") if u.strip())
        for url in read_urls:
            if url.partition("://")[0] not in ("redis", "rediss", "unix"):
                raise ConfigError(
                    f"CALLSCREEN_READ_URLS: {_without_password(url)!r} is not a redis://,"
                    " rediss:// or unix:// URL (the call path reads from Redis nodes, not"
                    " Sentinels)"
                )
            from blocklist.store.wire import RedisAddress  # the call path's own parser

            try:
                RedisAddress.from_url(url)
            except ConfigError as exc:
                raise ConfigError(f"CALLSCREEN_READ_URLS: {exc}") from None
        min_ack = get("MIN_REPLICAS_ACK")
        metrics = get("METRICS_LISTEN")
        if metrics is not None and metrics.lower() == "off":
            metrics = "off"
        key_prefix = get("KEY_PREFIX") or "cs"
        if not (key_prefix.isascii() and key_prefix.replace("_", "").replace("-", "").isalnum()):
            raise ConfigError(f"CALLSCREEN_KEY_PREFIX={key_prefix!r}: letters, digits, - and _")
        policy_text = get("POLICY") or ""
        try:
            policy = parse_policy(policy_text)
        except ConfigError as exc:
            raise ConfigError(f"CALLSCREEN_POLICY={policy_text!r}: {exc}") from None
        home_text = get("HOME_COUNTRIES") or region
        try:
            home_countries = parse_home_countries(home_text)
        except ConfigError as exc:
            raise ConfigError(f"CALLSCREEN_HOME_COUNTRIES={home_text!r}: {exc}") from None
        preset_text = get("ORIGIN_PRESET") or "off"
        try:
            preset = preset_policy(preset_text)
        except ConfigError as exc:
            raise ConfigError(f"CALLSCREEN_ORIGIN_PRESET={preset_text!r}: {exc}") from None
        origin_text = get("ORIGIN_POLICY") or ""
        try:
            origin_policy = parse_origin_policy(preset, origin_text)
        except ConfigError as exc:
            raise ConfigError(f"CALLSCREEN_ORIGIN_POLICY={origin_text!r}: {exc}") from None
        labels: dict[tuple[Action, str], str] = {}
        for action in (Action.WARN, Action.WITHHOLD):
            name = f"CALLSCREEN_LABEL_{action.name}"
            raw = environ.get(name)  # set but empty turns the labels off: not `get`
            try:
                labels.update(parse_labels(action, raw))
            except ConfigError as exc:
                raise ConfigError(f"{name}={raw!r}: {exc}") from None
        roaming_url = get("ROAMING_CHECK_URL")
        if roaming_url is not None:
            _check_roaming_url(roaming_url)
        roaming_ca = get("ROAMING_CHECK_CA")
        if roaming_ca is not None and (
            roaming_url is None or not roaming_url.lower().startswith("https://")
        ):
            # Only this here: the file itself is read where a long-lived process starts
            # (`check_at_start`), not on each call of the per-call script, where a CA file
            # that can't be read makes only the roaming check fail, not the call.
            raise ConfigError(
                f"CALLSCREEN_ROAMING_CHECK_CA={roaming_ca!r}: only for an https://"
                f" CALLSCREEN_ROAMING_CHECK_URL (it is {roaming_url!r})"
            )
        return cls(
            redis_url=redis_url,
            region=region,
            lookup_timeout_s=number("LOOKUP_TIMEOUT_MS", 50, 1, 10_000) / 1000,
            default_language=language,
            protected_numbers=protected,
            policy=policy,
            home_countries=home_countries,
            origin_policy=origin_policy,
            labels=labels,
            roaming_check_url=roaming_url,
            roaming_check_ca=roaming_ca,
            key_prefix=key_prefix,
            fastagi_listen=Listen.parse(
                get("FASTAGI_LISTEN") or "127.0.0.1:4573", name="CALLSCREEN_FASTAGI_LISTEN"
            ),
            metrics_listen=(
                None if metrics == "off"
                else Listen.parse(metrics or "127.0.0.1:9573", name="CALLSCREEN_METRICS_LISTEN")
            ),
            api_listen=Listen.parse(
                get("API_LISTEN") or "127.0.0.1:8573", name="CALLSCREEN_API_LISTEN"
            ),
            max_calls=whole("MAX_CALLS", 2000, 1, 1_000_000),
            workers=whole("WORKERS", 1, 1, 64),
            data_dir=get("DATA_DIR") or "var",
            embedded_redis_port=whole("EMBEDDED_REDIS_PORT", 6380, 1, 65535),
            log_numbers=choice("LOG_NUMBERS", "hash", ("hash", "plain", "none")),
            log_level=choice("LOG_LEVEL", "info", LOG_LEVELS).upper(),
            activity_flush_s=number("ACTIVITY_FLUSH_S", 5, 0.5, 300),
            report_threshold=whole("REPORT_THRESHOLD", 3, 2, 1_000_000),
            report_window_s=number("REPORT_WINDOW_HOURS", 168, 1, 8760) * 3600,
            report_listing_days=whole("REPORT_LISTING_DAYS", 30, 1, 3650),
            audit_max_events=whole("AUDIT_MAX_EVENTS", 100_000, 1000, 100_000_000),
            api_max_upload_bytes=whole("API_MAX_UPLOAD_MB", 64, 1, 4096) * 1024 * 1024,
            feeds_file=get("FEEDS_FILE"),
            feed_sync=choice("FEED_SYNC", "on", SWITCH) in SWITCH[:4],
            read_urls=read_urls,
            min_replicas_ack=(
                None if min_ack is None else whole("MIN_REPLICAS_ACK", 1, 0, 100)
            ),
            feed_allowed_hosts=_host_names(get("FEED_ALLOWED_HOSTS")),
            trusted_proxies=_networks(get("TRUSTED_PROXIES")),
        )


def _check_roaming_url(url: str) -> None:
    """CALLSCREEN_ROAMING_CHECK_URL, checked with regular expressions, not urllib.parse: the
    per-call script reads its settings on every call, and agi.roaming_http parses the URL only
    for a call that is checked (and refuses the same URLs: tests/agi/test_roaming_url.py).

    Refused, by what is wrong: anything not ASCII; a space or control character anywhere;
    not http:// or https://; user info (`user:password@`, never sent); a `#fragment` (never
    sent); a host that is not a host name (letters, digits, `-`, `.`, `_`), an IPv4 address
    (a name whose last label is a number must be one: `10.0.0.256`, `010.0.0.1` and `1.2.3`
    are refused, not left to the resolver's reading) or an IPv6 address in brackets (without
    a `%zone`); a port that is empty, not digits or outside 1..65535. Raises ConfigError."""
    expected = "expected http:// or https://HOST[:PORT]/..."
    problem: str | None
    if not url.isascii():
        problem = "not ASCII (percent-encode the path, write the host name in its xn-- form)"
    elif URL_SPACE_OR_CONTROL.search(url):
        problem = (f"{expected} without spaces or control characters"
                   " (percent-encode them in the path or query)")
    else:
        parts = ROAMING_URL.fullmatch(url)
        problem = (_roaming_url_problem(parts, expected) if parts is not None
                   else f"{expected}, e.g. http://hlr.example/roaming/{{e164}}")
    if problem is not None:
        raise ConfigError(f"CALLSCREEN_ROAMING_CHECK_URL={url!r}: {problem}")


def _roaming_url_problem(parts: re.Match[str], expected: str) -> str | None:
    """What is wrong with the parts of a URL that `ROAMING_URL` matched, or None."""
    host, port = parts["host"], parts["port"]
    if parts["userinfo"]:
        return "user info (user:password@) is not sent; the endpoint must answer without it"
    if parts["fragment"] is not None:
        return "a #fragment is not sent (write a # in the path or query as %23)"
    if not host:
        return f"{expected}, e.g. http://hlr.example/roaming/{{e164}}"
    problem = roaming_host_problem(host)
    if problem is None and port is not None:
        number = roaming_port_number(port)
        if number is None:
            problem = f"{expected}: the port is not a port (a number 1..65535 after the ':')"
        elif number == 0:
            problem = "port 0 is not a port"
    return problem


def roaming_host_problem(host: str) -> str | None:
    """What is wrong with the host of a roaming check URL, as written (an IPv6 address in its
    brackets), or None: the rule both `_check_roaming_url` and `agi.roaming_http` apply."""
    if host.startswith("["):
        import ipaddress  # here: only for an IPv6 literal, not on every call of the script

        if "%" in host:
            return f"the host {host!r}: an IPv6 zone (%) is not supported"
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"the host {host!r} is not an IPv6 address in brackets"
    elif not HOST_NAME.fullmatch(host):
        return (f"the host {host!r} is not a host name (letters, digits, '-', '.', '_'),"
                " an IPv4 address or an [IPv6 address]")
    elif host.removesuffix(".").rpartition(".")[2].isdigit() and not IPV4.fullmatch(host):
        return (f"the host {host!r} ends in a number but is not an IPv4 address"
                " (four numbers 0..255, without leading zeros)")
    return None


def roaming_port_number(text: str) -> int | None:
    """The port a roaming check URL names after its ':' (0 included, for the caller to refuse
    by name), or None when `text` is not one: digits only, any number of leading zeros, at
    most 65535 (and no int() of thousands of digits)."""
    digits = text.lstrip("0")
    if not text.isdigit() or len(digits) > 5 or int(digits or "0") > 65535:
        return None
    return int(digits or "0")


def check_at_start(settings: Settings) -> None:
    """The checks too slow, or too fatal, for each call of the per-call script, made where a
    long-lived process starts (the FastAGI server, `callscreen run`): the roaming check's CA
    bundle is a readable PEM file. Raises ConfigError naming the variable, the file and what
    is wrong."""
    ca = settings.roaming_check_ca
    if ca is not None:
        try:
            check_pem_certificates(ca)
        except ConfigError as exc:
            raise ConfigError(f"CALLSCREEN_ROAMING_CHECK_CA={ca!r}: {exc}") from None


def _without_password(url: str) -> str:
    """A URL for an error message: whatever precedes an `@` may be a password, and so is
    a `sentinel_password` option."""
    url, question, query = url.partition("?")
    if question:
        query = "&".join(
            f"{name}=***" if "password" in name else f"{name}{eq}{text}"
            for name, eq, text in (p.partition("=") for p in query.split("&"))
        )
    head, at, tail = url.rpartition("@")
    if at:
        scheme, sep, _ = head.partition("://")
        url = f"{scheme}{sep}***@{tail}" if sep else f"***@{tail}"
    return url + question + query


def _host_names(raw: str | None) -> tuple[str, ...]:
    """CALLSCREEN_FEED_ALLOWED_HOSTS: comma-separated host names (or IP addresses)."""
    names = [n.strip().lower().rstrip(".") for n in (raw or "").split(",") if n.strip()]
    for name in names:
        if not re.fullmatch(r"[a-z0-9_.:-]+", name):
            raise ConfigError(f"CALLSCREEN_FEED_ALLOWED_HOSTS: {name!r} is not a host name")
    return tuple(names)


def _networks(raw: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    """CALLSCREEN_TRUSTED_PROXIES: comma-separated IP addresses or networks (CIDR)."""
    items = [item.strip() for item in (raw or "").split(",") if item.strip()]
    if not items:
        return ()
    import ipaddress  # here: the per-call script reads its settings too, and rarely this

    networks = []
    for item in items:
        try:
            network = ipaddress.ip_network(item)  # strict: 10.0.0.1/8 is refused, not widened
        except ValueError:
            raise ConfigError(
                f"CALLSCREEN_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                " (e.g. 10.0.0.5, 10.0.0.0/24, fd00::/64)"
            ) from None
        if network.prefixlen == 0:
            # Every address trusted: any client could write the address it is counted under.
            raise ConfigError(f"CALLSCREEN_TRUSTED_PROXIES: {item!r} would trust every address")
        networks.append(network)
    return tuple(networks)


def check_pem_certificates(path: str) -> None:
    """`path` is a readable file of PEM certificates (a CA bundle): at least one
    `-----BEGIN CERTIFICATE-----` block, each of base64 that decodes to DER. Raises
    ConfigError saying what is wrong. Checked without `ssl`, at a long-lived process's start
    (`check_at_start`); whether OpenSSL accepts each certificate shows when it loads."""
    import binascii

    try:
        with open(path, "rb") as file:
            text = file.read(4 * 1024 * 1024 + 1)
    except OSError as exc:
        raise ConfigError(f"can't read it: {exc.strerror or exc}") from None
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    if len(text) > 4 * 1024 * 1024:
        raise ConfigError("larger than 4 MB: not a CA bundle")
    blocks = text.split(begin)[1:]
    if not blocks:
        raise ConfigError(f"not a PEM file: no {begin.decode()} in it")
    for number, block in enumerate(blocks, 1):
        body, sep, _ = block.partition(end)
        try:
            der = binascii.a2b_base64(b"".join(body.split()), strict_mode=True)
        except binascii.Error:
            der = b""
        if not sep or not der.startswith(b"\x30"):
            raise ConfigError(f"certificate {number} is not PEM (base64 between BEGIN and END)")
