"""Whose address a request is counted under (`api.client_address`): the peer, or behind a
trusted proxy the right-most forwarded address that is not itself a trusted proxy."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from api.client_address import client_address

PROXIES = (ip_network("10.0.0.0/24"), ip_network("fd00::/64"))


@pytest.mark.parametrize(("peer", "forwarded_for", "expected"), [
    # No trusted proxy in between: the header is whatever the client wrote, and ignored.
    ("192.0.2.1", [], "192.0.2.1"),
    ("192.0.2.1", ["198.51.100.7"], "192.0.2.1"),
    ("::ffff:192.0.2.1", ["198.51.100.7"], "192.0.2.1"),
    ("unknown", ["198.51.100.7"], "unknown"),
    # Through a trusted proxy: the address it appended.
    ("10.0.0.5", ["198.51.100.7"], "198.51.100.7"),
    ("10.0.0.5", [" 198.51.100.7 "], "198.51.100.7"),
    ("::ffff:10.0.0.5", ["198.51.100.7"], "198.51.100.7"),
    ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
    ("10.0.0.5", ["::ffff:198.51.100.7"], "198.51.100.7"),
    # What the client wrote before the proxy's entry is never believed.
    ("10.0.0.5", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),
    ("10.0.0.5", ["203.0.113.9", "198.51.100.7"], "198.51.100.7"),
    ("10.0.0.5", ["10.0.0.1, 198.51.100.7"], "198.51.100.7"),
    # A chain of trusted proxies is skipped from the right.
    ("10.0.0.5", ["198.51.100.7, 10.0.0.9"], "198.51.100.7"),
    ("10.0.0.5", ["203.0.113.9, 198.51.100.7, 10.0.0.9, fd00::2"], "198.51.100.7"),
    # Everyone trusted: the request began inside, at the left-most.
    ("10.0.0.5", ["10.0.0.7, 10.0.0.9"], "10.0.0.7"),
    # No header, or not an address where the client should be: the proxy is the client.
    ("10.0.0.5", [], "10.0.0.5"),
    ("10.0.0.5", [""], "10.0.0.5"),
    ("10.0.0.5", ["unknown"], "10.0.0.5"),
    ("10.0.0.5", ["198.51.100.7:51234"], "10.0.0.5"),
    ("10.0.0.5", ["198.51.100.7, 10.0.0.9, <script>"], "10.0.0.5"),
    ("10.0.0.5", ["garbage, 198.51.100.7"], "198.51.100.7"),
])
def test_client_address(peer: str, forwarded_for: list[str], expected: str) -> None:
    """The client is the peer unless a trusted proxy forwarded the request for someone."""
    assert client_address(peer, forwarded_for, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    """The default (no proxies trusted) never reads the header."""
    assert client_address("10.0.0.5", ["198.51.100.7"], ()) == "10.0.0.5"
