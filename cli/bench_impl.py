"""The body of `llm bench`: resolve targets, run them interleaved, summarise, report.

Schedule: the warm-up rounds first (a prompt outside the measured set, every target),
then for each repetition and prompt every target in turn (A B A B), so a slow minute
on the machine hits all targets alike and each pair shares its conditions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from convergio_llm.cli.bench_measure import Sample, Target
from convergio_llm.cli.bench_prompts import Prompt, builtin_prompts, read_prompts, warmup_prompt
from convergio_llm.cli.context import Environment
from convergio_llm.cli.exit_status import ExitStatus
from convergio_llm.providers.base import Request, Usage, estimate_tokens
from convergio_llm.providers.errors import AuthenticationError, InputError, NoProviderAvailable


@dataclass(frozen=True)
class BenchOptions:
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    prompts_file: str | None = None
    repetitions: int = 5
    warmup: int = 1
    max_tokens: int = 128
    concurrency: int = 1
    json_out: bool = False
    plot: str | None = None
    check_engine: bool = False
    seed: int = 0


class Runner(Protocol):
    isolated: bool

    def sample(self, request: Request, sample: Sample) -> Sample: ...

    def close(self) -> None: ...


def bench_command(env: Environment, options: BenchOptions) -> int:
    from convergio_llm.cli.bench_report import host_info, load_average

    if options.plot:
        from convergio_llm.cli.bench_plot import check_path

        check_path(options.plot)
    defaults = {"max_tokens": options.max_tokens, "temperature": 0.0, "seed": options.seed}
    prompts = (
        read_prompts(options.prompts_file, defaults)
        if options.prompts_file
        else builtin_prompts(defaults)
    )
    targets = resolve_targets(env, options)
    host = host_info()
    runners = {t.ref: make_runner(env, t) for t in targets}
    try:
        warm, samples = run_schedule(env, options, targets, runners, prompts, defaults)
    finally:
        for target in targets:
            target.engine_starts = getattr(runners[target.ref], "starts", 0)
            runners[target.ref].close()
    host["load_end"] = load_average()
    for sample in samples:
        sample.cost_usd = cost_of(env, sample)
    record = build_record(options, targets, prompts, host, warm, samples)
    emit(env, options, record, targets, samples)
    return int(ExitStatus.OK if any(s.ok for s in samples) else ExitStatus.PROVIDER_FAILED)


def resolve_targets(env: Environment, options: BenchOptions) -> list[Target]:
    from convergio_llm.providers.registry import split_ref

    refs = list(options.models)
    refs += [p.strip() for spec in options.providers for p in spec.split(",") if p.strip()]
    if not refs:
        raise InputError("nothing to benchmark: give -m provider:model or -p provider,provider")
    targets: list[Target] = []
    for ref in refs:
        name, model = split_ref(ref)
        provider = env.registry.get(name)
        model = model or provider.default_model()
        if not model:
            raise InputError(f"{name} has no default model: use -m {name}:MODEL")
        available = provider.available_for(model)
        if not available:
            # A missing key exits 6, as `llm run` does; anything else 3.
            error = AuthenticationError if available.needs_key else NoProviderAvailable
            raise error(f"{name} is not available: {available.reason}")
        threads = provider.settings.get("n_threads") or provider.settings.get("threads")
        target = Target(
            ref=f"{name}:{model}",
            provider=name,
            model=model,
            kind=provider.kind,
            locality=provider.locality,
            isolated=provider.locality == "in-process",
            threads=int(threads) if threads else None,
        )
        if any(t.ref == target.ref for t in targets):
            raise InputError(f"{target.ref} is named twice")
        targets.append(target)
    return targets


def make_runner(env: Environment, target: Target) -> Runner:
    from convergio_llm.cli.bench_worker import ChildRunner, LocalRunner

    if target.isolated:
        return ChildRunner(target.provider, target.model, env.config_path)
    provider = env.registry.get(target.provider)
    target.load_state = _load_state(provider, target.model)
    return LocalRunner(provider, target.model)


def _load_state(provider: Any, model: str) -> str | None:
    """'warm' when a server says the model is already loaded, 'cold' when it says it is not."""
    if provider.locality != "local-server":
        return None
    try:
        infos = provider.models(live=True)
    except Exception:  # a probe's failure must not stop the benchmark; the samples will say
        return None
    for info in infos:
        if model in (info.name, f"{info.name}:latest") and info.loaded is not None:
            return "warm" if info.loaded else "cold"
    return None


def run_schedule(
    env: Environment,
    options: BenchOptions,
    targets: Sequence[Target],
    runners: dict[str, Runner],
    prompts: Sequence[Prompt],
    defaults: dict[str, Any],
) -> tuple[list[Sample], list[Sample]]:
    plan = [(rep, p) for rep in range(options.repetitions) for p in prompts]
    batches = [plan[i : i + options.concurrency] for i in range(0, len(plan), options.concurrency)]
    warm_prompt = warmup_prompt(defaults)
    warm: list[Sample] = []
    samples: list[Sample] = []
    total = len(targets) * (options.warmup + len(plan))
    with progress(env, total) as tick, ThreadPoolExecutor(options.concurrency) as pool:
        for rep in range(options.warmup):
            for target in targets:
                tick(f"warm-up {target.ref}", 0)
                warm += run_batch(target, runners[target.ref], [(rep, warm_prompt)], pool)
                tick(f"warm-up {target.ref}", 1)
        for batch in batches:
            for target in targets:
                tick(target.ref, 0)
                samples += run_batch(target, runners[target.ref], batch, pool)
                tick(target.ref, len(batch))
    return warm, samples


def run_batch(
    target: Target,
    runner: Runner,
    batch: Sequence[tuple[int, Prompt]],
    pool: ThreadPoolExecutor,
) -> list[Sample]:
    """One target's share of a round; concurrently when the backend is not an in-process one."""

    def one(item: tuple[int, Prompt]) -> Sample:
        rep, prompt = item
        sample = Sample(
            target.ref,
            prompt.id,
            rep,
            max_tokens=prompt.request.max_tokens,
            estimated_input_tokens=estimate_tokens(prompt.request.prompt_text),
        )
        return runner.sample(prompt.request, sample)

    started = time.perf_counter()
    if runner.isolated or len(batch) == 1:
        done = [one(item) for item in batch]
    else:
        done = list(pool.map(one, batch))
    target.busy_s += time.perf_counter() - started
    if target.threads is None:  # the engine chose its own thread count: it says which
        reported = [s.engine.get("n_threads") for s in done]
        target.threads = next((t for t in reported if isinstance(t, int)), None)
    if target.load_s is None:
        target.load_s = next((s.load_s for s in done if s.load_s is not None), None)
        if target.load_s is not None and target.isolated:
            target.load_state = "cold"  # a fresh process loaded it (the OS file cache may be warm)
    return done


