"""Options shared by several commands, each declared once as a typed `Annotated` alias.

A command lists the aliases it takes in its signature (`model: opt.Model = None`) and
hands them to the builders below (`policy_from`, `request_defaults`), which are the one
place the routing and generation flags become a `Policy` and request defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from convergio_llm.routing.decide import Policy

# What every Typer app in this package is built with: one-line errors (cli/errors.py),
# no rich help or tracebacks (rich is never imported at start-up), `-h` as `--help`.
APP_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}

Prompt = Annotated[
    str | None, typer.Argument(metavar="[PROMPT]", help="The prompt (else read from stdin).")
]
Json = Annotated[bool, typer.Option("--json", help="Print a JSON object instead of text.")]
Jsonl = Annotated[
    bool,
    typer.Option("--jsonl", help="Read one JSON request per line; write one JSON result per line."),
]

# Target.
Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="PROVIDER:MODEL",
        help="provider:model (e.g. ollama:llama3.2:3b), or a provider.",
    ),
]
Provider = Annotated[
    str | None,
    typer.Option("--provider", metavar="NAME", help="Use this provider with its default model."),
]

# Generation.
System = Annotated[
    str | None, typer.Option("--system", "-s", metavar="TEXT", help="System prompt.")
]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, metavar="N", help="Most tokens to generate.")
]
Temperature = Annotated[
    float | None,
    typer.Option(
        "--temperature", "-t", min=0.0, max=2.0, metavar="T", help="Sampling temperature."
    ),
]
Seed = Annotated[
    int | None,
    typer.Option("--seed", metavar="N", help="Sampling seed, where the backend takes one."),
]
Stop = Annotated[
    list[str] | None, typer.Option("--stop", metavar="TEXT", help="Stop sequence (repeatable).")
]

# What a request carries besides its prompt: the same flags on `route` and `run`, so a
# decision routes for them (the capability rule sees the image and the schema).
Schema = Annotated[
    str | None,
    typer.Option("--schema", metavar="FILE|JSON", help="Answer as JSON matching this JSON Schema."),
]
Files = Annotated[
    list[str] | None,
    typer.Option(
        "--file", "-f", metavar="PATH", help="Add this file's text to the prompt (repeatable)."
    ),
]
Attachments = Annotated[
    list[str] | None,
    typer.Option(
        "--attach", "-a", metavar="PATH", help="Attach an image or document (repeatable)."
    ),
]

# Routing: the same flags on `route` and `run`.
Private = Annotated[
    bool | None,
    typer.Option(
        "--private/--no-private", help="Keep the request on this machine (or allow cloud)."
    ),
]
Offline = Annotated[
    bool | None,
    typer.Option("--offline/--online", help="Assume no network (or skip detection)."),
]
Quality = Annotated[bool, typer.Option("--quality", help="Ask for the top cloud tier.")]
Profile = Annotated[
    Literal["free", "pro", "enterprise"] | None,
    typer.Option("--profile", help="Policy profile (default: config, else pro)."),
]
Complexity = Annotated[
    Literal["simple", "medium", "complex"] | None,
    typer.Option("--complexity", help="Override the complexity label."),
]

# Dry runs (route only).
Platform = Annotated[
    Literal["apple-silicon", "other"] | None,
    typer.Option("--platform", help="Pretend to run on this platform (dry runs)."),
]
BudgetRemaining = Annotated[
    float | None,
    typer.Option(
        "--budget-remaining",
        min=0.0,
        metavar="USD",
        help="USD left this month (instead of the ledger).",
    ),
]
Explain = Annotated[bool, typer.Option("--explain", help="Explain the decision on stderr.")]

# Ledger periods (cost).
Since = Annotated[
    str | None, typer.Option("--since", metavar="YYYY-MM-DD", help="First day to include.")
]
Until = Annotated[
    str | None, typer.Option("--until", metavar="YYYY-MM-DD", help="Last day to include.")
]

# Several providers: `-p a,b` and `-p a -p b` mean the same on every command.
Providers = Annotated[
    list[str] | None,
    typer.Option(
        "--provider",
        "-p",
        metavar="NAME[,NAME…]",
        help="Only these providers (comma-separated or repeated).",
    ),
]


def split_names(values: list[str] | None) -> tuple[str, ...]:
    """`-p a,b -p c` → ("a", "b", "c"): the one reading of a list-of-names option."""
    return tuple(
        name.strip() for value in values or () for name in value.split(",") if name.strip()
    )


def request_defaults(
    *,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    seed: int | None,
    stop: list[str] | None,
) -> dict[str, Any]:
    """What the generation flags fill in where a request leaves them unset."""
    defaults: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "seed": seed,
        "stop": tuple(stop) if stop else None,
    }
    if system is not None:
        defaults["system"] = system
    return defaults


def policy_from(
    *,
    model: str | None,
    provider: str | None,
    private: bool | None,
    offline: bool | None,
    quality: bool,
    profile: str | None,
    complexity: str | None,
    platform: str | None = None,
    budget_remaining: float | None = None,
    explain: bool = False,
) -> Policy:
    """The routing flags as a Policy (flags a command does not have stay unset)."""
    from convergio_llm.routing.decide import Policy

    return Policy(
        model=model or provider,
        private=private,
        offline=offline,
        quality=quality,
        profile=profile,
        complexity=complexity,
        platform=platform,
        budget_remaining=budget_remaining,
        explain=explain,
    )
