"""Which addresses a webhook may be sent to: public ones only (no SSRF).

An endpoint URL is checked when an admin saves it and again at every delivery, where the
connection goes to the very address that was checked (`Target.address`): a name that
resolved to a public address when checked and to 10.0.0.1 a moment later (DNS rebinding)
is never connected to. `WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` (tests, a private network on
purpose) lets private, loopback and link-local addresses through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, has_app_context

from prepbase.errors import DomainError

MAX_URL_LENGTH = 2000
SCHEMES = {"http": 80, "https": 443}


class RefusedAddress(DomainError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def allow_private() -> bool:
    return bool(has_app_context() and current_app.config.get("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"))


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path (with its query), or `RefusedAddress`."""
    url = (url or "").strip()
    if not url:
        raise RefusedAddress("Enter the URL that receives the webhooks.", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"Use a URL of at most {MAX_URL_LENGTH} characters.", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedAddress("This is not a valid URL.", field="url") from None
    if parts.scheme.lower() not in SCHEMES:
        raise RefusedAddress("Use an http:// or https:// URL.", field="url")
    if not parts.hostname:
        raise RefusedAddress("This URL has no host name.", field="url")
    if parts.username or parts.password:
        raise RefusedAddress("Leave the user name and password out of the URL.", field="url")
    scheme = parts.scheme.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or SCHEMES[scheme], path


def resolve(url: str) -> Target:
    """Check `url` and resolve its host: every address it resolves to must be public
    (unless the setting allows private ones); the first is the one to connect to."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedAddress(f"The host {host} could not be found.", field="url") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise RefusedAddress(f"The host {host} could not be found.", field="url")
    if not allow_private():
        for address in addresses:
            if not is_public(address):
                raise RefusedAddress(
                    f"{host} is a private, loopback or link-local address "
                    f"({address}); webhooks go to public addresses only.",
                    field="url",
                )
    return Target(scheme, host, port, path, addresses[0])
