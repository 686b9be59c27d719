"""Prompting a pretrained *base* model (one with no chat template), as the in-process engines do.

A base model continues text; it knows no turns. Given a "User:/Assistant:" transcript it
writes more of the transcript, and given a question it answers, asks the question again,
answers again... (the embedded Gemma 3 270M printed its answer 16 times). So:

- a lone prompt that reads as the start of a sentence ("The capital of France is") is
  continued as it is;
- anything else (a question, an instruction, a system prompt, several turns) becomes a
  short question/answer frame ("Q: ...\\nA:") that such a model has seen many times, with
  stop strings at the start of the next question or a blank line;
- and whatever the frame, `RepetitionGuard` ends the stream when the model starts saying
  again what it (or the prompt) already said, cutting the output back to a sentence end.

Instruct models keep their own chat template; none of this applies to them.
`new_guard` gives no guard for a request whose metadata sets RAW_STREAM (the benchmark).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from convergio_llm.providers.values import Message, Request

QA_STOPS = ("\nQ:", "\n\n")
# Request metadata that turns the guard off: `llm bench` measures the engine's own stream,
# and the guard's held-back text and early stop would skew its decode rates.
RAW_STREAM = "raw_stream"
REPEAT_WORDS = 6  # a run this long said twice is a loop, not a style (measured on Gemma 270M)

# A first word that makes a lone prompt a question or a request, not a sentence to continue.
_ASKING = frozenset(
    re.findall(
        r"\w+",
        "what who whom whose where when why how which is are was were can could do does did "
        "will would should shall may might name list write give tell explain describe "
        "summarize summarise translate compute calculate define compare show find suggest "
        "please hello hi hey",
    )
)
_WORD = re.compile(r"\S+")
# A unit of up to 4 characters said 24 times in a row ("100000000000..."): a loop in a word.
_STUTTER = re.compile(r"(\S{1,4}?)\1{23,}")
_SENTENCE_END = re.compile(r"[.!?]['\")\]]*(?=\s)|\n")


def reads_as_continuation(text: str) -> bool:
    """Does this lone prompt read as the start of a sentence to go on with?"""
    words = text.split()
    if not words or text.rstrip().endswith("?"):
        return False
    return _norm(words[0]) not in _ASKING


def base_prompt(messages: Sequence[Message]) -> tuple[str, tuple[str, ...]]:
    """The text a base model should continue, and the stop strings that end its answer."""
    lone = len(messages) == 1 and messages[0].role == "user"
    if lone and reads_as_continuation(messages[0].content):
        return messages[0].content, ()
    lines: list[str] = []
    for message in messages:
        text = message.content.strip()
        if message.role == "system":
            lines += [text, ""]
        else:
            lines.append(f"{'Q' if message.role == 'user' else 'A'}: {text}")
    lines.append("A:")
    return "\n".join(lines), QA_STOPS


def new_guard(request: Request, frame: str, framed: bool) -> RepetitionGuard | None:
    """The guard for a base-model stream, or None: a --schema answer (the grammar ends it,
    and JSON repeats keys) or a raw stream (RAW_STREAM in its metadata)."""
    if request.schema is not None or request.metadata.get(RAW_STREAM):
        return None
    return RepetitionGuard(frame, lstrip=framed)


def _norm(word: str) -> str:
    stripped = word.strip(".,;:!?\"'()[]{}").lower()
    return stripped or word


class RepetitionGuard:
    """Passes a text stream through until it repeats a run of `size` words already seen in
    the prompt or the output; then it stops and cuts the output back to the last sentence end
    before the repeat.

    The last `size - 1` words are held back (a repeat may begin at any of them), so what
    `feed` returns is never taken back. `lstrip` drops the blank the model writes after "A:".
    """

    def __init__(self, context: str = "", size: int = REPEAT_WORDS, lstrip: bool = False) -> None:
        self.size = size
        self.lstrip = lstrip
        self.text = ""
        self.stopped = False
        self._released = 0
        self._scanned = 0
        self._repeat_at = 0
        # Every word so far as (normalised word, offset in self.text); -1 is the prompt.
        self._words: list[tuple[str, int]] = [(_norm(w), -1) for w in context.split()]
        self._seen: set[tuple[str, ...]] = set()
        for end in range(size, len(self._words) + 1):
            self._seen.add(tuple(w for w, _ in self._words[end - size : end]))

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        start = max(0, len(self.text) - 96)
        self.text += piece
        stutter = _STUTTER.search(self.text, start)
        if stutter:
            self.stopped = True
            self._repeat_at = self.text.rfind(" ", 0, stutter.start()) + 1
            return self._release(self._cut_point())
        for match in _WORD.finditer(self.text, self._scanned):
            if match.end() == len(self.text):
                break  # the word may go on in the next piece
            self._scanned = match.end()
            if self._add(match.group(), match.start()):
                return self._release(self._cut_point())
        held = [offset for _, offset in self._words[-(self.size - 1) :] if offset >= 0]
        if len(held) < self.size - 1:
            return ""  # until size-1 words are out, any of them may still begin a repeat
        # Whole sentences only, so that a repeat can still be cut back to a sentence end.
        return self._release(self._sentence_end_before(held[0]) or self._released)

    def flush(self) -> str:
        """What is left once the stream has ended by itself."""
        if self.stopped:
            return ""
        for match in _WORD.finditer(self.text, self._scanned):
            self._scanned = match.end()
            if self._add(match.group(), match.start()):
                return self._release(self._cut_point())
        return self._release(len(self.text))

    def _add(self, word: str, offset: int) -> bool:
        """Record a complete word; True when it completes a run already seen."""
        self._words.append((_norm(word), offset))
        if len(self._words) < self.size:
            return False
        gram = tuple(w for w, _ in self._words[-self.size :])
        if gram in self._seen:
            self.stopped = True
            self._repeat_at = max(0, self._words[-self.size][1])
            return True
        self._seen.add(gram)
        return False

    def _cut_point(self) -> int:
        """The end of the last sentence before the repeat, or the repeat's start if none."""
        return self._sentence_end_before(self._repeat_at) or self._repeat_at

    def _sentence_end_before(self, offset: int) -> int:
        """The offset just after the last sentence end before `offset` (0: none)."""
        found = _SENTENCE_END.finditer(self.text, 0, offset)
        ends = [m.end() for m in found if self.text[: m.start()].strip()]
        return ends[-1] if ends else 0

    def _release(self, upto: int) -> str:
        upto = max(upto, self._released)
        out = self.text[self._released : upto]
        if self.stopped:
            out = out.rstrip()
        elif upto < len(self.text):
            # Blanks wait for the text after them: none are wanted before a cut.
            kept = out.rstrip()
            upto -= len(out) - len(kept)
            out = kept
        if self.lstrip and self._released == 0:
            out = out.lstrip()
            if not out:
                return ""  # keep stripping until the first word is out
        self._released = upto
        return out
