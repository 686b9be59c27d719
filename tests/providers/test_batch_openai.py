"""providers/batch_openai.py: a results file that is partly garbage still answers every line
— the readable ones with their answers, the others with an error — never `internal error`."""

from __future__ import annotations

import json

from tests.cli.test_batch_impl import run, server, submit  # noqa: F401 (server: a fixture)
from tests.cli.test_run_batch import CONFIG, prompts
from tests.servers.openai_batch import OpenAIBatchServer


def test_garbage_lines_in_the_results_file_become_errors_of_their_lines(
    server: OpenAIBatchServer,  # noqa: F811
) -> None:
    _, _, _, (batch_id,) = submit(CONFIG, prompts("one", "two", "three", "four"))
    server.finish(batch_id)
    batch = server.batches[batch_id]
    rows = server.files[batch["output_file_id"]].decode().splitlines()
    broken = json.loads(rows[1])
    broken["response"] = "not an object"
    deep = json.loads(rows[3])
    deep["response"]["body"]["usage"] = {"prompt_tokens": "lots"}
    server.files[batch["output_file_id"]] = "\n".join(
        ["{not json", json.dumps(broken), rows[2], json.dumps(deep), "[1, 2]", "\x00"]
    ).encode()

    status, out, err = run(CONFIG, batch_results=batch_id)
    assert [o["id"] for o in out] == ["q0", "q1", "q2", "q3"]
    assert out[0]["schema"] == "convergio-llm/error/v1"  # no readable line names it
    assert "before this request ran" in out[0]["error"]["message"]
    assert "result for this request is malformed (AttributeError)" in out[1]["error"]["message"]
    assert out[2]["text"] == "answer to three"
    assert "malformed (ValueError)" in out[3]["error"]["message"]
    assert status == 1 and "internal error" not in err