@contextmanager
def progress(env: Environment, total: int) -> Iterator[Callable[[str, int], None]]:
    """A rich progress bar on stderr when it is a terminal (and rich, of the `bench` extra, is
    installed); nothing otherwise."""
    from convergio_llm.providers.manifest import importable

    if not env.stderr_isatty or importable("rich"):
        yield lambda description, done: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=env.stderr), transient=True) as bar:
        task = bar.add_task("bench", total=total)

        def tick(description: str, done: int) -> None:
            bar.update(task, advance=done, description=description)

        yield tick


def cost_of(env: Environment, sample: Sample) -> float | None:
    if not sample.ok or sample.input_tokens is None or sample.output_tokens is None:
        return None
    try:
        from convergio_llm.providers.prices import cost_of as price
    except ImportError:  # the price table is optional
        return None
    provider, _, model = sample.target.partition(":")
    usage = Usage(sample.input_tokens, sample.output_tokens, sample.cached_input_tokens or 0)
    return price(provider, model, usage, env.config)


def build_record(
    options: BenchOptions,
    targets: Sequence[Target],
    prompts: Sequence[Prompt],
    host: dict[str, Any],
    warm: Sequence[Sample],
    samples: Sequence[Sample],
) -> dict[str, Any]:
    from convergio_llm.cli.bench_report import SCHEMA
    from convergio_llm.cli.bench_summary import compare, summarise_target
    from convergio_llm.cli.bench_warnings import collect

    summaries = [summarise_target(t, [s for s in samples if s.target == t.ref]) for t in targets]
    by_ref = {s["target"]: s for s in summaries}
    warnings = collect(targets, samples, host, by_ref, options.check_engine)
    if options.concurrency > 1 and any(t.isolated for t in targets):
        warnings.append(
            {
                "target": None,
                "kind": "concurrency",
                "message": "in-process engines ran one request at a time "
                "(--concurrency applies to servers and cloud APIs)",
            }
        )
    return {
        "schema": SCHEMA,
        "host": host,
        "config": {
            "targets": [t.ref for t in targets],
            "prompts": [p.to_json() for p in prompts],
            "repetitions": options.repetitions,
            "warmup": options.warmup,
            "max_tokens": options.max_tokens,
            "concurrency": options.concurrency,
            "temperature": 0.0,
            "seed": options.seed,
            "check_engine": options.check_engine,
        },
        "targets": [t.to_json() for t in targets],
        "warmup_samples": [s.to_json() for s in warm],
        "samples": [s.to_json() for s in samples],
        "summaries": summaries,
        "comparisons": compare(targets, samples, options.seed),
        "warnings": warnings,
    }


def emit(
    env: Environment,
    options: BenchOptions,
    record: dict[str, Any],
    targets: Sequence[Target],
    samples: Sequence[Sample],
) -> None:
    if options.plot:
        from convergio_llm.cli.bench_plot import draw

        host = record["host"]
        draw(
            options.plot,
            targets,
            samples,
            f"llm bench · {host['cpu']} · {host['cores']} cores · n={options.repetitions}",
        )
    if options.json_out:
        from convergio_llm.cli.io import write_json

        write_json(env.stdout, record)
    else:
        from convergio_llm.cli.bench_report import write_text

        write_text(env.stdout, record)
