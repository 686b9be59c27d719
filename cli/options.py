"""Options shared by several commands, declared once as click decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from convergio_llm.routing.decide import Policy

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


prompt_argument = click.argument("prompt", required=False, metavar="[PROMPT]")
json_option = click.option(
    "--json", "json_out", is_flag=True, help="Print a JSON object instead of text."
)
jsonl_option = click.option(
    "--jsonl", is_flag=True, help="Read one JSON request per line; write one JSON result per line."
)

target_options = _stack(
    click.option(
        "--model",
        "-m",
        metavar="PROVIDER:MODEL",
        help="provider:model (e.g. ollama:llama3.2:3b), or a provider.",
    ),
    click.option("--provider", help="Use this provider with its default model."),
)

generation_options = _stack(
    click.option("--system", "-s", help="System prompt."),
    click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens to generate."),
    click.option(
        "--temperature", "-t", type=click.FloatRange(0.0, 2.0), help="Sampling temperature."
    ),
    click.option("--seed", type=int, help="Sampling seed, where the backend takes one."),
    click.option("--stop", multiple=True, help="Stop sequence (repeatable)."),
)

# Routing: the same flags on `route` and `run`.
routing_options = _stack(
    click.option(
        "--private/--no-private",
        default=None,
        help="Keep the request on this machine (or allow cloud).",
    ),
    click.option("--offline/--online", default=None, help="Assume no network (or skip detection)."),
    click.option("--quality", is_flag=True, help="Ask for the top cloud tier."),
    click.option(
        "--profile",
        type=click.Choice(["free", "pro", "enterprise"]),
        help="Policy profile (default: config, else pro).",
    ),
    click.option(
        "--complexity",
        type=click.Choice(["simple", "medium", "complex"]),
        help="Override the complexity label.",
    ),
)

dry_run_options = _stack(
    click.option(
        "--platform",
        type=click.Choice(["apple-silicon", "other"]),
        help="Pretend to run on this platform (dry runs).",
    ),
    click.option(
        "--budget-remaining",
        type=click.FloatRange(min=0.0),
        help="USD left this month (instead of the ledger).",
    ),
)


def request_defaults(flags: dict[str, Any]) -> dict[str, Any]:
    """What the generation flags fill in where a request leaves them unset."""
    stop = flags.get("stop")
    defaults: dict[str, Any] = {
        "max_tokens": flags.get("max_tokens"),
        "temperature": flags.get("temperature"),
        "seed": flags.get("seed"),
        "stop": tuple(stop) if stop else None,
    }
    if flags.get("system") is not None:
        defaults["system"] = flags["system"]
    return defaults


def policy_from(flags: dict[str, Any]) -> Policy:
    """The routing flags as a Policy (flags a command does not have stay unset)."""
    from convergio_llm.routing.decide import Policy

    return Policy(
        model=flags.get("model") or flags.get("provider"),
        private=flags.get("private"),
        offline=flags.get("offline"),
        quality=bool(flags.get("quality")),
        profile=flags.get("profile"),
        complexity=flags.get("complexity"),
        platform=flags.get("platform"),
        budget_remaining=flags.get("budget_remaining"),
        explain=bool(flags.get("explain")),
    )
