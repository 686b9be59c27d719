"""The per-user folders convergio-llm writes to: config, data (ledger), cache (models, probes).

Lives in `providers` (the bottom layer) because both the embedded model and routing's
state need it. On Linux the XDG rules are read directly: importing platformdirs costs
~6 ms (it pulls in tempfile and shutil), a tenth of `llm route`'s start-up budget.
Everywhere else platformdirs decides.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

APP = "convergio-llm"

# kind → (XDG variable, default under $HOME), as platformdirs' unix backend reads them.
_XDG = {
    "config": ("XDG_CONFIG_HOME", "~/.config"),
    "data": ("XDG_DATA_HOME", "~/.local/share"),
    "cache": ("XDG_CACHE_HOME", "~/.cache"),
}


def user_dir_str(kind: str) -> str:
    """`config`, `data` or `cache` folder for this app (not created), as a string.

    The route path uses this one: pathlib alone costs ~3 ms of start-up.
    """
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        variable, default = _XDG[kind]
        base = os.environ.get(variable, "").strip() or os.path.expanduser(default)
        return os.path.join(base, APP)
    import platformdirs

    finders = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
    }
    return str(finders[kind](APP))


def user_dir(kind: str) -> Path:
    """`config`, `data` or `cache` folder for this app (not created)."""
    from pathlib import Path

    return Path(user_dir_str(kind))
