"""The per-user folders convergio-llm writes to: config, data (ledger), cache (models, probes).

Lives in `providers` (the bottom layer) because both the embedded model and routing's
state need it. On Linux the XDG rules are read directly: importing platformdirs costs
~6 ms (it pulls in tempfile and shutil), a tenth of `llm route`'s start-up budget.
Everywhere else platformdirs decides.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "convergio-llm"

# kind → (XDG variable, default under $HOME), as platformdirs' unix backend reads them.
_XDG = {
    "config": ("XDG_CONFIG_HOME", "~/.config"),
    "data": ("XDG_DATA_HOME", "~/.local/share"),
    "cache": ("XDG_CACHE_HOME", "~/.cache"),
}


def user_dir(kind: str) -> Path:
    """`config`, `data` or `cache` folder for this app (not created)."""
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:
        variable, default = _XDG[kind]
        base = os.environ.get(variable, "").strip() or os.path.expanduser(default)
        return Path(base) / APP
    import platformdirs

    finders = {
        "config": platformdirs.user_config_path,
        "data": platformdirs.user_data_path,
        "cache": platformdirs.user_cache_path,
    }
    return finders[kind](APP)
