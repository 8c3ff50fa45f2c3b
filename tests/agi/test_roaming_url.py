"""CALLSCREEN_ROAMING_CHECK_URL is checked twice: by a regular expression when the settings
are read (`blocklist.settings`, on every call of the per-call script) and by urlsplit when a
call is checked (`agi.roaming_http.roaming_endpoint`). Both refuse the same URLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agi.roaming_http import request_bytes, roaming_endpoint
from blocklist.errors import ConfigError
from blocklist.settings import _check_roaming_url


def refuses(check: Callable[[str], object], url: str) -> bool:
    """Whether `check` (the settings' or the call path's) raises ConfigError for `url`."""
    try:
        check(url)
    except ConfigError:
        return True
    return False


# -- URL-ish strings built from pieces, good and bad ----------------------------------------

ODD = [" ", "\t", "\n", "\r", "\x00", "\x7f", "%", "%41", "\\", "_", "-", ".", "é", "ı",
       "@", ":", "[", "]", "!", "~", "*", "'", "=", ",", ";", "+", "&", "$", "#", "?", "/"]

schemes = st.sampled_from([
    "http://", "https://", "HTTP://", "hTtPs://", "ftp://", "http:/", "http:", "http//",
    "https:///", "httpx://", "", " http://", "http:\\\\", "https\t://", "ｈttp://",
])
userinfo = st.sampled_from(["", "", "", "user:pw@", "token@", "@", ":@", "a@b@", "u%40@"])
labels = st.text(st.sampled_from("abcxyz019-"), min_size=1, max_size=6)
host_names = st.builds(
    lambda parts, dot: ".".join(parts) + dot,
    st.lists(labels, min_size=1, max_size=4), st.sampled_from(["", "", "."]),
)
odd_names = st.builds(
    lambda a, odd, b: a + odd + b, labels | st.just(""), st.sampled_from(ODD),
    labels | st.just(""),
)
octets = st.integers(0, 300).map(str) | st.sampled_from(["00", "010", "0x7f", "", "-1"])
ipv4 = st.lists(octets, min_size=1, max_size=5).map(".".join)
ipv6 = st.sampled_from([
    "[::1]", "[fd00::5]", "[FD00::5]", "[::ffff:10.0.0.1]", "[1:2:3:4:5:6:7:8]", "[::]",
    "[fe80::1%25eth0]", "[fe80::1%eth0]", "[1.2.3.4]", "[v1.fe]", "[::1::2]", "[fd00::zz]",
    "[1:2:3:4:5:6:7:8:9]", "[]", "[::1", "::1]", "[[::1]]", "[::1]x", "a[::1]", "[fd00::5 ]",
    "[::ffff:1.2.3.256]", "[:::]",
])
hosts = host_names | odd_names | ipv4 | ipv6 | st.sampled_from(["", "localhost", "hlr_1"])
ports = st.sampled_from([
    "", "", "", ":", ":0", ":00", ":1", ":80", ":08080", ":65535", ":65536", ":70000",
    ":99999", ":0000000443", ":123456", ":+80", ":-1", ":8_0", ": 80", ":80 ", ":http",
    ":٣", ":8080:90", "::80", ":" + "9" * 30,
])
paths = st.lists(
    st.sampled_from([
        "/", "/roaming", "/{e164}", "?msisdn={e164}", "?key=k&n=1", "#frag", "#", "/a b",
        "/a\tb", "/a%20b", "/é", "/a\\b", "/@x", "?a@b", "/x?y#z", "/\r\nHost: evil",
        "/\x00", "/a:b", "/[x]", "?",
    ]),
    max_size=3,
).map("".join)
urls = st.builds(lambda *pieces: "".join(pieces), schemes, userinfo, hosts, ports, paths)


@given(urls)
@hypothesis_settings(max_examples=2000)
@example("https://hlr example/r")
@example("http://h:/r")
@example("http://h/r#frag")
@example("http://a[::1]/r")
@example("http://h:" + "0" * 5000 + "80/r")
def test_settings_and_endpoint_refuse_the_same_urls(url: str) -> None:
    """The settings refuse a URL exactly when the call path's parse refuses it."""
    assert refuses(_check_roaming_url, url) == refuses(roaming_endpoint, url)


@given(urls)
@hypothesis_settings(max_examples=500)
def test_an_accepted_url_makes_a_well_formed_request(url: str) -> None:
    """A URL both accept makes a request line of three parts and a Host header without
    spaces or control characters: what is refused is what could not be sent as written."""
    if refuses(roaming_endpoint, url):
        return
    head = request_bytes(roaming_endpoint(url), "+31612345678").decode("ascii")
    request_line, host_line = head.split("\r\n")[:2]
    method, target, version = request_line.split(" ")
    assert (method, version) == ("GET", "HTTP/1.0")
    assert target.startswith("/")
    assert host_line.startswith("Host: ")
    assert all(" " < c < "\x7f" for c in target + host_line.removeprefix("Host: "))


