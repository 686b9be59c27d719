"""A GGUF file's metadata, read from its header without loading the weights.

The `gguf` package would read it too, but it needs numpy and maps every tensor; this reads
only the key/value section at the start of the file (GGUF v2/v3, little-endian), keeps the
scalar and string values and passes over the arrays (the tokenizer's vocabulary), so a
250 MB model is read in milliseconds. Results are kept per file (path, size, mtime).

Format: b"GGUF", u32 version, u64 tensor count, u64 key/value count, then per key: a
string (u64 length + UTF-8 bytes), a u32 value type and the value.
"""

from __future__ import annotations

import functools
import mmap
import os
import struct
from typing import Any

# Value type → struct format of one scalar (8: string, 9: array are handled apart).
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class NotGGUF(ValueError):
    """The file is not a GGUF file this reader understands."""


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's scalar and string metadata (arrays left out), read once per file version."""
    stat = os.stat(path)
    return dict(_cached(os.fspath(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _cached(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            return _parse(data)
        except (struct.error, IndexError, UnicodeDecodeError) as exc:
            raise NotGGUF(f"{path}: a truncated or damaged GGUF header ({exc})") from None


def _parse(data: Any) -> dict[str, Any]:
    if data[:4] != b"GGUF":
        raise NotGGUF("not a GGUF file (no GGUF magic)")
    (version,) = struct.unpack_from("<I", data, 4)
    if version < 2:
        raise NotGGUF(f"GGUF version {version} is too old (2 and later are read)")
    (count,) = struct.unpack_from("<Q", data, 16)
    at = 24
    out: dict[str, Any] = {}
    for _ in range(count):
        key, at = _string(data, at)
        (kind,) = struct.unpack_from("<I", data, at)
        value, at = _value(data, at + 4, kind)
        if value is not _SKIPPED:
            out[key] = value
    return out


_SKIPPED = object()


def _string(data: Any, at: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("<Q", data, at)
    start = at + 8
    end = start + length
    if end > len(data):
        raise IndexError("a string runs past the end of the file")
    return bytes(data[start:end]).decode("utf-8"), end


def _value(data: Any, at: int, kind: int) -> tuple[Any, int]:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack_from(fmt, data, at)[0], at + struct.calcsize(fmt)
    if kind == _STRING:
        return _string(data, at)
    if kind == _ARRAY:
        item, count = struct.unpack_from("<IQ", data, at)
        at += 12
        if item in _SCALARS:
            return _SKIPPED, at + count * struct.calcsize(_SCALARS[item])
        if item == _STRING:  # the vocabulary: skipped by length alone, never decoded
            length = struct.Struct("<Q").unpack_from
            for _ in range(count):
                at += 8 + length(data, at)[0]
            return _SKIPPED, at
        for _ in range(count):  # nested arrays: each has its own length
            _, at = _value(data, at, item)
        return _SKIPPED, at
    raise NotGGUF(f"unknown GGUF value type {kind}")
