"""How a turn joins a conversation: its history, its sticky target, its privacy, its record.

`llm run` calls these around `decide()` and `execute()`:

    thread = open_thread(...)                  -c / --cid: the conversation and its history
    request = with_history(request, thread)    the earlier turns go before the new prompt
    decision = steer(decision, thread, ...)    sticky target; a private conversation stays local
    remember(thread, prompt, decision, text)   the turn is stored (unless --no-log)

Stickiness: a later turn goes to the target that answered before, unless a rule forces
otherwise. The one rule that always does is privacy: a conversation that once carried
private data is `local_only` for good, so its history never goes to the cloud, whatever
later turns contain and whatever `-m` says.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from convergio_llm.providers.errors import InputError
from convergio_llm.providers.values import Message, Request
from convergio_llm.routing.context import Context
from convergio_llm.routing.conversations import (
    Conversation,
    ConversationStore,
    Turn,
    open_store,
)
from convergio_llm.routing.decision import Decision, Target, TraceEntry
from convergio_llm.routing.execute import Outcome
from convergio_llm.routing.rules import Policy


class Thread(NamedTuple):
    store: ConversationStore | None
    conversation: Conversation | None = None
    history: tuple[Message, ...] = ()
    record: bool = True


def open_thread(*, continue_last: bool, cid: str | None, use_log: bool) -> Thread:
    """The conversation this run continues (none for a fresh one) and where to record it."""
    if not (continue_last or cid):
        return Thread(open_store() if use_log else None, record=use_log)
    store = open_store(create=False)
    if store is None:
        what = f"no conversation with id '{cid}'" if cid else "no conversation to continue yet"
        raise InputError(f"{what}: run `llm run PROMPT` first")
    conversation = store.get(cid) if cid else store.latest()
    history: list[Message] = []
    for turn in store.turns(conversation.id):
        history += [Message("user", turn.prompt), Message("assistant", turn.response)]
    return Thread(store, conversation, tuple(history), use_log)


def with_history(request: Request, thread: Thread) -> Request:
    """The request with the earlier turns put after its system prompt, before its own turn."""
    if not thread.history:
        return request
    system = tuple(m for m in request.messages if m.role == "system")
    rest = tuple(m for m in request.messages if m.role != "system")
    return request.with_params(messages=system + thread.history + rest)


def steer(decision: Decision, thread: Thread, context: Context, policy: Policy) -> Decision:
    """Apply the conversation's rules to this turn's decision, with one trace entry."""
    conversation = thread.conversation
    if conversation is None:
        return decision
    looked = {
        "cid": conversation.id,
        "turns": conversation.turns,
        "answered_by": f"{conversation.provider}:{conversation.model}",
        "local_only": conversation.local_only,
    }
    if conversation.local_only:
        if policy.model and not context.is_local(decision.provider):
            raise InputError(
                f"conversation {conversation.id} is local-only ({conversation.privacy}); "
                f"its history cannot go to {decision.provider}"
            )
        if not decision.local_only and not policy.model:
            from convergio_llm.routing.decide import decide

            decision = decide(decision.request, context, policy._replace(private=True))
    sticky = Target(conversation.provider, conversation.model)
    if policy.model:
        verdict = "pass: -m names the model"
    elif decision.local_only and sticky not in decision.targets:
        verdict = f"moved: {decision.reason}"
    else:
        rest = tuple(t for t in decision.targets if t != sticky)
        decision = decision._replace(provider=sticky.provider, model=sticky.model, fallbacks=rest)
        verdict = f"sticky: {sticky.ref}"
    entry = TraceEntry("conversation", looked, verdict)
    return decision._replace(trace=(*decision.trace, entry))


def private_reason(decision: Decision) -> str | None:
    """Why this turn was private, if the privacy rule kept it local."""
    for entry in decision.trace:
        if entry.rule == "privacy" and entry.verdict == "local-only":
            return decision.reason if decision.reason.startswith("privacy") else "privacy"
    return None


def remember(
    thread: Thread, prompt: str, provider: str, model: str, response: str, decision: Decision
) -> Conversation | None:
    """Store the turn (prompt: the user's new text only); None when not logging."""
    if not thread.record or thread.store is None:
        return None
    reason = private_reason(decision)
    turn = Turn(0.0, prompt, response, provider, model, reason is not None)
    cid = thread.conversation.id if thread.conversation else None
    return thread.store.add_turn(cid, turn, reason)


def remember_outcome(
    thread: Thread, item: Any, decision: Decision, outcome: Outcome
) -> Conversation | None:
    """`remember` for one `llm run` item: its own last user turn and the answer."""
    request: Request = item.request if item.request is not None else item.decision.request
    prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    done = outcome.completion
    return remember(thread, prompt, done.provider, done.model, done.text, decision)
