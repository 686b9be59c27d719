"""`llm route eval` and `llm route calibrate`: the router's own tools, declared here and
built only when named as `llm route`'s first argument (cli/route.py)."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

eval_app = typer.Typer(**opt.APP_SETTINGS)
calibrate_app = typer.Typer(**opt.APP_SETTINGS)


@eval_app.command("eval")
@guard
def route_eval(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Labelled prompts (JSON Lines).")],
    split: Annotated[
        str | None, typer.Option("--split", metavar="S", help="Only this split of the set.")
    ] = None,
    json_out: opt.Json = False,
    plot: Annotated[
        str | None, typer.Option("--plot", metavar="PNG", help="Also draw the results to PNG.")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="FIELD", help="Break the scores down by this field."),
    ] = None,
    router: Annotated[
        str | None,
        typer.Option(
            "--router",
            metavar="NAME",
            help="Score with this router (learned, heuristic) instead of the configured one.",
        ),
    ] = None,
    resamples: Annotated[
        int,
        typer.Option(
            "--resamples",
            metavar="N",
            min=0,
            help="Bootstrap resamples behind the 95% intervals (0: none).",
        ),
    ] = 1000,
) -> None:
    """Score the router's decisions against a labelled set of prompts.

    Beside the router: prompt length, and random routing as its exact expectation over
    every random order (APGR 0.5), not one seed's draw. The 95% intervals come from
    resampling the prompts (seeded: the same file gives the same figures); each router
    is scored on the same resamples, so the router's lead has an interval of its own."""
    from convergio_llm.cli.route_eval import eval_command

    finish(
        eval_command(
            ctx.obj,
            file,
            split=split,
            json_out=json_out,
            plot=plot,
            by=by,
            resamples=resamples,
            router=router,
        )
    )


@calibrate_app.command("calibrate")
@guard
def route_calibrate(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(metavar="[FILE]", help="Prompts as JSON Lines (labelled, for --quality)."),
    ] = None,
    cloud_share: Annotated[
        str | None,
        typer.Option(
            "--cloud-share",
            metavar="P",
            help="Target share of requests sent to the cloud: 30% or 0.3.",
        ),
    ] = None,
    quality: Annotated[
        str | None,
        typer.Option(
            "--quality",
            metavar="P",
            help="Share of the strong model's quality to keep: 95% or 0.95.",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", metavar="PROVIDER:MODEL", help="The model the thresholds are fitted for."
        ),
    ] = None,
    from_ledger: Annotated[
        bool, typer.Option("--from-ledger", help="Fit on the requests in the cost ledger.")
    ] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Write the fitted thresholds to the config file.")
    ] = False,
    json_out: opt.Json = False,
) -> None:
    """Fit the router's complexity thresholds to a labelled set or the ledger."""
    from convergio_llm.cli.route_calibrate import calibrate_command

    finish(
        calibrate_command(
            ctx.obj,
            file,
            cloud_share=cloud_share,
            quality=quality,
            target=target,
            from_ledger=from_ledger,
            write=write,
            json_out=json_out,
        )
    )


APPS = {"eval": eval_app, "calibrate": calibrate_app}
