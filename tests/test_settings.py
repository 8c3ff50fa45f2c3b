"""Settings: what `Settings.from_env` makes of the environment, and where Redis is."""

from __future__ import annotations

import socket
from ipaddress import ip_network
from pathlib import Path

import pytest

from blocklist.entries import Action, Category, Direction
from blocklist.errors import ConfigError
from blocklist.origin import PRESETS
from blocklist.settings import EmbeddedRedis, Listen, SentinelLocation, Settings, check_at_start
from blocklist.values import replace


def test_nothing_set_gives_the_defaults() -> None:
    """An environment without CALLSCREEN_* variables gives the documented defaults."""
    assert Settings.from_env({"HOME": "/root", "CALLSCREEN_REGION": " "}) == Settings()


@pytest.mark.parametrize(("name", "raw", "field", "expected"), [
    ("REDIS_URL", "redis://:pw@db:6379/1", "redis_url", "redis://:pw@db:6379/1"),
    ("REDIS_URL", "unix:///run/redis.sock", "redis_url", "unix:///run/redis.sock"),
    ("REGION", " de ", "region", "DE"),
    ("REGION", "de", "protected_numbers", ("116xxx", "0800 111 0 111", "0800 111 0 222")),
    ("LOOKUP_TIMEOUT_MS", "20", "lookup_timeout_s", 0.02),
    ("LOOKUP_TIMEOUT_MS", "2.5", "lookup_timeout_s", 0.0025),
    ("DEFAULT_LANGUAGE", "NL", "default_language", "nl"),
    ("PROTECTED_NUMBERS", "0800 0113, 116xxx,", "protected_numbers", ("0800 0113", "116xxx")),
    ("POLICY", "suspected.inbound=block", "policy",
     {**Settings().policy, (Category.SUSPECTED, Direction.INBOUND): Action.BLOCK}),
    ("KEY_PREFIX", "cs-test_2", "key_prefix", "cs-test_2"),
    ("FASTAGI_LISTEN", "0.0.0.0:4600", "fastagi_listen", Listen("0.0.0.0", 4600)),
    ("FASTAGI_LISTEN", "[::1]:4600", "fastagi_listen", Listen("::1", 4600)),
    ("METRICS_LISTEN", "off", "metrics_listen", None),
    ("METRICS_LISTEN", "OFF", "metrics_listen", None),
    ("API_LISTEN", ":8000", "api_listen", Listen("127.0.0.1", 8000)),
    ("MAX_CALLS", "500", "max_calls", 500),
    ("WORKERS", "4", "workers", 4),
    ("DATA_DIR", "/var/lib/callscreen", "data_dir", "/var/lib/callscreen"),
    ("EMBEDDED_REDIS_PORT", "7000", "embedded_redis_port", 7000),
    ("LOG_NUMBERS", "Plain", "log_numbers", "plain"),
    ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("REPORT_THRESHOLD", "2", "report_threshold", 2),
    ("REPORT_WINDOW_HOURS", "24", "report_window_s", 86400),
    ("ACTIVITY_FLUSH_S", "2.5", "activity_flush_s", 2.5),
    ("REPORT_LISTING_DAYS", "7", "report_listing_days", 7),
    ("AUDIT_MAX_EVENTS", "5000", "audit_max_events", 5000),
    ("API_MAX_UPLOAD_MB", "2", "api_max_upload_bytes", 2 * 1024 * 1024),
    ("FEEDS_FILE", "/etc/callscreen/feeds.json", "feeds_file", "/etc/callscreen/feeds.json"),
    ("FEED_SYNC", "off", "feed_sync", False),
    ("FEED_SYNC", "No", "feed_sync", False),
    ("FEED_SYNC", "1", "feed_sync", True),
    ("HOME_COUNTRIES", "NL, 32", "home_countries", ("31", "32")),
    ("HOME_COUNTRIES", "uk", "home_countries", ("44",)),
    ("ROAMING_CHECK_URL", "http://hlr.example/r/{e164}", "roaming_check_url",
     "http://hlr.example/r/{e164}"),
    ("ROAMING_CHECK_URL", "https://[fd00::5]:8443/r?key=k", "roaming_check_url",
     "https://[fd00::5]:8443/r?key=k"),
    ("ROAMING_CHECK_URL", "HTTPS://hlr.example", "roaming_check_url", "HTTPS://hlr.example"),
    ("TRUSTED_PROXIES", "", "trusted_proxies", ()),
    ("TRUSTED_PROXIES", " 10.0.0.5 , fd00::/64,", "trusted_proxies",
     (ip_network("10.0.0.5/32"), ip_network("fd00::/64"))),
    ("TRUSTED_PROXIES", "192.0.2.0/24", "trusted_proxies", (ip_network("192.0.2.0/24"),)),
])
def test_good_values(name: str, raw: str, field: str, expected: object) -> None:
    """Each variable, well formed, sets its setting (case and spaces forgiven)."""
    assert getattr(Settings.from_env({f"CALLSCREEN_{name}": raw}), field) == expected


