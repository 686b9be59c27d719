"""OLLAMA_HOST parsed exactly as Ollama's own `envconfig.Host()` and `ConnectableHost()` do.

Go source (envconfig/config.go), reproduced rule by rule:
- surrounding spaces and quotes are stripped (`Var`);
- no `scheme://` → `http`; an explicit `http`/`https` scheme changes the default port to 80/443,
  otherwise it is 11434;
- everything after the first `/` of the host part is kept as a path prefix;
- `net.SplitHostPort` failing (no port, bare IPv6, too many colons) → the whole host part is the
  host (an IP is normalised), an empty one is 127.0.0.1, and the default port applies;
- a port that is not a number in 0..65535 → the default port;
- a client connects to 127.0.0.1 / ::1 when the host is the unspecified 0.0.0.0 / `::`.
One addition: an empty host (`:11434`) also becomes 127.0.0.1, which Go's dialer does implicitly.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from typing import NamedTuple

DEFAULT_PORT = 11434


class OllamaHost(NamedTuple):  # a NamedTuple: cheap to define on every `llm route` start
    scheme: str
    host: str
    port: int
    path: str = ""

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL requests are joined to: no trailing slash."""
        base = f"{self.scheme}://{self.netloc}"
        return f"{base}/{self.path.strip('/')}" if self.path.strip("/") else base


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort: None where Go returns an error."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or hostport[end + 1 : end + 2] != ":":
            return None
        host, port = hostport[1:end], hostport[end + 2 :]
        return (host, port) if "[" not in port and "]" not in port else None
    host, sep, port = hostport.rpartition(":")
    if not sep or ":" in host:
        return None  # missing port, or too many colons in an unbracketed address
    return host, port


# The two checks below are string methods, not regexes: `llm route` parses the host at
# every start, and compiling the two patterns cost more than the rest of this module.


def _is_port_number(text: str) -> bool:
    """An optional sign and ASCII digits (int() alone would also take `1_0`, ` 1`, `١`)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


def _is_canonical_ipv4(text: str) -> bool:
    """Four octets 0-255 without leading zeros: a dotted quad that is its own normal form."""
    octets = text.split(".")
    return len(octets) == 4 and all(
        o.isascii() and o.isdigit() and str(int(o)) == o and int(o) <= 255 for o in octets
    )


def _normalise_ip(text: str) -> str | None:
    # Recognising the canonical form here keeps ipaddress (~1 ms) out of `llm route`'s
    # start-up for the usual 127.0.0.1.
    if _is_canonical_ipv4(text):
        return text
    if ":" not in text and not text[:1].isdigit():
        return None  # `localhost`, `ollama.com`, an unset OLLAMA_HOST: no IP, no ipaddress import
    import ipaddress

    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)  # Go prints ::ffff:a.b.c.d as a.b.c.d
    return str(ip)


def parse_ollama_host(raw: str | None) -> OllamaHost:
    """The address a client of `OLLAMA_HOST=<raw>` connects to."""
    text = (raw or "").strip().strip("\"'").strip()
    default_port = DEFAULT_PORT
    scheme, sep, hostport = text.partition("://")
    if not sep:
        scheme, hostport = "http", text
        if text == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = 80
    elif scheme == "https":
        default_port = 443

    hostport, _, path = hostport.partition("/")
    split = _split_host_port(hostport)
    if split is None:
        host, port_text = "127.0.0.1", str(default_port)
        bare = hostport.strip("[]")
        if (ip := _normalise_ip(bare)) is not None:
            host = ip
        elif hostport:
            host = hostport
    else:
        host, port_text = split

    port = int(port_text) if _is_port_number(port_text) else -1
    if not 0 <= port <= 65535:
        port = default_port
    return OllamaHost(scheme, _connectable(host), port, path)


def _connectable(host: str) -> str:
    if host == "":
        return "127.0.0.1"
    ip = _normalise_ip(host)
    if ip == "0.0.0.0":
        return "127.0.0.1"
    if ip == "::":
        return "::1"
    return host
