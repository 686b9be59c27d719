"""A loopback double that answers as Ollama's native API does (provider-contracts §1).

Serves `/`, `/api/version`, `/api/tags`, `/api/ps`, `/api/show`, `/api/chat` and `/api/generate`:
NDJSON streams (`application/x-ndjson`, streaming by default), a final `done:true` line with
the nanosecond stats, Go-`omitempty` shapes, `{"error": ...}` bodies before the first byte (with
a status) and after it (a last NDJSON line, status 200), and single-JSON preload/unload answers.

The engine figures are constructor arguments so a benchmark can check what it reports:
`load_ns`, `prompt_eval_ns`, `eval_ns_per_token`, plus real delays `first_token_delay_s` and
`token_delay_s`. `spans` records (start, end) monotonic times of every streamed generation, so a
test can see how many were in flight at once. Failures are attributes a test sets:
`fail_before` = (status, message) for the next generation requests, `mid_stream_error` (sent
after `mid_stream_after` tokens).

    python -m tests.servers.ollama --port 11434     # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.servers.base import LoopbackServer, Recorded, Response

VERSION = "0.32.15"
DEFAULT_MODELS = ("llama3.2:3b", "qwen2.5:7b", "gemma3:270m")
DEFAULT_REPLY = "The sky is blue because air scatters blue light more than red."
NDJSON_TYPE = "application/x-ndjson"
BUSY = "server busy, please try again.  maximum pending requests exceeded"


def go_line(obj: Any) -> bytes:
    """One NDJSON line as Go's encoding/json writes it: no spaces after separators."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def go_json(obj: Any, status: int = 200) -> Response:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, {"Content-Type": "application/json; charset=utf-8"}, body)


def now_rfc3339() -> str:
    """Go's time.RFC3339Nano in UTC, as Ollama writes `created_at`."""
    stamp = dt.datetime.now(dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}000Z"


def not_found_message(model: str, variant: str = "lookup") -> str:
    """Both wordings Ollama uses: the model lookup, and the scheduler's."""
    if variant == "scheduler":
        return f'model "{model}" not found, try pulling it first'
    return f"model '{model}' not found"


