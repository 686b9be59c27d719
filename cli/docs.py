"""Generate the committed shell completions and man page from the app itself.

    python -m convergio_llm.cli.docs            # rewrite completions/ and man/
    python -m convergio_llm.cli.docs --check    # exit 1 if they are stale

Generated, never hand-edited: a test fails when they drift from the code.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

from typer import _click as click
from typer.core import TyperGroup

from convergio_llm.cli.exit_status import DESCRIPTIONS
from convergio_llm.cli.main import COMPLETE_VAR, VERSION, app

SHELLS = {"bash": "llm.bash", "zsh": "_llm", "fish": "llm.fish"}


def completion_scripts() -> dict[str, str]:
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    scripts = {}
    for shell, filename in SHELLS.items():
        cls = get_completion_class(shell)
        assert cls is not None
        source = cls(app, {}, "llm", COMPLETE_VAR).source()
        scripts[f"completions/{filename}"] = source.rstrip() + "\n"
    return scripts


def _roff(text: str) -> str:
    lines = []
    for line in text.replace("\\", "\\\\").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines).replace("-", "\\-")


def _options(command: click.Command, ctx: click.Context) -> Iterator[str]:
    for param in command.get_params(ctx):
        # Options only: arguments are in the usage line, and the page must not change
        # with the Typer version (a test compares it byte for byte).
        if param.param_type_name != "option":
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        yield f".TP\n\\fB{_roff(names)}\\fR\n{_roff(help_text)}"


def _commands(group: TyperGroup, root: click.Context) -> Iterator[tuple[str, click.Command]]:
    """Every command, `route`'s first-argument sub-commands right after it."""
    import typer

    from convergio_llm.cli.route_sub import APPS

    for name in sorted(group.list_commands(root)):
        command = group.get_command(root, name)
        assert command is not None
        yield name, command
        if name == "route":
            for sub, sub_app in APPS.items():
                yield f"route {sub}", typer.main.get_command(sub_app)


def man_page() -> str:
    group = app
    assert isinstance(group, TyperGroup)
    root = click.Context(group, info_name="llm", **group.context_settings)
    parts = [
        f'.TH LLM 1 "" "convergio-llm {VERSION}" "User Commands"',
        ".SH NAME",
        "llm \\- send a prompt to the right model, local or cloud",
        ".SH SYNOPSIS",
        "\\fBllm\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        _roff(inspect.cleandoc(group.help or "")),
        ".SH OPTIONS",
        *_options(group, root),
        ".SH COMMANDS",
    ]
    for name, command in _commands(group, root):
        ctx = click.Context(command, info_name=name, parent=root, **command.context_settings)
        usage = " ".join(command.collect_usage_pieces(ctx))
        parts += [
            f".SS llm {name} {_roff(usage)}",
            _roff(inspect.cleandoc(command.help or "")),
            *_options(command, ctx),
        ]
    parts.append(".SH EXIT STATUS")
    for status, text in DESCRIPTIONS.items():
        parts.append(f".TP\n\\fB{int(status)}\\fR\n{_roff(text)}")
    parts += [
        ".SH ENVIRONMENT",
        ".TP\n\\fBCONVERGIO_LLM_CONFIG\\fR\nConfig file to read instead of the default.",
        ".TP\n\\fBCONVERGIO_LLM_OFFLINE\\fR\nSet to 1 to route as if there were no network.",
        ".TP\n\\fBOPENAI_API_KEY\\fR, \\fBANTHROPIC_API_KEY\\fR, \\fBGEMINI_API_KEY\\fR, "
        "\\fBAZURE_OPENAI_API_KEY\\fR, \\fBOLLAMA_HOST\\fR\n"
        "Credentials and endpoints, read only from the environment and never printed.",
        ".SH FILES",
        ".TP\n\\fI$XDG_CONFIG_HOME/convergio\\-llm/config.yaml\\fR\nConfiguration.",
        ".TP\n\\fI$XDG_DATA_HOME/convergio\\-llm/ledger.db\\fR\nThe cost ledger.",
    ]
    return "\n".join(parts) + "\n"


def generated() -> dict[str, str]:
    return {**completion_scripts(), "man/llm.1": man_page()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[1]
    # In an installed tree __file__ is inside site-packages: use the working directory.
    if not (root / "pyproject.toml").exists():
        root = Path.cwd()
    stale = []
    for rel, text in generated().items():
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(rel)
            if "--check" not in args:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if "--check" in args and stale:
        print("stale: " + ", ".join(stale) + " (run: make docs)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
