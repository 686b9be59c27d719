"""Where convergio-llm keeps its files (XDG on Linux, the platform's own places elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

from convergio_llm.providers.dirs import APP, user_dir

__all__ = ["APP", "cache_dir", "config_dir", "config_file", "data_dir", "default_config_file"]


def config_dir() -> Path:
    return user_dir("config")


def data_dir() -> Path:
    return user_dir("data")


def cache_dir() -> Path:
    return user_dir("cache")


def default_config_file() -> Path:
    return config_dir() / "config.yaml"


def config_file(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (then it must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get("CONVERGIO_LLM_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return default_config_file(), False
