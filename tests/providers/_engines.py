"""Helpers for the local-engine tests: a subprocess environment in which chosen packages
cannot be imported, as on a machine where they were never installed."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import site_hooks

_SITECUSTOMIZE = '''
import sys

BLOCKED = {blocked!r}


class _NotInstalled:
    """Answers every lookup of a blocked package as if it were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


def without_packages(folder: Path, *modules: str) -> dict[str, str]:
    """Environment variables for run_llm() under which `modules` look uninstalled."""
    folder.mkdir(parents=True, exist_ok=True)
    hook = folder / "without_packages.py"
    hook.write_text(_SITECUSTOMIZE.format(blocked=set(modules)))
    return site_hooks(hook)