@pytest.mark.parametrize(("name", "raw", "says"), [
    ("REDIS_URL", "localhost:6379", "'localhost:6379': expected redis://"),
    ("REDIS_URL", "http://db", "'http://db': expected redis://"),
    ("REGION", "NLD", "'NLD': expected ISO 3166"),
    ("REGION", "N1", "'N1': expected ISO 3166"),
    ("LOOKUP_TIMEOUT_MS", "fast", "'fast' is not a number"),
    ("LOOKUP_TIMEOUT_MS", "0", "'0' is outside 1..10000"),
    ("LOOKUP_TIMEOUT_MS", "nan", "'nan' is outside"),
    ("LOOKUP_TIMEOUT_MS", "inf", "'inf' is outside"),
    ("DEFAULT_LANGUAGE", "fr", "'fr': prompts exist for en, nl"),
    ("POLICY", "suspected=block", "'suspected=block': policy rule 'suspected=block'"),
    ("POLICY", "fraud.inbound=shout", "expected CATEGORY.DIRECTION=ACTION"),
    ("KEY_PREFIX", "cs:x", "'cs:x': letters, digits"),
    ("KEY_PREFIX", "café", "'café': letters, digits"),
    ("FASTAGI_LISTEN", "4573", "'4573': expected HOST:PORT"),
    ("METRICS_LISTEN", "localhost:http", "'localhost:http': expected HOST:PORT"),
    ("API_LISTEN", "127.0.0.1:70000", "'127.0.0.1:70000': expected HOST:PORT"),
    ("MAX_CALLS", "2.5", "'2.5' is not a whole number"),
    ("MAX_CALLS", "0", "'0' is outside 1..1e+06"),
    ("WORKERS", "-1", "'-1' is not a whole number"),
    ("WORKERS", "65", "'65' is outside 1..64"),
    ("EMBEDDED_REDIS_PORT", "65536", "'65536' is outside 1..65535"),
    ("LOG_NUMBERS", "md5", "'md5': use hash, plain, none"),
    ("LOG_LEVEL", "LOUD", "'LOUD': use debug, info, warning, error, critical"),
    ("REPORT_THRESHOLD", "1", "'1' is outside 2..1e+06"),
    ("REPORT_WINDOW_HOURS", "a week", "'a week' is not a number"),
    ("REPORT_LISTING_DAYS", "3651", "'3651' is outside 1..3650"),
    ("ACTIVITY_FLUSH_S", "0", "'0' is outside 0.5..300"),
    ("AUDIT_MAX_EVENTS", "10", "'10' is outside 1000..1e+08"),
    ("API_MAX_UPLOAD_MB", "1e3", "'1e3' is not a whole number"),
    ("FEED_SYNC", "maybe", "'maybe': use on, 1, true, yes, off, 0, false, no"),
    ("HOME_COUNTRIES", "Holland", "'Holland': expected a calling code"),
    ("HOME_COUNTRIES", "999", "'999' is not a country calling code"),
    ("ORIGIN_PRESET", "US", "'US': use one of off, BE"),
    ("ORIGIN_PRESET", "on", "'on': use one of off, BE"),
    ("ORIGIN_POLICY", "fixed=hide", "'fixed=hide': expected TYPE=ACTION"),
    ("ORIGIN_POLICY", "mobile", "'mobile': expected TYPE=ACTION"),
    ("ORIGIN_POLICY", "voip=block", "'voip=block': expected TYPE=ACTION"),
    ("POLICY", "suspected.inbound=withhold", "withhold is for origin screening"),
    ("LABEL_WARN", "de=Betrug", "'de=Betrug': expected LANGUAGE=LABEL"),
    ("LABEL_WARN", "en=Scam, call 112", "'call 112': expected LANGUAGE=LABEL"),
    ("LABEL_WITHHOLD", "en=${EVIL}", "'en=${EVIL}': expected LANGUAGE=LABEL"),
    ("LABEL_WITHHOLD", "nl=" + "x" * 41, "up to 40 letters"),
    ("LABEL_WITHHOLD", "de=", "'de=': expected LANGUAGE=LABEL"),
    ("LABEL_WITHHOLD", "nl", "'nl': expected LANGUAGE=LABEL"),
    ("ROAMING_CHECK_URL", "hlr.example/roaming", "'hlr.example/roaming': expected http://"),
    ("ROAMING_CHECK_URL", "ftp://hlr.example/{e164}", "expected http:// or https://"),
    ("ROAMING_CHECK_URL", "http:///roaming", "expected http:// or https://"),
    ("ROAMING_CHECK_URL", "http://hlr.example:http/r", "expected http:// or https://"),
    ("ROAMING_CHECK_URL", "http://hlr.example:70000/r", "expected http:// or https://"),
    ("ROAMING_CHECK_URL", "https://hlr example/r", "expected http:// or https://"),
    ("ROAMING_CHECK_URL", "https://hlr.exämple/r/{e164}", "not ASCII"),
    ("ROAMING_CHECK_URL", "https://hlr.example/rōaming/{e164}", "not ASCII"),
    ("ROAMING_CHECK_URL", "https://hlr.example/r?who={e164}&n=é", "not ASCII"),
    ("ROAMING_CHECK_URL", "https://user:pw@hlr.example/r", "user info (user:password@)"),
    ("ROAMING_CHECK_URL", "http://token@hlr.example/r", "user info (user:password@)"),
    ("ROAMING_CHECK_URL", "http://hlr.example:0/r", "port 0 is not a port"),
    ("ROAMING_CHECK_URL", "http://[fd00::5]:00/r", "port 0 is not a port"),
    ("TRUSTED_PROXIES", "proxy.example", "'proxy.example' is not an IP address or network"),
    ("TRUSTED_PROXIES", "10.0.0", "'10.0.0' is not an IP address"),
    ("TRUSTED_PROXIES", "10.0.0.5, 300.1.1.1", "'300.1.1.1' is not an IP address"),
    ("TRUSTED_PROXIES", "10.0.0.0/33", "'10.0.0.0/33' is not an IP address"),
    ("TRUSTED_PROXIES", "10.0.0.1/8", "'10.0.0.1/8' is not an IP address"),
    ("TRUSTED_PROXIES", "10.0.0.5:443", "'10.0.0.5:443' is not an IP address"),
    ("TRUSTED_PROXIES", "10.0.0.5 10.0.0.6", "'10.0.0.5 10.0.0.6' is not an IP address"),
    ("TRUSTED_PROXIES", "[::1]", "'[::1]' is not an IP address"),
    ("TRUSTED_PROXIES", "0.0.0.0/0", "'0.0.0.0/0' would trust every address"),
    ("TRUSTED_PROXIES", "::/0", "'::/0' would trust every address"),
])
def test_garbage_is_refused_naming_variable_and_value(name: str, raw: str, says: str) -> None:
    """A malformed value is a ConfigError naming the variable and the value."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({f"CALLSCREEN_{name}": raw})
    assert f"CALLSCREEN_{name}" in str(caught.value)
    assert says in str(caught.value)


HTTPS_URL = "https://hlr.example/roaming/{e164}"


def test_a_roaming_ca_bundle_is_taken(tmp_path: Path) -> None:
    """CALLSCREEN_ROAMING_CHECK_CA names a readable PEM bundle (one or more certificates)."""
    import trustme

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(trustme.CA().cert_pem.bytes() + trustme.CA().cert_pem.bytes())
    settings = Settings.from_env({"CALLSCREEN_ROAMING_CHECK_URL": HTTPS_URL,
                                  "CALLSCREEN_ROAMING_CHECK_CA": str(bundle)})
    assert settings.roaming_check_ca == str(bundle)
    check_at_start(settings)  # no error
    assert Settings.from_env({"CALLSCREEN_ROAMING_CHECK_URL": HTTPS_URL}).roaming_check_ca is None


BAD_CA_FILES = [
    (None, "can't read it: No such file or directory"),
    ("directory", "can't read it: Is a directory"),
    ("just some text\n", "not a PEM file: no -----BEGIN CERTIFICATE-----"),
    ("-----BEGIN PRIVATE KEY-----\nMAAA\n-----END PRIVATE KEY-----\n", "not a PEM file"),
    ("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
     "certificate 1 is not PEM"),
    ("-----BEGIN CERTIFICATE-----\nMAAA\n", "certificate 1 is not PEM"),  # no END
]


def bad_ca_file(tmp_path: Path, content: str | None) -> Path:
    path = tmp_path / "ca.pem"
    if content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize(("content", "says"), BAD_CA_FILES)
def test_a_bad_roaming_ca_is_refused_at_start(tmp_path: Path, content: str | None,
                                              says: str) -> None:
    """Missing, unreadable or not PEM: where a long-lived process starts, a ConfigError
    naming the variable and the file."""
    path = bad_ca_file(tmp_path, content)
    settings = Settings.from_env({"CALLSCREEN_ROAMING_CHECK_URL": HTTPS_URL,
                                  "CALLSCREEN_ROAMING_CHECK_CA": str(path)})
    with pytest.raises(ConfigError) as caught:
        check_at_start(settings)
    assert f"CALLSCREEN_ROAMING_CHECK_CA={str(path)!r}" in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize(("content", "says"), BAD_CA_FILES)
def test_reading_settings_does_not_read_the_ca(tmp_path: Path, content: str | None,
                                               says: str) -> None:
    """Settings.from_env (each call of the per-call script) only takes the path: a CA file
    rotated away or unreadable must not turn every call into an internal error."""
    path = bad_ca_file(tmp_path, content)
    settings = Settings.from_env({"CALLSCREEN_ROAMING_CHECK_URL": HTTPS_URL,
                                  "CALLSCREEN_ROAMING_CHECK_CA": str(path)})
    assert settings.roaming_check_ca == str(path), says


@pytest.mark.parametrize("url", [None, "http://hlr.example/roaming/{e164}"])
def test_a_roaming_ca_needs_an_https_url(tmp_path: Path, url: str | None) -> None:
    """A CA for no URL, or for a plain http one, is a mistake said plainly."""
    import trustme

    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    env = {"CALLSCREEN_ROAMING_CHECK_CA": str(bundle)}
    if url:
        env["CALLSCREEN_ROAMING_CHECK_URL"] = url
    with pytest.raises(ConfigError, match="only for an https:// CALLSCREEN_ROAMING_CHECK_URL"):
        Settings.from_env(env)


def test_origin_screening_is_off_unless_configured() -> None:
    """By default the home countries are the region's, and origin screening allows all."""
    settings = Settings.from_env({"CALLSCREEN_REGION": "DE"})
    assert settings.home_countries == ("49",)
    assert settings.origin_policy == PRESETS["off"]


