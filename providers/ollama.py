"""Ollama through its native HTTP API (`/api/chat`, NDJSON streaming) with `requests`.

Settings (config `providers: {ollama: {...}}`):
    host / base_url   the server, in any form OLLAMA_HOST accepts (default: $OLLAMA_HOST,
                      else http://127.0.0.1:11434), parsed exactly as Ollama does (_ollama_host.py)
    keep_alive        how long the model stays loaded after a request ("5m", seconds, -1 = forever);
                      a request's `metadata.keep_alive` wins
    preload_keep_alive  keep_alive sent by `llm models --preload` (default -1: until unloaded)
    connect_timeout   seconds to open a connection (default 10)
    read_timeout      seconds to wait for the first byte, then for each next line (default 300:
                      loading a model is slow); said on stderr while waiting (providers/cloud.py)
    max_retries, max_retry_wait   429 and 503 ("server busy") are retried as for every HTTP
                      backend (providers/cloud.py); a server that is not running is not
                      retried (the fallbacks move on at once)

Errors go through the shared map (providers/error_map.py). A stream without its `done:true`
line, or answered as one JSON body instead of NDJSON, is incomplete.

Usage and timings are Ollama's own: `prompt_eval_count`/`eval_count` as tokens, and the
nanosecond durations of the final `done:true` line, kept unmodified in `raw_stats`.

Locality is per target (providers/manifest.py): the instance is where its host is
(loopback → local-server, private network → local-network, a public host such as
`OLLAMA_HOST=ollama.com` → cloud), and an Ollama cloud model (`*-cloud`, `*:cloud`, or
`remote_host`/`remote_model` in `/api/tags`) runs on Ollama's servers, whatever the host.

`available_offline()` answers "not probed": without a network probe nobody can know whether a
server is up, and claiming it is would let `llm models --offline --available` list models that
then fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from convergio_llm.providers import cloud, manifest
from convergio_llm.providers._ollama_host import OllamaHost, parse_ollama_host
from convergio_llm.providers.base import (
    Availability,
    Chunk,
    Completion,
    ModelInfo,
    Provider,
    Request,
    Stopwatch,
    Usage,
)
from convergio_llm.providers.error_map import error_for_status
from convergio_llm.providers.errors import (
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    ServerError,
)
from convergio_llm.providers.request_parts import ollama_messages

if TYPE_CHECKING:
    import requests

# The final line's engine figures: durations in nanoseconds, counts in tokens.
STAT_KEYS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
PROBE_TIMEOUT = (0.5, 1.0)
READ_TIMEOUT_S = 300.0
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/ndjson")


class OllamaProvider(Provider):
    kind = "ollama"  # locality, host variable, default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None):
        super().__init__(name, settings)
        raw = self.settings.get("host") or self.settings.get("base_url")
        self.host: OllamaHost = parse_ollama_host(raw or os.environ.get("OLLAMA_HOST"))
        self.locality = manifest.locality_of(self.kind, self.settings) or "local-server"
        self.privacy = self.settings.get("privacy") or manifest.PRIVACY_OF[self.locality]
        # Models the server's own listing says run remotely (`remote_host`/`remote_model`).
        self.remote_models: set[str] = set()
        self._session: requests.Session | None = None
        self._facts: dict[str, OllamaFacts | None] = {}

    def locality_of(self, model: str) -> manifest.Locality:
        found = manifest.locality_of(self.kind, self.settings, model, None, self.remote_models)
        return found or self.locality

    def _where(self, model: str) -> dict[str, str]:
        """The locality and privacy `llm models` shows for one model."""
        locality = self.locality_of(model)
        return {"locality": locality, "privacy": manifest.PRIVACY_OF[locality]}

    # -- availability and listing ------------------------------------------------------------

    @property
    def unreachable(self) -> str:
        return f"Ollama not reachable at {self.host.url} (set OLLAMA_HOST)"

    def available(self) -> Availability:
        import requests

        try:
            response = self.session().get(self.host.url + "/api/version", timeout=PROBE_TIMEOUT)
        except requests.ReadTimeout:
            return Availability(True)  # it took the connection: there, only slow to answer
        except requests.RequestException:
            return Availability(False, self.unreachable)
        if response.status_code != 200:
            return Availability(False, f"{self.unreachable}: HTTP {response.status_code}")
        return Availability(True)

    def available_offline(self) -> Availability:
        return Availability(False, f"not probed (--offline); Ollama would be at {self.host.url}")

    def models(self, live: bool = True) -> list[ModelInfo]:
        if not live:
            return super().models(live=False)
        tags = self._get_json("/api/tags").get("models") or []
        try:
            loaded = self._get_json("/api/ps").get("models") or []
        except ProviderError:
            loaded = []  # an older or partial server: the pulled models are still worth listing
        running = {m.get("name"): m for m in loaded if isinstance(m, Mapping)}
        tiers = {_full_name(model): tier for tier, model in self.catalogue().items()}
        infos = []
        for tag in tags:
            name = str(tag.get("name") or tag.get("model"))
            ps = running.get(name)
            details = dict(tag.get("details") or {})
            details["size"] = tag.get("size")
            if ps is not None:
                details.update(expires_at=ps.get("expires_at"), size_vram=ps.get("size_vram"))
            if tag.get("remote_host") or tag.get("remote_model"):
                self.remote_models.update((name, _short_name(name)))
            details.update(self._where(name))
            infos.append(
                self.model_info(
                    _short_name(name),
                    tiers.pop(name, None),
                    loaded=ps is not None,
                    # The context the loaded runner was given; the model's maximum needs /api/show.
                    context_window=ps.get("context_length") if ps else None,
                    **details,
                )
            )
        # Catalogue models not pulled yet are listed too, so `llm models` says what to pull.
        infos += [
            self.model_info(_short_name(m), t, loaded=False, pulled=False, **self._where(m))
            for m, t in tiers.items()
        ]
        return infos

    # -- preload / unload (`llm models --preload/--unload`) ----------------------------------

    def preload(self, model: str) -> dict[str, Any]:
        keep_alive = self.settings.get("preload_keep_alive", -1)
        body = {"model": model, "keep_alive": keep_alive, "stream": False}
        return self._post_json("/api/generate", body, model)

    def unload(self, model: str) -> dict[str, Any]:
        body = {"model": model, "keep_alive": 0, "stream": False}
        return self._post_json("/api/generate", body, model)

    # -- what a model says of itself (capabilities.py) ----------------------------------------

    def model_facts(self, model: str) -> OllamaFacts | None:
        """The model's window and vision from `/api/show` (`model_info["<arch>.context_length"]`,
        `capabilities`), asked once per model with the probe's short timeout; None when the
        server is down or does not know the model: then nothing is known, nothing skipped."""
        if model in self._facts:
            return self._facts[model]
        import requests

        url = self.host.url + "/api/show"
        try:
            response = self.session().post(url, json={"model": model}, timeout=PROBE_TIMEOUT)
            shown = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None  # not kept: the server may be up at the next request
        facts = _facts_from_show(shown) if isinstance(shown, Mapping) else None
        self._facts[model] = facts
        return facts

    # -- generation --------------------------------------------------------------------------

    def chat_body(self, request: Request, model: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if request.seed is not None:
            options["seed"] = request.seed
        if request.stop:
            options["stop"] = list(request.stop)
        body: dict[str, Any] = {
            "model": model,
            "messages": ollama_messages(request),
            "stream": True,
        }
        if options:
            body["options"] = options
        if request.schema is not None:
            body["format"] = dict(request.schema)  # Ollama takes a JSON Schema as `format`
        keep_alive = request.metadata.get("keep_alive", self.settings.get("keep_alive"))
        if keep_alive is not None:
            body["keep_alive"] = _keep_alive(keep_alive)
        return body

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = self.stopwatch()
        lines = cloud.open_stream(
            self.name,
            self.settings,
            lambda: self._lines(request, model),
            self.map_error,
            self.wait_note(),
        )
        pieces: list[str] = []
        final: dict[str, Any] | None = None
        for item in lines:
            if "error" in item:  # Ollama's way to fail once the stream has begun (status 200)
                raise error_for_status(200, item, self.name)
            text = str((item.get("message") or {}).get("content") or "")
            if text:
                clock.token()
                pieces.append(text)
                yield Chunk(text)
            if item.get("done"):
                final = item
        text = "".join(pieces)
        if final is None:  # no done line: the base class calls it incomplete
            yield clock.completion(self, model, text, None, Usage.estimate(request, text))
            return
        yield self._completion(clock, request, model, text, final)

    def _lines(self, request: Request, model: str) -> Iterator[dict[str, Any]]:
        response = self._send("POST", "/api/chat", self.chat_body(request, model), stream=True)
        with response:
            if response.status_code != 200:
                raise self._http_error(response, model)
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind and kind not in NDJSON_TYPES:
                raise ServerError(
                    f"answered {kind or 'a body'} to a streaming request, not NDJSON", self.name
                )
            for line in response.iter_lines():
                if line.strip():
                    item = _parse_line(line)
                    yield item
                    if item.get("done"):
                        return  # the with-block closes the response now

    def wait_note(self) -> tuple[float, str] | None:
        return cloud.wait_note(self.name, self.settings, READ_TIMEOUT_S)

    def _completion(
        self, clock: Stopwatch, request: Request, model: str, text: str, final: Mapping[str, Any]
    ) -> Completion:
        stats = {key: final[key] for key in STAT_KEYS if key in final}
        if "eval_count" in stats or "prompt_eval_count" in stats:
            usage = Usage(int(stats.get("prompt_eval_count", 0)), int(stats.get("eval_count", 0)))
        else:
            usage = Usage.estimate(request, text)
        return clock.completion(
            self,
            model,
            text,
            final.get("done_reason") or None,
            usage,
            raw_stats=stats,
            load_s=_seconds(stats.get("load_duration")),
            prompt_eval_s=_seconds(stats.get("prompt_eval_duration")),
            eval_s=_seconds(stats.get("eval_duration")),
        )

    # -- HTTP --------------------------------------------------------------------------------

    def session(self) -> requests.Session:
        """One session for the process, so a run of many prompts reuses its connection."""
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _send(
        self, method: str, path: str, body: Any = None, stream: bool = False
    ) -> requests.Response:
        import requests

        timeout = cloud.timeouts(self.settings, READ_TIMEOUT_S)
        url = self.host.url + path
        try:
            return self.session().request(method, url, json=body, stream=stream, timeout=timeout)
        except requests.ConnectTimeout:
            message = f"{self.unreachable}: no answer in {timeout[0]:g} s"
            raise _unreachable(message, self.name) from None
        except requests.ConnectionError:
            raise _unreachable(f"{self.unreachable}: connection refused", self.name) from None
        except requests.Timeout:
            raise ProviderTimeout(
                f"no answer from {self.host.url} in {timeout[1]:g} s", self.name
            ) from None

    def _get_json(self, path: str) -> dict[str, Any]:
        response = self._send("GET", path)
        if response.status_code != 200:
            raise self._http_error(response, None)
        return _json_object(response, self.name)

    def _post_json(self, path: str, body: Mapping[str, Any], model: str) -> dict[str, Any]:
        response = self._send("POST", path, dict(body))
        if response.status_code != 200:
            raise self._http_error(response, model)
        return _json_object(response, self.name)

    def _http_error(self, response: requests.Response, model: str | None) -> ProviderError:
        error = error_for_status(response.status_code, response.text, self.name, response.headers)
        if isinstance(error, ModelNotFound) and model and "pull" not in str(error):
            return ModelNotFound(f"{error} (try: ollama pull {model})", self.name, error.status)
        return error


class OllamaFacts(NamedTuple):
    context_length: int | None
    vision: bool


def _facts_from_show(shown: Mapping[str, Any]) -> OllamaFacts:
    info = shown.get("model_info")
    info = info if isinstance(info, Mapping) else {}
    length = info.get(f"{info.get('general.architecture')}.context_length")
    capabilities = shown.get("capabilities")
    vision = isinstance(capabilities, list) and "vision" in capabilities
    window = length if isinstance(length, int) and not isinstance(length, bool) else None
    return OllamaFacts(window if window and window > 0 else None, vision)


def _unreachable(message: str, provider: str) -> ProviderUnavailable:
    error = ProviderUnavailable(message, provider)
    error.retryable = False  # a server that is not running will not be up in a second
    return error


def _parse_line(line: bytes) -> dict[str, Any]:
    """One NDJSON line; anything but a JSON object is a malformed answer (ValueError)."""
    item = json.loads(line)
    if not isinstance(item, dict):
        raise ValueError(f"unexpected NDJSON line: {line[:80]!r}")
    return item


def _json_object(response: requests.Response, provider: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ServerError(
            f"not a JSON object: {response.text[:80]!r}", provider, response.status_code
        )
    return data


def _keep_alive(value: Any) -> Any:
    """`--keep-alive -1` arrives as text; Ollama reads a bare number string as a bad duration."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value  # a duration such as "10m"
        return int(number) if number.is_integer() else number
    return value


def _seconds(nanoseconds: Any) -> float | None:
    return None if nanoseconds is None else float(nanoseconds) / 1e9


def _full_name(model: str) -> str:
    """Ollama lists `llama3.2` as `llama3.2:latest`."""
    return model if ":" in model else f"{model}:latest"


def _short_name(name: str) -> str:
    return name.removesuffix(":latest")
