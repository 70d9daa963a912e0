"""Which address a request came from, when trusted reverse proxies forward it.

A proxy appends the address it received the request from to ``X-Forwarded-For`` (de facto) or to
``Forwarded: for=`` (RFC 7239 §5.2), so everything left of the last address a trusted proxy wrote
may be the client's own invention. Reading right to left and skipping trusted proxies gives the
first address no trusted proxy can vouch beyond: the client (RFC 7239 §7.4 on forged values).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.requests import Request

from gatepass.config import IPNetwork
from gatepass.context import context_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# Every request parses its peer's address, and a server sees few peers (its proxies, or its clients):
# remembered, the parse costs a dictionary lookup instead of ipaddress's 7 µs. Bounded, since forwarded
# values come from clients.
@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> IPAddress | None:
    """An address from a forwarding header: quotes, ``[v6]`` brackets and ``:port`` allowed; else None."""
    value = text.strip().strip('"').strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forwarded_for(value: str) -> list[str]:
    """The ``for=`` node of each element of a ``Forwarded`` header, in order (RFC 7239 §4)."""
    nodes = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, node = pair.partition("=")
            if name.strip().lower() == "for":
                nodes.append(node)
    return nodes


def forwarding_chains(headers: Headers) -> list[list[str]]:
    """The forwarded-for addresses of each forwarding header present, left (client) to right (last proxy)."""
    x_forwarded_for = [
        item for value in headers.getlist("x-forwarded-for") for item in value.split(",") if item.strip()
    ]
    # A Forwarded header may carry only proto= or host=: it then says nothing about the client.
    forwarded = [node for value in headers.getlist("forwarded") for node in _forwarded_for(value)]
    return [chain for chain in (x_forwarded_for, forwarded) if chain]


def _is_in(address: IPAddress | None, networks: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


def _client_of(chain: list[str], proxy: IPAddress, trusted: Sequence[IPNetwork]) -> IPAddress:
    """Right to left, the first address that is not a trusted proxy; the nearest trusted hop when
    the chain holds something that is not an address (a proxy wrote garbage: nothing beyond it is known)."""
    nearest = proxy
    for item in reversed(chain):
        address = parse_address(item)
        if address is None:
            return nearest
        if not _is_in(address, trusted):
            return address
        nearest = address
    return nearest


def client_address(peer: str | None, headers: Headers, trusted: Sequence[IPNetwork]) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the one it forwarded for.

    Proxies differ in which header they write and pass the other one on untouched, so a client can
    send either. When both are present and name different clients, the one the proxy wrote cannot
    be told from the forged one, and the request counts as the proxy's own: a forger only ever
    shares a budget with other forgers, never takes someone else's.
    """
    proxy = parse_address(peer) if peer else None
    if proxy is None or not _is_in(proxy, trusted):
        return peer
    found = {_client_of(chain, proxy, trusted) for chain in forwarding_chains(headers)}
    if len(found) != 1:
        return peer
    return str(found.pop())


def client_ip(request: Request) -> str | None:
    """The client's address, as every rate limit, lockout and audit record counts it.

    The connecting peer, unless it is a trusted proxy: then the address it forwarded the request for.
    """
    if "gatepass.client_ip" not in request.scope:
        peer = request.client.host if request.client else None
        request.scope["gatepass.client_ip"] = client_address(peer, request.headers, context_of(request).trusted_proxies)
    found: str | None = request.scope["gatepass.client_ip"]
    return found
