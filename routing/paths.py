"""Where convergio-llm keeps its files (XDG on Linux, the platform's own places elsewhere)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from convergio_llm.providers.dirs import APP, user_dir, user_dir_str

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["APP", "cache_dir", "config_dir", "config_file", "data_dir", "default_config_file"]


def config_dir() -> Path:
    return user_dir("config")


def data_dir() -> Path:
    return user_dir("data")


def cache_dir() -> Path:
    return user_dir("cache")


def default_config_file() -> str:
    return os.path.join(user_dir_str("config"), "config.yaml")


def config_file(explicit: str | os.PathLike[str] | None = None) -> tuple[str, bool]:
    """The config file to read, and whether the user named it (then it must exist).

    A plain string: `llm route` reads this on every start and pathlib costs ~3 ms.
    """
    if explicit:
        return os.path.expanduser(os.fspath(explicit)), True
    env = os.environ.get("CONVERGIO_LLM_CONFIG")
    if env:
        return os.path.expanduser(env), True
    return default_config_file(), False
