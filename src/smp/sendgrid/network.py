"""The network transport: httpx's own (httpcore), with proxy, trust and plain errors.

What SMP adds on top of `httpx.AsyncHTTPTransport` (ADR 18):
- the proxy from `SMP_PROXY`, else `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and
  `NO_PROXY`, chosen once for the one host a client reads (CONNECT for https);
- trust from the operating system's store (truststore), plus `SMP_CA_BUNDLE`
  or `SSL_CERT_FILE` for a corporate CA;
- connection failures in plain words that name the host or the proxy, never
  the proxy's credentials;
- its own GET-only lock, so even this layer sends nothing else.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import ssl
import sys
from collections.abc import Mapping

import httpx
import truststore

from smp.sendgrid.errors import ReadOnlyViolation

NO_PROXY_WORDS = frozenset({"none", "off", "direct"})


class ConnectFailure(httpx.ConnectError):
    """No connection to the host (or its proxy); the message is for people."""


class ProxyRefused(ConnectFailure):
    """The proxy would not open a tunnel to the host."""


class LastingFailure(ConnectFailure):
    """A failure the next try would meet again: reported at once."""


class UntrustedCertificate(LastingFailure):
    """The host's certificate does not chain to a trusted CA."""


class BadNetworkSetting(ValueError):
    """A proxy or CA setting that cannot be used."""


def shown(proxy: httpx.URL) -> str:
    """`scheme://host:port`: a proxy as it may appear in logs and messages."""
    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    return f"{proxy.scheme}://{host}:{proxy.port or _default_port(proxy)}"


def proxy_for(url: httpx.URL, environ: Mapping[str, str]) -> httpx.URL | None:
    """The proxy for requests to `url`: `SMP_PROXY` wins over the usual variables."""
    own = environ.get("SMP_PROXY", "").strip()
    if own:
        return None if own.lower() in NO_PROXY_WORDS else _proxy_url(own, "SMP_PROXY")
    lower = {name.lower(): value for name, value in environ.items() if value}
    if _bypassed(url, lower.get("no_proxy", "")):
        return None
    for name in (f"{url.scheme}_proxy", "all_proxy"):
        if lower.get(name, "").strip():
            return _proxy_url(lower[name].strip(), name.upper())
    return None


def _bypassed(url: httpx.URL, no_proxy: str) -> bool:
    """NO_PROXY as curl reads it: `*`, hosts, domain suffixes, IPs, CIDR ranges."""
    host = url.host.lower()
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        name, port = _split_port(entry)
        if not name or (port and port != str(url.port or _default_port(url))):
            continue
        name = name.strip("[]").lstrip(".")
        if host == name or host.endswith("." + name) or _in_range(host, name):
            return True
    return False


def _split_port(entry: str) -> tuple[str, str]:
    if entry.startswith("["):  # [::1]:8080
        name, _, rest = entry.partition("]")
        return name + "]", rest.removeprefix(":")
    if entry.count(":") == 1:  # host:port; more colons: a bare IPv6 address
        name, _, port = entry.partition(":")
        return name, port
    return entry, ""


def _in_range(host: str, entry: str) -> bool:
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _proxy_url(value: str, name: str) -> httpx.URL:
    candidate = value if "://" in value else f"http://{value}"
    try:
        url = httpx.URL(candidate)
    except httpx.InvalidURL:
        raise BadNetworkSetting(f"{name} is not a proxy URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        # The value may hold a password: the message shows none of it.
        raise BadNetworkSetting(
            f"{name} must be an http:// or https:// proxy with a host"
        )
    return url


def ca_bundle(environ: Mapping[str, str]) -> str | None:
    """The extra CA file SMP trusts: `SMP_CA_BUNDLE`, else `SSL_CERT_FILE`."""
    for name in ("SMP_CA_BUNDLE", "SSL_CERT_FILE"):
        value = environ.get(name, "").strip()
        if value:
            if not os.path.isfile(value):
                raise BadNetworkSetting(f"{name}: no such file {value}")
            return value
    return None


@functools.cache
def tls_context(extra_ca: str | None) -> ssl.SSLContext:
    """The OS trust store plus `extra_ca`; one per process (loading costs CPU)."""
    context = _os_trust()
    if extra_ca:
        try:
            context.load_verify_locations(cafile=extra_ca)
        except ssl.SSLError:
            raise BadNetworkSetting(f"{extra_ca} holds no PEM certificate") from None
    return context


def _os_trust() -> ssl.SSLContext:
    if sys.platform.startswith("linux") and _openssl_store_found():
        # On Linux the OS store is OpenSSL's default one. truststore would load
        # it again for every connection (about 16 ms of CPU each, and more on
        # OpenSSL < 3.4: truststore issue #212); this loads it once.
        return ssl.create_default_context()
    # macOS and Windows verify through the system's own API.
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _openssl_store_found() -> bool:
    paths = ssl.get_default_verify_paths()
    return bool(paths.cafile) or bool(paths.capath and os.listdir(paths.capath))


class NetworkTransport(httpx.AsyncHTTPTransport):
    """httpx's transport for one host, GET only, with failures in plain words."""

    def __init__(self, base_url: str, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.proxy: httpx.URL | None = None
        self.setting_problem: str | None = None
        try:
            self.proxy = proxy_for(httpx.URL(base_url), env)
            tls = tls_context(ca_bundle(env))
        except BadNetworkSetting as exc:
            # Said on the first request, where every caller reports failures.
            self.setting_problem, tls = str(exc), tls_context(None)
        self.proxy_shown = shown(self.proxy) if self.proxy else None
        super().__init__(
            verify=tls,
            proxy=httpx.Proxy(self.proxy) if self.proxy else None,
            # HttpCore retries with its own budget; the limiter bounds
            # connections, so the pool only caps what it keeps idle.
            retries=0,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            raise ReadOnlyViolation(f"{request.method} refused: only GET is sent")
        if self.setting_problem:
            raise LastingFailure(self.setting_problem, request=request)
        try:
            return await super().handle_async_request(request)
        except httpx.ProxyError as exc:
            raise ProxyRefused(
                f"proxy {self.proxy_shown} could not reach {_where(request.url)} "
                f"({_plain(exc)})",
                request=request,
            ) from None
        except httpx.ConnectError as exc:
            raise self._failure(exc, request) from None

    def _failure(self, exc: httpx.ConnectError, request: httpx.Request) -> Exception:
        host = _where(request.url)
        if _caused_by(exc, ssl.SSLCertVerificationError):
            return UntrustedCertificate(
                f"certificate of {request.url.host} not trusted; "
                "set SMP_CA_BUNDLE to your CA file",
                request=request,
            )
        where = f"proxy {self.proxy_shown} (for {host})" if self.proxy_shown else host
        return ConnectFailure(
            f"cannot connect to {where}: {_plain(exc)}", request=request
        )


def _where(url: httpx.URL) -> str:
    """host, or host:port when the port is not the scheme's; never userinfo."""
    return url.netloc.decode("ascii")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _plain(exc: BaseException) -> str:
    """What went wrong, in words, never the exception's class name."""
    if _caused_by(exc, ConnectionRefusedError):
        return "connection refused"
    if _caused_by(exc, socket.gaierror):
        return "host not found"
    if _caused_by(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, httpx.ProxyError):
        # httpcore's message is the proxy's status line, e.g. "502 Bad Gateway"
        return f"the proxy answered {exc}"
    if _caused_by(exc, ConnectionResetError):
        return "connection reset"
    return "connection failed"
