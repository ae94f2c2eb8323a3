"""Which targets a webhook may call: http(s) URLs without credentials whose host resolves only
to public addresses (not loopback, private, link-local, multicast, reserved or unspecified),
unless FILAMENT_WEBHOOK_ALLOW_PRIVATE says a receiver on this host or network is meant.

The check runs when a webhook is saved (a 422 with the reason) and again before every attempt:
the name may resolve elsewhere by then (DNS rebinding), so the attempt connects to the address
checked here, not to a second answer of the resolver."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from filament.core.errors import Unprocessable
from filament.uploads.url_fetch import public_address

ALLOW_SETTING = "FILAMENT_WEBHOOK_ALLOW_PRIVATE"


class TargetRefused(Unprocessable):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str  # ASCII (IDNA) form
    port: int
    address: str  # the checked address the attempt connects to

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.url.port is None else f"{name}:{self.port}"


def parse(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, host and port; TargetRefused for anything but a plain http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        host = parts.hostname
    except ValueError:
        raise TargetRefused("The webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("The webhook URL must start with http:// or https://")
    if not host or port is None:
        raise TargetRefused("The webhook URL has no host")
    if parts.username or parts.password:
        # they would show in every listing: receivers check the signature instead
        raise TargetRefused("The webhook URL may not hold a user name or password")
    try:
        host = host.encode("idna").decode("ascii")  # what DNS, TLS and the Host header take
    except UnicodeError:
        raise TargetRefused(f"The webhook host {host!r} is not a valid host name") from None
    return parts, host, port


def resolve(url: str, allow_private: bool) -> Target:
    """The URL's target with the address to connect to; TargetRefused with the reason."""
    parts, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        raise TargetRefused(f"The webhook host {host!r} does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise TargetRefused(f"The webhook host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            if not public_address(address):
                raise TargetRefused(
                    f"The webhook host {host!r} resolves to {_kind(address)} address {address}; "
                    f"only public hosts are called unless {ALLOW_SETTING} is set"
                )
    return Target(parts, host, port, addresses[0])


def _kind(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for name, words in KINDS:
        if getattr(ip, f"is_{name}"):
            return words
    return "a non-public"


KINDS = (
    ("loopback", "a loopback"),
    ("link_local", "a link-local"),
    ("multicast", "a multicast"),
    ("unspecified", "an unspecified"),
    ("private", "a private"),
    ("reserved", "a reserved"),
)