def test_an_origin_preset_with_overrides() -> None:
    """CALLSCREEN_ORIGIN_POLICY overrides single values of CALLSCREEN_ORIGIN_PRESET."""
    settings = Settings.from_env({"CALLSCREEN_ORIGIN_PRESET": "de",
                                  "CALLSCREEN_ORIGIN_POLICY": "fixed=block"})
    policy = settings.origin_policy
    assert (policy.fixed, policy.mobile, policy.preset) == (Action.BLOCK, Action.WITHHOLD, "DE")
    assert policy.cut_off == PRESETS["DE"].cut_off


@pytest.mark.parametrize(("raw", "warn_en", "warn_nl"), [
    (None, "Possible scam", "Mogelijk oplichting"),
    ("", "", ""),
    ("off", "", ""),
    ("nl=Pas op: oplichting?", "Possible scam", "Pas op: oplichting?"),
    ("en=Scam?,nl=", "Scam?", ""),
    ("nl=", "Possible scam", ""),
    (" nl = , en = ", "", ""),
])
def test_warn_labels(raw: str | None, warn_en: str, warn_nl: str) -> None:
    """Unset keeps the default labels, empty or off turns them off, a language overrides, an
    empty label turns that language's off and leaves the others."""
    environ = {} if raw is None else {"CALLSCREEN_LABEL_WARN": raw}
    labels = Settings.from_env(environ).labels
    assert labels.get((Action.WARN, "en"), "") == warn_en
    assert labels.get((Action.WARN, "nl"), "") == warn_nl
    assert labels[(Action.WITHHOLD, "nl")] == "Nummer verborgen: buitenland"


