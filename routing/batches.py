"""What `llm run --batch` submitted, kept on disk so any later process can collect it.

One JSON file per batch under `<data dir>/batches/`: which provider instance (and its
kind) and model, when, and the lines in input order (line number, item id, the
`custom_id` sent). The data folder, not the cache: losing this file loses the answers
of a batch that has been paid for. Written atomically (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from convergio_llm.providers.errors import InputError

SCHEMA = "convergio-llm/batch/v1"


@dataclass(frozen=True)
class BatchLine:
    line: int
    id: str
    custom_id: str


@dataclass
class BatchRecord:
    batch_id: str
    provider: str  # the instance name (`openai`, or a named `openai` instance)
    kind: str
    model: str
    lines: list[BatchLine]
    submitted_at: float = field(default_factory=time.time)
    collected_at: float | None = None  # set once the results are in the ledger
    reservation: int | None = None  # the budget hold in the ledger, settled at collection

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> BatchRecord:
        lines = [BatchLine(int(x["line"]), str(x["id"]), str(x["custom_id"])) for x in obj["lines"]]
        return cls(
            batch_id=str(obj["batch_id"]),
            provider=str(obj["provider"]),
            kind=str(obj["kind"]),
            model=str(obj["model"]),
            lines=lines,
            submitted_at=float(obj["submitted_at"]),
            collected_at=obj.get("collected_at"),
            reservation=None if obj.get("reservation") is None else int(obj["reservation"]),
        )


def batches_dir() -> str:
    from convergio_llm.providers.dirs import user_dir_str

    return os.path.join(user_dir_str("data"), "batches")


def _path(batch_id: str) -> str:
    # Gemini's ids are `batches/abc`: keep file names to one safe component.
    return os.path.join(batches_dir(), re.sub(r"[^A-Za-z0-9._-]", "_", batch_id) + ".json")


def save(record: BatchRecord) -> str:
    folder = batches_dir()
    os.makedirs(folder, exist_ok=True)
    path = _path(record.batch_id)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".batch-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record.to_json(), fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


# Providers' ids are short (`batch_abc…`, `msgbatch_…`, `batches/…`); a longer one is a typo,
# and as a file name it would fail with the whole name in the message.
MAX_ID = 200


def load(batch_id: str) -> BatchRecord:
    if not batch_id.strip() or len(batch_id) > MAX_ID:
        raise InputError(f"not a batch id: {batch_id[:40]!r} (empty, or over {MAX_ID} characters)")
    path = _path(batch_id)
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
        if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
            raise ValueError("not a batch record")
        if obj.get("batch_id") != batch_id:
            raise ValueError("not a batch record")
        return BatchRecord.from_json(obj)
    except FileNotFoundError:
        raise InputError(
            f"unknown batch {batch_id}: no record in {batches_dir()} "
            "(submit with `llm run --jsonl --batch`)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        # RecursionError: JSON nested too deep for the decoder (a damaged or hostile file).
        why = "nested too deep" if isinstance(exc, RecursionError) else exc
        raise InputError(f"batch record {path} is unreadable: {why}") from None
