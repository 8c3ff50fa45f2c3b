"""Which address a request came from, for limits counted per client (the console's sign-in).

The peer of the connection is the client, unless it is one of `CALLSCREEN_TRUSTED_PROXIES`:
then the client is what X-Forwarded-For says, read from the right (each proxy appends the
address it saw), skipping the trusted proxies: the right-most address not itself trusted. What
lies to the left of it was written by the client and could say anything, so it is never used.

When the header is missing, or the entry that would be the client is not an IP address (a
proxy that writes ports or `unknown`), the peer is the client: the limit then falls back to
counting everything through that proxy as one client, stricter rather than spoofable.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d: one client, one form.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


def client_address(peer: str, forwarded_for: Iterable[str],
                   proxies: tuple[Network, ...]) -> str:
    """The client's address: `peer` (the connection's), or when it is in `proxies`, the
    right-most address of the X-Forwarded-For header values (`forwarded_for`, in order) that
    is not in `proxies`. All of them trusted: the left-most (the request began inside)."""
    direct = _address(peer)
    if direct is None or not _trusted(direct, proxies):
        return str(direct) if direct is not None else peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    client = direct
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return str(direct)  # not written by a proxy we trust: see the module docstring
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