# -- the hard cases, each decided -----------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://hlr.example/roaming/{e164}",
    "HTTPS://HLR.example",
    "hTtP://hlr.example?msisdn={e164}",
    "http://hlr_1.internal:8080/r",  # an underscore: resolvers take it
    "http://hlr.example./r",  # a fully qualified name
    "http://10.0.0.5/r",
    "http://0.0.0.0:1/r",
    "http://255.255.255.255:65535/r",
    "http://1.2.3.example/r",  # ends in a name, not a number
    "http://[::1]/r",
    "http://[FD00::5]:8443/r?key=k",
    "http://[::ffff:10.0.0.1]/r",
    "http://hlr.example:00080/r",  # leading zeros: still port 80
    "http://hlr.example/a\\b",  # sent as written
    "http://hlr.example/r@x?a@b",  # an @ in the path or query is no user info
    "http://hlr.example/a%20b",
])
def test_both_accept(url: str) -> None:
    """A URL that can be requested as written is accepted by both."""
    _check_roaming_url(url)
    roaming_endpoint(url)


@pytest.mark.parametrize(("url", "settings_say", "endpoint_says"), [
    ("https://hlr example/r", "without spaces or control characters",
     "without spaces or control characters"),
    (" http://hlr.example/r", "without spaces", "without spaces"),  # urlsplit strips it
    ("http://hlr.example/a\tb", "without spaces", "without spaces"),  # urlsplit drops it
    ("http://hlr.example/r\r\nX: y", "without spaces", "without spaces"),
    ("http://hlr\x00.example/r", "control characters", "control characters"),
    ("http://hlr.example/r\x7f", "control characters", "control characters"),
    ("http://h:/r", "the port is not a port", "it is empty"),  # urlsplit: the default port
    ("http://[::1]:/r", "the port is not a port", "it is empty"),
    ("http://h:65536/r", "the port is not a port", "the port is not a port"),
    ("http://h:+80/r", "the port is not a port", "the port is not a port"),
    ("http://h:" + "9" * 5000 + "/r", "the port is not a port", "the port is not a port"),
    ("http://h:0/r", "port 0 is not a port", "port 0 is not a port"),
    ("http://h/r#frag", "a #fragment is not sent", "a #fragment is not sent"),
    ("http://h/r?key=a#b", "a #fragment is not sent", "a #fragment is not sent"),
    ("http://h#x@evil/r", "a #fragment is not sent", "a #fragment is not sent"),
    ("http://h%41/r", "is not a host name", "is not a host name"),
    ("http://h\\evil/r", "is not a host name", "is not a host name"),  # a browser's /
    ("http://h!$/r", "is not a host name", "is not a host name"),
    ("http://10.0.0.256/r", "is not an IPv4 address", "is not an IPv4 address"),
    ("http://010.0.0.1/r", "is not an IPv4 address", "is not an IPv4 address"),  # octal
    ("http://1.2.3/r", "is not an IPv4 address", "is not an IPv4 address"),  # 1.2.0.3
    ("http://1.2.3.4./r", "is not an IPv4 address", "is not an IPv4 address"),
    # the endpoint's words are urlsplit's from Python 3.11.4 on, its own before
    ("http://[fd00::zz]/r", "is not an IPv6 address", "IPv"),
    ("http://[::1::2]/r", "is not an IPv6 address", "IPv"),
    ("http://[1.2.3.4]/r", "is not an IPv6 address", "IPv"),
    ("http://[v1.fe]/r", "the host '[v1.fe]' is not an IPv6", "is not an IPv6 address"),
    ("http://[fe80::1%25eth0]/r", "IPv6 zone (%)", "IPv6 zone (%)"),
    ("http://[::1]x/r", "expected http:// or https://", "expected http:// or https://"),
    ("http://a[::1]/r", "expected http:// or https://", "expected http:// or https://"),
    ("https://x[fd00::5]:8443/r", "expected http:// or https://",
     "expected http:// or https://"),
    ("http://h:" + "0" * 5000 + "/r", "port 0 is not a port", "port 0 is not a port"),
    ("http://h]/r", "expected http:// or https://", "Invalid IPv6 URL"),
    ("http://a@b@h/r", "user info", "user info"),
    ("http:\\\\h/r", "expected http:// or https://", "expected http:// or https://"),
])
def test_both_refuse_saying_why(url: str, settings_say: str, endpoint_says: str) -> None:
    """A URL that could not be requested as written (or whose part would not be sent) is
    refused by both, each naming what is wrong."""
    with pytest.raises(ConfigError, match="CALLSCREEN_ROAMING_CHECK_URL=") as caught:
        _check_roaming_url(url)
    assert settings_say in str(caught.value)
    with pytest.raises(ConfigError, match="roaming check URL") as caught:
        roaming_endpoint(url)
    assert endpoint_says in str(caught.value)
