"""The fake backend's scripted clock: exact timings in any process, on any machine."""

from __future__ import annotations

import pytest

from convergio_llm.providers.base import Completion, Request
from convergio_llm.providers.errors import ConfigError
from convergio_llm.providers.fake import FakeProvider


def test_a_virtual_clock_gives_the_scripted_timings_exactly() -> None:
    fake = FakeProvider(
        settings={"ttft_s": 0.25, "token_s": 0.5, "load_s": 2.0, "words": 3, "clock": "virtual"}
    )
    *_, done = fake.stream(Request.from_prompt("hi"), "lorem")
    assert isinstance(done, Completion)
    assert done.timings.load_s == 2.0
    # the first word after the load and the 0.25 s wait; two more 0.5 s apart
    assert done.timings.ttft_s == pytest.approx(2.25)
    assert done.timings.total_s == pytest.approx(3.25)


def test_an_unknown_clock_is_a_config_error_naming_the_provider() -> None:
    with pytest.raises(ConfigError, match=r"slow: clock must be 'system' or 'virtual', not 'wall'"):
        FakeProvider("slow", settings={"clock": "wall"})
