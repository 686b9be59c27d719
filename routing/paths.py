"""Where convergio-llm keeps its files (XDG on Linux, the platform's own places elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "convergio-llm"


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP)


def cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path(APP)


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
