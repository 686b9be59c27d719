"""`-f PATH` (files and directories' text files into the prompt) and `-a PATH` (images).

File text joins the prompt's last user turn, so the privacy scanner reads it exactly as it
reads the prompt. Images are recognised by their first bytes, never by their name: PNG,
JPEG and WebP go on as attachments; any other binary is refused with a clear line. Every
refusal is an InputError (exit 2) naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from convergio_llm.providers.errors import InputError
from convergio_llm.providers.values import Attachment, Message, Request

MAX_FILE_BYTES = 1 << 20  # 1 MiB a text file: more is no prompt, and no context holds it
MAX_TEXT_BYTES = 4 << 20  # everything -f adds, together
MAX_IMAGE_BYTES = 20 << 20  # the smallest of the vision APIs' per-image limits
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_image(head: bytes) -> str | None:
    """The image media type these bytes begin, or None."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _size(path: str, flag: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        raise InputError(f"{flag} {path}: no such file or directory") from None
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read it ({exc.strerror})") from None


def _read(path: str, flag: str, limit: int) -> bytes:
    size = _size(path, flag)
    if size > limit:
        raise InputError(f"{flag} {path}: {size / 2**20:.1f} MiB, over the {limit >> 20} MiB limit")
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot read it ({exc.strerror})") from None


def _text(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _directory_files(root: str) -> list[str]:
    """The files under `root`, in name order, hidden files and folders left out."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(folder, f) for f in sorted(files) if not f.startswith(".")]
    return found


def read_files(paths: Sequence[str]) -> str:
    """The text of every -f path, each under a header naming it. A directory gives its text
    files (binaries in it are passed over); a binary file named itself is refused."""
    parts: list[str] = []
    total = 0
    for given in paths:
        path = os.path.expanduser(given)
        inside = os.path.isdir(path)
        for name in _directory_files(path) if inside else [path]:
            data = _read(name, "-f", MAX_FILE_BYTES)
            text = _text(data)
            if text is None:
                if inside:
                    continue
                kind = "an image: attach it with -a" if sniff_image(data[:16]) else "binary"
                raise InputError(f"-f {given}: not a text file ({kind})")
            total += len(data)
            if total > MAX_TEXT_BYTES:
                raise InputError(f"-f: the files add up to over {MAX_TEXT_BYTES >> 20} MiB")
            parts.append(f"--- {name} ---\n{text.rstrip()}\n")
        if inside and not parts:
            raise InputError(f"-f {given}: no text files in this directory")
    return "\n".join(parts)


def read_images(paths: Sequence[str]) -> tuple[Attachment, ...]:
    images: list[Attachment] = []
    for given in paths:
        path = os.path.expanduser(given)
        if os.path.isdir(path):
            raise InputError(f"-a {given}: a directory; attach image files one by one")
        data = _read(path, "-a", MAX_IMAGE_BYTES)
        media_type = sniff_image(data[:16])
        if media_type is None:
            hint = "; add text files with -f" if _text(data) is not None else ""
            raise InputError(f"-a {given}: not a PNG, JPEG or WebP image{hint}")
        images.append(Attachment(media_type, data, os.path.basename(path)))
    return tuple(images)


def with_inputs(
    request: Request, files: Sequence[str], images: Sequence[str], schema: str | None
) -> Request:
    """The request with -f text put before its last user turn, -a images and --schema."""
    changes: dict[str, Any] = {}
    if files:
        text = read_files(files)
        messages = list(request.messages)
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
        if last is None:
            messages.append(Message("user", text))
        else:
            messages[last] = Message("user", f"{text}\n{messages[last].content}")
        changes["messages"] = tuple(messages)
    if images:
        changes["attachments"] = request.attachments + read_images(images)
    if schema is not None:
        from convergio_llm.routing.schema import load_schema

        changes["schema"] = load_schema(schema)
    return request.with_params(**changes) if changes else request