def test_a_withhold_label_off_in_one_language() -> None:
    """CALLSCREEN_LABEL_WITHHOLD=en=...,nl= : the Dutch withheld call has no label (the
    dialplan then restricts presentation), the English one keeps its own; warn is untouched."""
    labels = Settings.from_env({"CALLSCREEN_LABEL_WITHHOLD": "en=Number hidden: abroad,nl="}
                               ).labels
    assert (Action.WITHHOLD, "nl") not in labels
    assert labels[(Action.WITHHOLD, "en")] == "Number hidden: abroad"
    assert labels[(Action.WARN, "nl")] == "Mogelijk oplichting"


def test_a_bad_redis_url_is_refused_without_its_password() -> None:
    """The error for a malformed CALLSCREEN_REDIS_URL does not print the password."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"CALLSCREEN_REDIS_URL": "redis:/user:s3cret@db:6379"})
    assert "s3cret" not in str(caught.value)
    assert "'***@db:6379'" in str(caught.value)


def test_a_wrong_scheme_is_named_without_the_password() -> None:
    """With a scheme, the message keeps it and hides only what precedes the `@`."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"CALLSCREEN_REDIS_URL": "http://user:s3cret@db:6379"})
    assert "'http://***@db:6379'" in str(caught.value)


def test_a_configured_redis_is_used_everywhere() -> None:
    """With CALLSCREEN_REDIS_URL, the call path and the commands both use it as given."""
    url = "rediss://user:pw@db.example:6390/2"
    location = Settings.from_env({"CALLSCREEN_REDIS_URL": url}).redis
    assert location.call_path_url == url
    assert location.service_url() == url


