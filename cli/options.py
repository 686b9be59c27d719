"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated, Any

import typer

Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="provider:model (e.g. ollama:llama3.2:3b), or a provider."),
]
Provider = Annotated[
    str | None, typer.Option("--provider", help="Use this provider with its default model.")
]
System = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Most tokens to generate.")
]
Temperature = Annotated[
    float | None,
    typer.Option("--temperature", "-t", min=0.0, max=2.0, help="Sampling temperature."),
]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Sampling seed, where the backend takes one.")
]
Stop = Annotated[
    list[str] | None, typer.Option("--stop", help="Stop sequence (repeatable).", show_default=False)
]
Json = Annotated[bool, typer.Option("--json", help="Print a JSON object instead of text.")]
Jsonl = Annotated[
    bool,
    typer.Option("--jsonl", help="Read one JSON request per line; write one JSON result per line."),
]
Prompt = Annotated[
    str | None,
    typer.Argument(help="The prompt; read from stdin when omitted or '-'.", show_default=False),
]

# Routing: the same flags on `route` and `run`.
Private = Annotated[
    bool | None,
    typer.Option(
        "--private/--no-private",
        help="Keep the request on this machine (or allow cloud).",
        show_default=False,
    ),
]
Offline = Annotated[
    bool | None,
    typer.Option(
        "--offline/--online", help="Assume no network (or skip detection).", show_default=False
    ),
]
Quality = Annotated[bool, typer.Option("--quality", help="Ask for the top cloud tier.")]
Profile = Annotated[
    str | None,
    typer.Option("--profile", help="Policy profile: free, pro or enterprise.", show_default=False),
]
Complexity = Annotated[
    str | None,
    typer.Option(
        "--complexity",
        help="Override the complexity label: simple, medium or complex.",
        show_default=False,
    ),
]
Platform = Annotated[
    str | None,
    typer.Option(
        "--platform",
        help="Pretend to run on: apple-silicon or other (dry runs).",
        show_default=False,
    ),
]
BudgetRemaining = Annotated[
    float | None,
    typer.Option(
        "--budget-remaining",
        min=0.0,
        help="USD left this month (instead of the ledger).",
        show_default=False,
    ),
]


def generation_defaults(
    max_tokens: int | None, temperature: float | None, seed: int | None, stop: list[str] | None
) -> dict[str, Any]:
    return {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "seed": seed,
        "stop": tuple(stop) if stop else None,
    }
