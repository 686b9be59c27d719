"""Ollama through its native HTTP API (`/api/chat`, NDJSON streaming) with `requests`.

Settings (config `providers: {ollama: {...}}`):
    host / base_url   the server, in any form OLLAMA_HOST accepts (default: $OLLAMA_HOST,
                      else http://127.0.0.1:11434), parsed exactly as Ollama does (_ollama_host.py)
    keep_alive        how long the model stays loaded after a request ("5m", seconds, -1 = forever);
                      a request's `metadata.keep_alive` wins
    preload_keep_alive  keep_alive sent by `llm models --preload` (default -1: until unloaded)
    connect_timeout   seconds to open a connection (default 3)
    read_timeout      seconds to wait for the next byte (default 300: loading a model is slow)

Usage and timings are Ollama's own: `prompt_eval_count`/`eval_count` as tokens, and the
nanosecond durations of the final `done:true` line, kept unmodified in `raw_stats`.

`available_offline()` answers "not probed": without a network probe nobody can know whether a
server is up, and claiming it is would let `llm models --offline --available` list models that
then fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from convergio_llm.providers._ollama_host import OllamaHost, parse_ollama_host
from convergio_llm.providers.base import (
    Availability,
    Chunk,
    Completion,
    ModelInfo,
    Provider,
    Request,
    Stopwatch,
    Tier,
    Usage,
)
from convergio_llm.providers.errors import (
    AuthenticationError,
    BadRequest,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
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


class OllamaProvider(Provider):
    kind = "ollama"
    locality = "local-server"
    privacy = "high"

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None):
        super().__init__(name, settings)
        raw = self.settings.get("host") or self.settings.get("base_url")
        self.host: OllamaHost = parse_ollama_host(raw or os.environ.get("OLLAMA_HOST"))
        self._session: requests.Session | None = None

    # -- the catalogue -----------------------------------------------------------------------

    def default_models(self) -> Mapping[Tier, str]:
        # Small enough for a laptop at each step: 2 GB, 4.7 GB and 9 GB at Q4_K_M.
        return {"simple": "llama3.2:3b", "balanced": "qwen2.5:7b", "quality": "qwen2.5:14b"}

    # -- availability and listing ------------------------------------------------------------

    @property
    def unreachable(self) -> str:
        return f"Ollama not reachable at {self.host.url} (set OLLAMA_HOST)"

    def available(self) -> Availability:
        import requests

        try:
            response = self.session().get(self.host.url + "/api/version", timeout=PROBE_TIMEOUT)
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
        running = {m.get("name"): m for m in self._get_json("/api/ps").get("models") or []}
        tiers = {_full_name(model): tier for tier, model in self.catalogue().items()}
        infos = []
        for tag in tags:
            name = str(tag.get("name") or tag.get("model"))
            ps = running.get(name)
            details = dict(tag.get("details") or {})
            details["size"] = tag.get("size")
            if ps is not None:
                details.update(expires_at=ps.get("expires_at"), size_vram=ps.get("size_vram"))
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
            self.model_info(_short_name(m), t, loaded=False, pulled=False) for m, t in tiers.items()
        ]
        return infos

    # -- preload / unload (`llm models --preload/--unload`) ----------------------------------

    def preload(self, model: str) -> dict[str, Any]:
        keep_alive = self.settings.get("preload_keep_alive", -1)
        return self._post_json("/api/generate", {"model": model, "keep_alive": keep_alive}, model)

    def unload(self, model: str) -> dict[str, Any]:
        return self._post_json("/api/generate", {"model": model, "keep_alive": 0}, model)

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
        import requests

        clock = Stopwatch()
        response = self._send("POST", "/api/chat", self.chat_body(request, model), stream=True)
        pieces: list[str] = []
        final: dict[str, Any] | None = None
        with response:
            if response.status_code != 200:
                raise self._http_error(response, model)
            try:
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    item = self._parse_line(line, bool(pieces))
                    if "error" in item:
                        raise self._mid_stream_error(str(item["error"]), bool(pieces))
                    text = str((item.get("message") or {}).get("content") or "")
                    if text:
                        clock.token()
                        pieces.append(text)
                        yield Chunk(text)
                    if item.get("done"):
                        final = item
                        break
            except requests.RequestException as exc:
                raise self._read_error(exc, bool(pieces)) from None
        if final is None:
            raise self._mid_stream_error("stream ended without a done line", bool(pieces))
        yield self._completion(clock, request, model, "".join(pieces), final)

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

    def _parse_line(self, line: bytes, started: bool) -> dict[str, Any]:
        try:
            item = json.loads(line)
        except ValueError:
            raise self._mid_stream_error(f"malformed NDJSON line: {line[:80]!r}", started) from None
        if not isinstance(item, dict):
            raise self._mid_stream_error(f"unexpected NDJSON line: {line[:80]!r}", started)
        return item

    def _read_error(self, exc: Exception, started: bool) -> ProviderError:
        from urllib3.exceptions import ReadTimeoutError

        # requests re-raises a read timeout inside iter_lines() as a ConnectionError.
        timed_out = any(isinstance(a, ReadTimeoutError) for a in (exc, *exc.args))
        if timed_out and not started:
            limit = self.settings.get("read_timeout", 300.0)
            return ProviderTimeout(f"no answer from {self.host.url} in {limit} s", self.name)
        reason = "timed out" if timed_out else "connection lost"
        return self._mid_stream_error(f"{reason}: {exc}", started)

    def _mid_stream_error(self, message: str, started: bool) -> ProviderError:
        if started:
            return StreamInterrupted(message, self.name)
        return ServerError(message, self.name, 200)

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

        timeout = (
            float(self.settings.get("connect_timeout", 3.0)),
            float(self.settings.get("read_timeout", 300.0)),
        )
        url = self.host.url + path
        try:
            return self.session().request(method, url, json=body, stream=stream, timeout=timeout)
        except requests.ConnectTimeout:
            raise ProviderUnavailable(
                f"{self.unreachable}: no answer in {timeout[0]} s", self.name
            ) from None
        except requests.ConnectionError:
            raise ProviderUnavailable(
                f"{self.unreachable}: connection refused", self.name
            ) from None
        except requests.Timeout:
            raise ProviderTimeout(
                f"no answer from {self.host.url} in {timeout[1]} s", self.name
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
        status = response.status_code
        try:
            message = str(response.json().get("error") or response.reason)
        except (ValueError, AttributeError):
            message = response.text.strip()[:200] or str(response.reason)
        if status == 404:
            hint = f" (try: ollama pull {model})" if model and "pull" not in message else ""
            return ModelNotFound(message + hint, self.name, status)
        if status == 429:
            return RateLimited(message, self.name, status, _retry_after(response))
        if status == 503:
            return Overloaded(message, self.name, status)
        if status in (401, 403):
            return AuthenticationError(message, self.name, status)
        if 400 <= status < 500 and status != 499:
            return BadRequest(message, self.name, status)
        return ServerError(f"HTTP {status}: {message}", self.name, status)


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


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _full_name(model: str) -> str:
    """Ollama lists `llama3.2` as `llama3.2:latest`."""
    return model if ":" in model else f"{model}:latest"


def _short_name(name: str) -> str:
    return name.removesuffix(":latest")
