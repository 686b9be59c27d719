"""Start-up cost is a feature: the commands people run in shell loops import no SDK or engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = (
    "requests",
    "openai",
    "anthropic",
    "google.genai",
    "mlx",
    "mlx_lm",
    "llama_cpp",
    "httpx2",
    "httpx",
    "numpy",
    "rich",
    "pydantic",
)

# Modules `llm route` once paid for without using them (cold start is measured in
# tests/benchmarks/bench_startup.py): pinned so they do not creep back. The cloud backends
# are asked only why they are skipped, which the manifest answers (providers/registry.py).
ROUTE_NEEDS_NOT = (
    "logging",
    "dataclasses",  # route's records are NamedTuples (providers/values.py, routing/decision.py)
    "yaml",  # the price table comes from its parsed mirror, providers/prices_table.py
    "convergio_llm.cli.exit_status",  # an enum only an error needs (cli/errors.py)
    "convergio_llm.providers.base",
    "convergio_llm.providers.anthropic",
    "convergio_llm.providers.openai",
    "convergio_llm.providers.google",
    "convergio_llm.providers.azure",
)

PROBE = """
import json, sys
from convergio_llm.cli.main import app
try:
    app(sys.argv[1:], prog_name="llm")
except SystemExit:
    pass
heavy = {heavy!r}
found = sorted(m for m in heavy if m in sys.modules)
sys.stderr.write("\\nMODULES=" + json.dumps(found) + "\\n")
"""


def probe(
    script: str, marker: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> str:
    """Run `script` as `llm *args` in a fresh interpreter; what it wrote after `marker=`."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        input=stdin.encode(),
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        check=False,
    )
    found = result.stderr.decode().rsplit(f"{marker}=", 1)
    assert len(found) == 2, result.stderr.decode()
    return found[1].strip()


def imported_heavy(
    *args: str, stdin: str = "", heavy: tuple[str, ...] = HEAVY, env: dict[str, str] | None = None
) -> list[str]:
    found: list[str] = json.loads(
        probe(PROBE.format(heavy=heavy), "MODULES", *args, stdin=stdin, env=env)
    )
    return found


def test_importing_the_cli_imports_nothing_heavy() -> None:
    code = f"import sys, convergio_llm.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert out.stdout.decode().strip() == "[]"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("--help",), ""),
        (("models", "--offline"), ""),
        # The label is forced so no cloud probe runs (the learned router sends this prompt
        # to the cloud tier); the prompt is still scored, by the same code as ever.
        (("route", "--complexity", "simple"), "Summarise: the meeting moved to 3pm"),
        (("route", "--explain", "--offline"), "Prove that sqrt(2) is irrational"),
        (("run", "-m", "fake:echo"), "hello"),
        (("cost",), ""),
    ],
)
def test_everyday_commands_import_no_sdk_or_engine(args: tuple[str, ...], stdin: str) -> None:
    assert imported_heavy(*args, stdin=stdin) == []


@pytest.mark.parametrize(
    "args",
    [
        # Offline, the cloud backends are still loaded to say why each was skipped.
        ("route", "--offline"),
        ("route", "--complexity", "complex", "--offline"),
        ("route", "--jsonl", "--offline"),
    ],
)
def test_route_imports_no_module_it_does_not_use(args: tuple[str, ...]) -> None:
    stdin = '{"prompt": "Summarise: the meeting moved to 3pm"}' if "--jsonl" in args else "hi"
    assert imported_heavy(*args, stdin=stdin, heavy=ROUTE_NEEDS_NOT) == []


def test_route_prices_a_cloud_target_without_the_provider_machinery() -> None:
    # With a key the cloud target is available, so the decision is priced (providers/prices.py).
    env = {"ANTHROPIC_API_KEY": "sk-ant-startup-probe", "CONVERGIO_LLM_OFFLINE": ""}
    args = ("route", "--complexity", "complex", "--online")
    assert imported_heavy(*args, stdin="hi", heavy=ROUTE_NEEDS_NOT, env=env) == []


STRING_ANNOTATED = """
import sys
from typing import ForwardRef
from convergio_llm.cli.main import app
try:
    app(sys.argv[1:], prog_name="llm")
except SystemExit:
    pass
found = sorted(
    f"{name}.{cls.__name__}"
    for name, module in list(sys.modules.items())
    if name.startswith("convergio_llm")
    for cls in vars(module).values()
    if isinstance(cls, type) and hasattr(cls, "_fields") and cls.__module__ == name
    and any(isinstance(t, (str, ForwardRef)) for t in getattr(cls, "__annotations__", {}).values())
)
sys.stderr.write("\\nSTRINGS=" + ",".join(found) + "\\n")
"""


def test_routes_records_are_defined_from_real_annotations() -> None:
    # typing.NamedTuple compiles every string annotation (`from __future__ import
    # annotations`) into a ForwardRef when the class is defined: ~1 ms per `llm route` for
    # its ~20 records. The modules that define them keep real annotations.
    assert probe(STRING_ANNOTATED, "STRINGS", "route", "--offline", stdin="hi") == ""


# Patterns `echo p | llm route` does not use, kept as pattern strings so that `re` compiles
# each on first use (each took ~0.1-0.2 ms at every start). Not scrub's 4-gram blocks:
# with a secret set (the suite sets a canary in every key variable) every write uses them.
LAZY_PATTERNS = """
import re, sys
from convergio_llm.cli import context, io
from convergio_llm.cli.main import app
from convergio_llm.providers import errors
from convergio_llm.routing import privacy, validators
try:
    app(sys.argv[1:], prog_name="llm")
except SystemExit:
    pass
lazy = {
    "errors._LINE_BREAKS": errors._LINE_BREAKS,
    "errors._URL_PASSWORD": errors._URL_PASSWORD,
    "context._URL_START": context._URL_START,
    "io._SURROGATE": io._SURROGATE,
    "io._NOT_FINITE": io._NOT_FINITE,
    "validators._VERSION_WORDS": validators._VERSION_WORDS,
    "privacy._CF_RUN": privacy._CF_RUN,
}
cached = {key[1] for key in re._cache}  # what re has compiled so far, by pattern
compiled = [n for n, p in lazy.items() if isinstance(p, re.Pattern) or p in cached]
sys.stderr.write("\\nCOMPILED=" + ",".join(compiled) + "\\n")
"""


def test_route_compiles_no_pattern_it_does_not_use() -> None:
    stdin = "Summarise: the meeting moved to 3pm"
    assert probe(LAZY_PATTERNS, "COMPILED", "route", "--offline", stdin=stdin) == ""


# A one-shot route looks its words up in the shipped file's text; parsing all 3,000 weights
# cost ~7.6M instructions (~2.5% of the whole start) for the few dozen a prompt needs.
WEIGHTS_PARSED = """
import sys
from convergio_llm.cli.main import app
from convergio_llm.routing import scorer
try:
    app(sys.argv[1:], prog_name="llm")
except SystemExit:
    pass
words = scorer.shipped().words
parsed = not isinstance(words, scorer.ShippedWeights) or words._all is not None
sys.stderr.write("\\nPARSED=" + str(parsed) + " LOOKED_UP=" + str(len(words._found)) + "\\n")
"""


def test_route_parses_only_the_weights_its_prompt_needs() -> None:
    stdin = "Prove that sqrt(2) is irrational, and explain each step"
    found = probe(WEIGHTS_PARSED, "PARSED", "route", "--offline", stdin=stdin)
    parsed, looked_up = found.split(" LOOKED_UP=")
    assert parsed == "False"
    assert 0 < int(looked_up) < 20  # its nine words and their shapes
