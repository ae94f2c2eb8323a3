"""Fetching images by URL for /score without server-side request forgery.

A URL is fetched only if its host is in FILAMENT_SCORE_URL_HOSTS, its port is 80 or 443,
every address the host resolves to is public (not loopback, private, link-local, multicast,
reserved or unspecified), and the answer is a 200: redirects are refused, not followed. The
connection goes to the address that was checked (a second DNS answer cannot swap it), with
TLS verified against the host name. Every refusal gives the same message, so the endpoint
cannot be used to map which internal hosts or ports exist."""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

ALLOWED_PORTS = {80, 443}
MAX_URL_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 10
REFUSED = (
    "A URL could not be fetched: only http(s) URLs on ports 80/443 of public hosts listed in "
    "FILAMENT_SCORE_URL_HOSTS are fetched, redirects are not followed, and the answer must be "
    f"an image of at most {MAX_URL_BYTES:,} bytes; send the images as base64 instead"
)


class UrlRefused(Exception):
    def __init__(self) -> None:
        super().__init__(REFUSED)


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def fetch(url: str, allowed_hosts: list[str]) -> bytes:
    """The body of a 200 answer from a checked, public address; UrlRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        host = parts.hostname
    except ValueError:
        raise UrlRefused() from None
    if parts.scheme not in {"http", "https"} or host not in allowed_hosts:
        raise UrlRefused()
    if port not in ALLOWED_PORTS or parts.username or parts.password:
        raise UrlRefused()
    try:
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        }
    except (OSError, UnicodeError):
        raise UrlRefused() from None
    if not addresses or not all(public_address(address) for address in addresses):
        raise UrlRefused()
    target = sorted(addresses)[0]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connection(parts.scheme, host, target, port)
    try:
        connection.request("GET", path, headers={"Host": parts.netloc, "User-Agent": "Filament"})
        response = connection.getresponse()
        if response.status != 200:
            raise UrlRefused()
        data = response.read(MAX_URL_BYTES + 1)
    except (OSError, http.client.HTTPException):
        raise UrlRefused() from None
    finally:
        connection.close()
    if len(data) > MAX_URL_BYTES:
        raise UrlRefused()
    return data


def _connection(scheme: str, host: str, address: str, port: int) -> http.client.HTTPConnection:
    if scheme == "http":
        return http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
    return _PinnedHTTPSConnection(host, address, port)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with the certificate checked for the host name."""

    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
