"""cli/run_impl.py: a JSONL run or batch of hostile lines — every bad line is reported by its
number (an error object and one stderr line), every good line is answered, blank lines
are skipped, whatever the mix and order; serially, concurrently, and as a cloud batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convergio_llm.providers.errors import MIN_RUN
from convergio_llm.routing.decision import SCHEMA as DECISION
from tests.cli.test_batch_impl import run as run_batch
from tests.cli.test_run_batch import CONFIG
from tests.conftest import llm
from tests.servers.openai import OpenAIServer
from tests.servers.openai_batch import OpenAIBatchServer

ERROR = "convergio-llm/error/v1"
COMPLETION = "convergio-llm/completion/v1"

# Lines no request can be made of, each with what its error message says.
BAD = {
    b"{not json": "invalid JSON",
    b"[1, 2]": "must be a JSON object",
    b"42": "must be a JSON object",
    b'{"prompt": 3}': "'prompt' (a string)",
    b'{"prompt": ""}': "'prompt' is empty",
    b'{"messages": "hi"}': "'messages'",
    b'{"prompt": "x", "max_tokens": "many"}': "'max_tokens' must be a number",
    b'{"prompt": "\\ud800"}': "lone surrogate",
    b"[" * 1000 + b"]" * 1000: "",
    b"\xff\xfe{}": "not valid UTF-8",
    json.dumps(
        {"schema": DECISION, "request": {"messages": [{"role": "user", "content": "q"}]}}
        | {"provider": "fake", "model": "echo", "complexity": "high"}
    ).encode(): "",
}
BLANK = [b"", b"   ", b"\t"]

good = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\n\r\x85\u2028\u2029"
    ),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() != "")
# A batch refuses private lines (tested in test_run_batch.py): its good lines are plain words,
# which the privacy scan can never take for personal data.
plain = st.text(alphabet="abcdefgh ", min_size=1, max_size=20).filter(lambda t: t.strip() != "")


def lines_of(text: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, object]]:
    return st.one_of(
        text.map(lambda t: ("good", t)),
        st.sampled_from(sorted(BAD)).map(lambda b: ("bad", b)),
        st.sampled_from(BLANK).map(lambda b: ("blank", b)),
    )


line = lines_of(good)


def build(kinds: list[tuple[str, object]]) -> tuple[bytes, dict[int, str], dict[int, bytes]]:
    """stdin, the good lines (number → id) and the bad ones (number → raw line)."""
    raws: list[bytes] = []
    goods: dict[int, str] = {}
    bads: dict[int, bytes] = {}
    for number, (kind, value) in enumerate(kinds, 1):
        if kind == "good":
            goods[number] = f"g{number}"
            raws.append(json.dumps({"id": f"g{number}", "prompt": value}).encode())
        else:
            assert isinstance(value, bytes)
            raws.append(value)
            if kind == "bad":
                bads[number] = value
    return b"\n".join(raws) + b"\n", goods, bads


def check_reported(out: list[dict[str, object]], err: str, bads: dict[int, bytes]) -> None:
    errors = [o for o in out if o["schema"] == ERROR]
    assert [o["line"] for o in errors] == sorted(bads)
    for obj in errors:
        assert BAD[bads[int(str(obj["line"]))]] in str(obj["error"])  # type: ignore[call-overload]
    named = [int(n) for n in re.findall(r"^llm: error: line (\d+):", err, re.M)]
    assert named == sorted(bads), err
    assert "internal error" not in err and "Traceback" not in err


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # All blank is "stdin is empty" (exit 2, tested in test_pipe_contract.py): one line at least.
    kinds=st.lists(line, min_size=1, max_size=10).filter(lambda k: any(x != "blank" for x, _ in k)),
    concurrency=st.sampled_from(["1", "3"]),
)
def test_every_bad_line_is_reported_by_number_and_every_good_line_answered(
    kinds: list[tuple[str, object]], concurrency: str
) -> None:
    stdin, goods, bads = build(kinds)
    args = ["run", "--jsonl", "-m", "fake:echo", "--no-ledger", "--no-cache", "--no-log"]
    done = llm(*args, "--concurrency", concurrency, stdin=stdin)
    out = [json.loads(x) for x in done.stdout.split("\n") if x]
    assert len(out) == len(goods) + len(bads)  # blank lines give nothing
    # In input order: each good line answered with its id, each bad one an error object.
    expected = sorted([*((n, "good") for n in goods), *((n, "bad") for n in bads)])
    assert [o["schema"] for o in out] == [COMPLETION if k == "good" else ERROR for _, k in expected]
    assert [o["id"] for o in out if o["schema"] == COMPLETION] == [goods[n] for n in sorted(goods)]
    check_reported(out, done.stderr, bads)
    assert done.code == (0 if not bads else 2)


@pytest.fixture(scope="module")
def batch_server() -> Iterator[OpenAIBatchServer]:
    with OpenAIBatchServer() as double:
        yield double


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(lines_of(plain), min_size=1, max_size=8).filter(
        lambda k: any(x == "good" for x, _ in k)
    )
)
def test_a_batch_reports_each_bad_line_by_number_and_answers_each_good_one(
    batch_server: OpenAIBatchServer,
    monkeypatch: pytest.MonkeyPatch,
    kinds: list[tuple[str, object]],
) -> None:
    from convergio_llm.routing.decide import Policy

    monkeypatch.setenv("OPENAI_BASE_URL", batch_server.url + "/v1")
    stdin, goods, bads = build(kinds)
    lines = [x.decode("utf-8", "surrogateescape") for x in stdin.split(b"\n")[:-1]]
    # run_batch writes its lines back as UTF-8: the undecodable one goes in as it came.
    status, out, err = _submit(lines, Policy(model="openai:gpt-5-mini"))
    check_reported(out, err, bads)
    assert status == (0 if not bads else 2)
    (batch_id,) = re.findall(r"^llm: batch (\S+): (\d+) line", err, re.M)[0][:1]
    sent = batch_server.files[batch_server.batches[batch_id]["input_file_id"]].decode()
    assert [json.loads(x)["custom_id"] for x in sent.splitlines()] == [
        f"line-{n}" for n in sorted(goods)
    ]
    batch_server.finish(batch_id)
    status, answers, _ = run_batch(CONFIG, batch_results=batch_id)
    assert status == 0 and [o["id"] for o in answers] == [goods[n] for n in sorted(goods)]


def _submit(lines: list[str], policy: object) -> tuple[int, list[dict[str, object]], str]:
    return run_batch(CONFIG, lines, jsonl=True, batch=True, policy=policy)


KEY = "sk-ant-api03-Zq8Wv2Lm9Xc4Rt7Yb1Nk6Hs3Gd5Jf0Pe"


class SplitKeyServer(OpenAIServer):
    """Streams an answer that holds a key, cut inside the key at every token boundary."""

    def _tokens(self, body: dict[str, object]) -> list[str]:
        return ["Your key: sk-ant-api", "03-Zq8Wv", "2Lm9Xc4Rt7", "Yb1Nk6Hs3Gd5Jf0P", "e, ok"]


def test_a_key_streamed_in_pieces_is_scrubbed_and_the_rest_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)  # a secret of this process
    with SplitKeyServer(reply="five words, one a token") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        done = llm("run", "-m", "openai:gpt-5-mini", "--no-cache", stdin="hi")
    assert done.code == 0, done.stderr
    assert done.stdout == "Your key: [redacted], ok\n"
    for start in range(len(KEY) - MIN_RUN + 1):
        assert KEY[start : start + MIN_RUN] not in done.stdout + done.stderr