def test_the_embedded_redis_is_described_once() -> None:
    """Without it, the embedded Redis lives in DATA_DIR/redis and on EMBEDDED_REDIS_PORT."""
    settings = Settings.from_env(
        {"CALLSCREEN_DATA_DIR": "/srv/cs", "CALLSCREEN_EMBEDDED_REDIS_PORT": "7001"}
    )
    assert settings.redis.embedded == EmbeddedRedis("/srv/cs/redis", 7001)
    assert settings.redis.embedded.socket_path == "/srv/cs/redis/redis.sock"
    assert settings.redis.call_path_url == "redis://127.0.0.1:7001/0"


def test_commands_refuse_an_embedded_redis_that_is_not_running(tmp_path: Path) -> None:
    """No socket in the data directory: the error says to start it or set the URL."""
    settings = Settings(data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"callscreen run.*CALLSCREEN_REDIS_URL") as caught:
        settings.redis.service_url()
    assert str(tmp_path / "redis" / "redis.sock") in str(caught.value)


def test_commands_reach_a_running_embedded_redis_through_its_socket(tmp_path: Path) -> None:
    """A socket in the data directory: the commands use it, by its absolute path."""
    (tmp_path / "redis").mkdir()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "redis" / "redis.sock"))
        url = Settings(data_dir=str(tmp_path)).redis.service_url()
    assert url == f"unix://{tmp_path}/redis/redis.sock"


def test_the_location_follows_a_changed_copy() -> None:
    """`Settings.redis` is computed, so a copy with another URL can't disagree with it."""
    settings = replace(Settings(), redis_url="redis://elsewhere:6379/0")
    assert settings.redis.call_path_url == "redis://elsewhere:6379/0"


# -- Sentinel URLs, read endpoints, replica acknowledgements ---------------------------------

S = SentinelLocation


@pytest.mark.parametrize(("url", "expected"), [
    ("redis+sentinel://10.0.0.1:26379/callscreen",
     S((("10.0.0.1", 26379),), "callscreen")),
    ("redis+sentinel://s1,s2:26380,s3:5000/cs/2",
     S((("s1", 26379), ("s2", 26380), ("s3", 5000)), "cs", db=2)),
    ("redis+sentinel://:pw@s1:1/cs", S((("s1", 1),), "cs", password="pw")),
    ("redis+sentinel://user:p%40ss@s1/cs/0/", S((("s1", 26379),), "cs", username="user",
                                                password="p@ss")),
    ("rediss+sentinel://s1/cs?sentinel_password=sp&sentinel_username=su",
     S((("s1", 26379),), "cs", tls=True, sentinel_username="su", sentinel_password="sp")),
    ("redis+sentinel://[::1]:26379,[fe80::1]/my-service.1",
     S((("::1", 26379), ("fe80::1", 26379)), "my-service.1")),
])
def test_sentinel_urls_parse(url: str, expected: SentinelLocation) -> None:
    """A Sentinel URL gives its Sentinels (default port 26379), service, db and credentials."""
    assert SentinelLocation.parse(url) == expected
    assert Settings.from_env({"CALLSCREEN_REDIS_URL": url}).redis.sentinel == expected