class OllamaServer(LoopbackServer):
    def malformed_record(self) -> bytes:
        return b'{"model":"llama3.2:3b","message":{"role":"assistant","content":"bro\n'

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def __init__(
        self,
        models: Sequence[str] = DEFAULT_MODELS,
        reply: str = DEFAULT_REPLY,
        load_ns: int = 1_334_875,
        prompt_eval_ns: int = 342_546_000,
        eval_ns_per_token: int = 16_000_000,
        first_token_delay_s: float = 0.0,
        token_delay_s: float = 0.0,
        context_length: int = 131072,
        vision_models: Sequence[str] = (),
    ) -> None:
        super().__init__()
        # Headers and first chunk are separate small writes: without TCP_NODELAY, Nagle and
        # delayed ACKs add ~40 ms to the first token, which would pollute measured TTFTs.
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        self.models = list(models)
        self.loaded: dict[str, float] = {}  # model → expiry (unix time)
        self.reply = reply
        self.load_ns = load_ns
        self.prompt_eval_ns = prompt_eval_ns
        self.eval_ns_per_token = eval_ns_per_token
        self.first_token_delay_s = first_token_delay_s
        self.token_delay_s = token_delay_s
        self.context_length = context_length
        # /api/show's `capabilities` lists "vision" for these, as for llava or gemma3.
        self.vision_models = set(vision_models)
        self.not_found_variant = "lookup"
        self.fail_before: tuple[int, str] | None = None
        self.mid_stream_error: str | None = None
        self.mid_stream_after = 1
        self.spans: list[tuple[float, float]] = []  # streamed generations: (start, end), monotonic
        self._spans_changed = threading.Condition(self._lock)
        self.route("GET", "/", lambda r, m: Response.text("Ollama is running"))
        self.route("GET", "/api/version", lambda r, m: go_json({"version": VERSION}))
        self.route("GET", "/api/tags", lambda r, m: go_json({"models": self._tags()}))
        self.route("GET", "/api/ps", lambda r, m: go_json({"models": self._ps()}))
        self.route("POST", "/api/show", self._show)
        self.route("POST", "/api/chat", lambda r, m: self._generate(r, chat=True))
        self.route("POST", "/api/generate", lambda r, m: self._generate(r, chat=False))

    def rebind(self, port: int) -> None:
        """Listen on a chosen port instead of a free one (before start())."""
        handler = self._httpd.RequestHandlerClass
        self._httpd.server_close()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def not_found(self, rec: Recorded) -> Response:
        return Response.text("404 page not found", status=404)  # gin's answer to unknown paths

    # -- listing ----------------------------------------------------------------------------

    def _details(self, name: str) -> dict[str, Any]:
        family = name.partition(":")[0].rstrip("0123456789.") or "llama"
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        }

    def _entry(self, name: str) -> dict[str, Any]:
        full = name if ":" in name else f"{name}:latest"
        return {
            "name": full,
            "model": full,
            "size": 2019393189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": self._details(name),
        }

    def _tags(self) -> list[dict[str, Any]]:
        modified = "2026-05-04T17:37:44.706015396-07:00"
        return [
            self._entry(n) | {"modified_at": modified, "capabilities": ["completion", "tools"]}
            for n in self.models
        ]

    def _ps(self) -> list[dict[str, Any]]:
        out = []
        for name, expiry in self.loaded.items():
            stamp = dt.datetime.fromtimestamp(expiry, dt.timezone.utc)
            expires = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}000Z"
            out.append(
                self._entry(name)
                | {
                    "expires_at": expires,
                    "size_vram": 2019393189,
                    "context_length": min(4096, self.context_length),
                }
            )
        return out

    def _known(self, model: str) -> bool:
        return model in self.models or f"{model}:latest" in self.models

    def _show(self, rec: Recorded, _: Any) -> Response:
        body, error = _body(rec)
        if error:
            return error
        model = body.get("model") or body.get("name") or ""
        if not self._known(model):
            return _error(404, not_found_message(model))
        family = self._details(model)["family"]
        return go_json(
            {
                "modelfile": f"FROM {model}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": self._details(model),
                "model_info": {
                    "general.architecture": family,
                    f"{family}.context_length": self.context_length,
                },
                "capabilities": self._capabilities(model),
                "modified_at": "2026-05-04T17:37:44.706015396-07:00",
            }
        )

    def _capabilities(self, model: str) -> list[str]:
        full = model if ":" in model else f"{model}:latest"
        if {model, full} & self.vision_models:
            return ["completion", "vision"]
        return ["completion", "tools"]

    # -- generation --------------------------------------------------------------------------

    def _generate(self, rec: Recorded, chat: bool) -> Response:
        body, error = _body(rec)
        if error:
            return error
        model = body.get("model") or ""
        if not model:
            return _error(400, "model is required")
        if self.fail_before is not None:
            status, message = self.fail_before
            return _error(status, message)
        if not self._known(model):
            return _error(404, not_found_message(model, self.not_found_variant))
        keep_alive = body.get("keep_alive")
        empty = not body.get("messages") if chat else not body.get("prompt")
        if empty:
            return self._load_or_unload(model, chat, keep_alive)
        self._mark_loaded(model, keep_alive)
        tokens = self._tokens(body)
        if body.get("stream", True) is False:
            text = "".join(tokens)
            final = self._piece(model, chat, text) | self._stats(body, tokens)
            return go_json(final)
        stream = self._timed(self._stream(model, chat, body, tokens))
        return Response(200, {"Content-Type": NDJSON_TYPE}, stream=stream)

    def _timed(self, stream: Iterator[bytes | float]) -> Iterator[bytes | float]:
        started = time.monotonic()
        try:
            yield from stream
        finally:
            with self._spans_changed:
                self.spans.append((started, time.monotonic()))
                self._spans_changed.notify_all()

    def wait_for_spans(self, count: int) -> list[tuple[float, float]]:
        """The spans once `count` generations have ended. The client can hold a whole answer
        a moment before the server's stream is wound up and its span recorded; pytest-timeout
        bounds the wait, no fixed timeout here."""
        with self._spans_changed:
            self._spans_changed.wait_for(lambda: len(self.spans) >= count)
            return list(self.spans)

    def _tokens(self, body: dict[str, Any]) -> list[str]:
        words = self.reply.split()
        limit = (body.get("options") or {}).get("num_predict")
        tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
        return tokens[:limit] if isinstance(limit, int) and limit >= 0 else tokens

    def _piece(self, model: str, chat: bool, text: str, done: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"model": model, "created_at": now_rfc3339()}
        if chat:
            out["message"] = {"role": "assistant", "content": text}
        else:
            out["response"] = text
        out["done"] = done
        return out

    def _stats(self, body: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
        limited = len(tokens) < len(self.reply.split())
        prompt_tokens = _prompt_tokens(body)
        eval_ns = self.eval_ns_per_token * len(tokens)
        stats = {
            "done_reason": "length" if limited else "stop",
            "total_duration": self.load_ns + self.prompt_eval_ns + eval_ns + 1_000_000,
            "load_duration": self.load_ns,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": self.prompt_eval_ns,
            "eval_count": len(tokens),
            "eval_duration": eval_ns,
        }
        return {k: v for k, v in stats.items() if v}  # Go omitempty

    def _stream(
        self, model: str, chat: bool, body: dict[str, Any], tokens: list[str]
    ) -> Iterator[bytes | float]:
        if self.first_token_delay_s:
            yield self.first_token_delay_s
        for i, token in enumerate(tokens):
            if self.mid_stream_error is not None and i == self.mid_stream_after:
                yield go_line({"error": self.mid_stream_error})
                return
            if i and self.token_delay_s:
                yield self.token_delay_s
            yield go_line(self._piece(model, chat, token, done=False))
        if self.mid_stream_error is not None:
            yield go_line({"error": self.mid_stream_error})
            return
        yield go_line(self._piece(model, chat, "") | self._stats(body, tokens))

    def _mark_loaded(self, model: str, keep_alive: Any) -> None:
        seconds = _keep_alive_seconds(keep_alive)
        if seconds == 0:
            self.loaded.pop(model, None)
        else:
            self.loaded[model] = time.time() + (seconds if seconds > 0 else 10 * 365 * 86400)

    def _load_or_unload(self, model: str, chat: bool, keep_alive: Any) -> Response:
        self._mark_loaded(model, keep_alive)
        reason = "unload" if _keep_alive_seconds(keep_alive) == 0 else "load"
        answer = self._piece(model, chat, "")
        done = answer.pop("done")
        return go_json(answer | {"done_reason": reason, "done": done})


def _keep_alive_seconds(value: Any) -> float:
    """Seconds from keep_alive (a number of seconds or a Go duration like "5m"); <0 = forever."""
    if value is None:
        return 300.0
    if isinstance(value, (int, float)):
        return float(value)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    text = str(value)
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def _prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(len(str(m.get("content", "")).split()) + 4 for m in body["messages"])
    return len(str(body.get("prompt", "")).split()) + 4


def _error(status: int, message: str) -> Response:
    return go_json({"error": message}, status=status)


def _body(rec: Recorded) -> tuple[dict[str, Any], Response | None]:
    if not rec.body:
        return {}, _error(400, "missing request body")
    try:
        body = json.loads(rec.body)
    except ValueError as exc:
        return {}, _error(400, f"invalid character in request body: {exc}")
    if not isinstance(body, dict):
        return {}, _error(400, "json: cannot unmarshal into Go value of type api.ChatRequest")
    return body, None


@pytest.fixture
def ollama_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaServer]:
    """A running double, with OLLAMA_HOST pointing at it for this test."""
    with OllamaServer() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = OllamaServer(token_delay_s=args.token_delay)
    if args.port:
        server.rebind(args.port)
    server.start()
    print(f"OLLAMA_HOST={server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
