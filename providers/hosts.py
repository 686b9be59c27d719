"""Where a host is, from its name alone: this machine, the user's own network, or the internet.

Every HTTP backend asks this one module, so routing, the executor, prices and `llm models`
agree. No DNS lookup is ever made (it would be slow, and a lookup of a private name may
itself leave the network); the rules, in order:

- `localhost`, `*.localhost` (RFC 6761), an empty host and the unspecified addresses
  `0.0.0.0` / `::` (a client connects to loopback for them) → loopback;
- an IP literal → loopback (127/8, ::1), private (RFC 1918, 100.64/10 shared space as
  Tailscale uses it, link-local 169.254/16 and fe80::/10, unique-local fc00::/7), else public;
- a name under a suffix that only resolves on a local network (`.local` mDNS, `.lan`,
  `.home.arpa`, `.internal`, `.intranet`, `.localdomain`, `.home`), or a single label with no
  dot (`gpu-box`: only a local search domain or /etc/hosts can resolve it) → private;
- every other DNS name → public, whatever it resolves to: a name proves nothing.
"""

from __future__ import annotations

import re
from typing import Literal

HostClass = Literal["loopback", "private", "public"]

LOOPBACK: HostClass = "loopback"
PRIVATE: HostClass = "private"
PUBLIC: HostClass = "public"

PRIVATE_SUFFIXES = (
    ".local",
    ".lan",
    ".home.arpa",
    ".internal",
    ".intranet",
    ".localdomain",
    ".home",
)
# Canonical dotted quads are classified without importing ipaddress (~1 ms of `llm route`).
_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\Z")


def host_class(host: str) -> HostClass:
    """`loopback`, `private` or `public` for a host name or IP literal (brackets allowed)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in ("", "localhost", "0.0.0.0", "::") or name.endswith(".localhost"):
        return LOOPBACK
    match = _IPV4.match(name)
    if match and all(int(octet) <= 255 for octet in match.groups()):
        return _ipv4_class(*(int(octet) for octet in match.groups()))
    if ":" in name or name.replace(".", "").isdigit():
        return _ip_class(name)
    if name.endswith(PRIVATE_SUFFIXES) or "." not in name:
        return PRIVATE
    return PUBLIC


def is_private_host(host: str) -> bool:
    """True when traffic to `host` stays on this machine or the user's own network."""
    return host_class(host) != PUBLIC


def _ipv4_class(a: int, b: int, c: int, d: int) -> HostClass:
    if a == 127 or (a, b, c, d) == (0, 0, 0, 0):
        return LOOPBACK
    if (
        a == 10
        or (a == 172 and 16 <= b <= 31)
        or (a == 192 and b == 168)
        or (a == 169 and b == 254)
        or (a == 100 and 64 <= b <= 127)
    ):
        return PRIVATE
    return PUBLIC


def _ip_class(text: str) -> HostClass:
    import ipaddress

    try:
        ip = ipaddress.ip_address(text.partition("%")[0])  # drop an IPv6 zone (`fe80::1%eth0`)
    except ValueError:
        return PUBLIC  # not an IP after all (`1.2.3`): a name, and names are public
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _ip_class(str(ip.ipv4_mapped))
    if ip.is_loopback or ip.is_unspecified:
        return LOOPBACK
    if ip.is_private or ip.is_link_local or ip in ipaddress.ip_network("100.64.0.0/10"):
        return PRIVATE
    return PUBLIC


def split_url(url: str) -> tuple[str, str, int | None]:
    """`https://user:pw@host:8443/v1` → (`https`, `host`, 8443); no scheme means https.

    By hand rather than urllib.parse: it is on `llm route`'s path, and it must not choke on
    the odd URLs users write (a missing scheme, a bare IPv6 literal in brackets).
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        scheme, rest = "https", url.strip()
    hostport = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    return scheme.lower(), host.lower(), int(port) if port.isdigit() else None


def host_of_url(url: str) -> str:
    return split_url(url)[1]