@pytest.mark.parametrize(("url", "says"), [
    ("redis+sentinel://s1:26379", "expected /SERVICE"),
    ("redis+sentinel://s1:26379/", "expected /SERVICE"),
    ("redis+sentinel:///cs", "'' is not a host name"),
    ("redis+sentinel://s1,,s2/cs", "'' is not a host name"),
    ("redis+sentinel://s1:0/cs", "port '0' is not a port"),
    ("redis+sentinel://s1:99999/cs", "port '99999'"),
    ("redis+sentinel://s1:x/cs", "port 'x'"),
    ("redis+sentinel://s1/cs/abc", "database 'abc'"),
    ("redis+sentinel://s1/c s", "expected /SERVICE"),
    ("redis+sentinel://s1/cs?password=x", "unknown option 'password'"),
    ("redis+sentinel://s1/cs?sentinel_password", "unknown option 'sentinel_password'"),
    ("redis+sentinel://s;1/cs", "'s;1' is not a host name"),
])
def test_garbage_sentinel_urls_are_refused_naming_what_is_wrong(url: str, says: str) -> None:
    """A malformed Sentinel URL is refused at start, naming the variable and the fault."""
    with pytest.raises(ConfigError, match="CALLSCREEN_REDIS_URL") as caught:
        Settings.from_env({"CALLSCREEN_REDIS_URL": url})
    assert says in str(caught.value)


def test_a_sentinel_urls_passwords_never_reach_an_error() -> None:
    """Neither the nodes' password nor the Sentinels' is printed in a refusal."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"CALLSCREEN_REDIS_URL":
                           "redis+sentinel://u:n0despw@s1:bad/cs?sentinel_password=s3ntpw"})
    assert "n0despw" not in str(caught.value)
    assert "s3ntpw" not in str(caught.value)
    assert "port 'bad'" in str(caught.value)


def test_read_urls_are_kept_in_order_and_the_primary_is_the_default() -> None:
    """CALLSCREEN_READ_URLS lists the call path's endpoints in order; unset, it reads the one
    Redis (for a Sentinel URL: the Sentinels name the replicas)."""
    env = {"CALLSCREEN_REDIS_URL": "redis://primary:6379/0",
           "CALLSCREEN_READ_URLS": " redis://local:6380/0 , unix:///run/r.sock,rediss://far:1 "}
    location = Settings.from_env(env).redis
    assert location.call_path_reads() == (
        "redis://local:6380/0", "unix:///run/r.sock", "rediss://far:1")
    assert location.sentinel is None
    sentinel = Settings.from_env({"CALLSCREEN_REDIS_URL": "redis+sentinel://s1/cs"}).redis
    assert sentinel.call_path_reads() == ("redis+sentinel://s1/cs",)


@pytest.mark.parametrize(("raw", "says"), [
    ("redis+sentinel://s1/cs", "not a redis://, rediss:// or unix:// URL"),
    ("http://h:1", "'http://h:1' is not a redis://"),
    ("redis://h:notaport", "port 'notaport'"),
    ("redis://u:s3cret@h/x", "database 'x'"),
])
def test_garbage_read_urls_are_refused(raw: str, says: str) -> None:
    """Each read URL is checked at start; the message names it, never its password."""
    with pytest.raises(ConfigError, match="CALLSCREEN_READ_URLS") as caught:
        Settings.from_env({"CALLSCREEN_READ_URLS": f"redis://ok:1/0,{raw}"})
    assert says in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("0", 0), ("2", 2)])
def test_min_replicas_ack(raw: str | None, expected: int | None) -> None:
    """CALLSCREEN_MIN_REPLICAS_ACK: unset leaves it to the topology (None), else the count."""
    env = {} if raw is None else {"CALLSCREEN_MIN_REPLICAS_ACK": raw}
    assert Settings.from_env(env).redis.min_replicas_ack == expected


@pytest.mark.parametrize("raw", ["-1", "one", "101"])
def test_garbage_min_replicas_ack_is_refused(raw: str) -> None:
    """A count that is not a whole number in 0..100 is refused, naming it."""
    with pytest.raises(ConfigError, match=f"CALLSCREEN_MIN_REPLICAS_ACK={raw!r}"):
        Settings.from_env({"CALLSCREEN_MIN_REPLICAS_ACK": raw})
