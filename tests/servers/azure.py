"""A loopback double of Azure OpenAI's chat completions: the OpenAI double with Azure's differences.

Both URL styles: `POST /openai/deployments/{deployment}/chat/completions?api-version=...`
(auth `api-key`; the deployment is the model) and the v1 API `POST /openai/v1/chat/completions`
(`Authorization: Bearer`, model in the body); either header is accepted on both. The first
stream chunk has empty `choices` and only `prompt_filter_results`, as Azure sends; answers carry
`prompt_filter_results` and per-choice `content_filter_results`. Errors use `error.code`, often
with no `type`; a blocked prompt is HTTP 400 with code `content_filter`.
Facts: shared/reference/provider-contracts.md §6.

Failures a test sets: `fail()` queues Azure-shaped errors (or push any Response onto
`failures`); `block_prompt()` queues the content-filter refusal; `finish_reason` forces the
finish reason (e.g. "content_filter" with `reply = ""`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import CANARY
from tests.servers.base import Recorded, Response
from tests.servers.openai import OpenAIServer

KINDS = {"auth": 401, "not_found": 404, "rate_limit": 429, "server": 500, "overloaded": 503}
ERRORS = {
    401: ("401", "Access denied due to invalid subscription key or wrong API endpoint."),
    404: (
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment "
        "within the last 5 minutes, please wait a moment and try again.",
    ),
    429: ("429", "Requests to the ChatCompletions_Create Operation have exceeded the rate limit."),
    500: ("InternalServerError", "The server had an error while processing your request."),
    503: ("ServiceUnavailable", "The service is temporarily unable to process your request."),
}
SAFE = {"filtered": False, "severity": "safe"}
FILTER_RESULTS = dict.fromkeys(("hate", "self_harm", "sexual", "violence"), SAFE)


def azure_error(
    status: int, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    code, default = ERRORS.get(status, (str(status), "error"))
    return Response.json({"error": {"code": code, "message": message or default}}, status, headers)


def prompt_filter_results() -> list[dict[str, Any]]:
    results = {**FILTER_RESULTS, "jailbreak": {"filtered": False, "detected": False}}
    return [{"prompt_index": 0, "content_filter_results": results}]


class AzureDouble(OpenAIServer):
    chat_path = r"/openai/deployments/(?P<deployment>[^/]+)/chat/completions"
    models_path = r"/openai/models"

    def __init__(self, api_key: str | None = CANARY, reply: str = "Hello there!") -> None:
        super().__init__(api_key=api_key, reply=reply)
        # Poll for shutdown every 50 ms, not the default 500: tests stop a double each time.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.finish_reason: str | None = None
        self.route("POST", r"/openai/v1/chat/completions", self._chat)

    def fail(
        self,
        status: int | str,
        message: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        status = KINDS[status] if isinstance(status, str) else status
        # Tests must never wait for real.
        extra = {"retry-after-ms": "1"} if status == 429 else {}
        extra.update(headers or {})
        for _ in range(times):
            self.failures.append(azure_error(status, message, extra))

    def block_prompt(self) -> None:
        results = {**FILTER_RESULTS, "violence": {"filtered": True, "severity": "medium"}}
        error = {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
            "content management policy. Please modify your prompt and retry.",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": results,
            },
        }
        self.failures.append(Response.json({"error": error}, 400))

    # -- Azure's differences, through the OpenAI double's hooks ----------------------------------

    first_text = 2  # after the prompt-filter chunk and the role chunk

    def authorized(self, rec: Recorded) -> Response | None:
        bearer = rec.headers.get("authorization", "")
        given = rec.headers.get("api-key") or bearer.removeprefix("Bearer ")
        if self.api_key is None or given == self.api_key:
            return None
        return azure_error(401)

    def model_of(self, rec: Recorded, match: re.Match[str], body: dict[str, Any]) -> str:
        deployment = match.groupdict().get("deployment")
        if deployment is None:
            return str(body.get("model") or "")  # the v1 API names the deployment in the body
        if not rec.query.get("api-version"):
            return ""  # Azure answers 404 without an api-version; no deployment matches ""
        return deployment

    def first_chunks(self, model: str) -> list[dict[str, Any]]:
        # Blank id, object and model; no choices: clients must not index choices[0].
        empty = {"id": "", "object": "", "created": 0, "model": "", "choices": []}
        return [empty | {"prompt_filter_results": prompt_filter_results()}]

    def chunk_extra(self, model: str) -> dict[str, Any]:
        return {"system_fingerprint": "fp_azure"}

    def completion_extra(self, model: str) -> dict[str, Any]:
        return {"system_fingerprint": "fp_azure", "prompt_filter_results": prompt_filter_results()}

    def _finish(self, tokens: list[str]) -> str:
        return self.finish_reason or super()._finish(tokens)

    def _chat(self, rec: Recorded, match: re.Match[str]) -> Response:
        response = super()._chat(rec, match)
        if response.status == 404 and response.body and b"model_not_found" in response.body:
            return azure_error(404)  # Azure says DeploymentNotFound, in its own shape
        return response


@pytest.fixture
def azure_double() -> Iterator[AzureDouble]:
    """A running double that accepts only the canary key the tests put in AZURE_OPENAI_API_KEY."""
    with AzureDouble() as double:
        yield double
