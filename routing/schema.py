"""`--schema FILE|JSON`: read a JSON Schema, check that it is one, and check answers against it.

The validator is `jsonschema` (a core dependency: any backend may be asked for structured
output, and every answer is checked here whatever the backend promised). It is imported
only when a schema is given, so `llm route` and plain `llm run` never pay for it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from convergio_llm.providers.errors import InputError, LLMError
from convergio_llm.providers.values import Request


class SchemaMismatch(LLMError):
    """The answer is not JSON, or not JSON that matches the schema (exit 1)."""


def load_schema(given: str) -> dict[str, Any]:
    """The schema from a file path or inline JSON; InputError (exit 2) when it is not one."""
    source = "--schema"
    text = given
    if not given.lstrip().startswith("{"):
        path = os.path.expanduser(given)
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except FileNotFoundError:
            raise InputError(
                f"--schema: no such file: {given} (give a path or inline JSON)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--schema: cannot read {given}: {exc}") from None
        source = f"--schema {given}"
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{source} is not valid JSON: {exc}") from None
    return checked_schema(schema, source)


def checked_schema(schema: Any, source: str) -> dict[str, Any]:
    """`schema` when it is a JSON Schema (an object the validator accepts); else InputError.
    Also for a schema read back from a decision or a JSON line, which may have been edited."""
    if not isinstance(schema, dict):
        raise InputError(f"{source} must be a JSON object (a JSON Schema)")
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InputError(
            f"{source} is not a valid JSON Schema: {exc.message} (at {where})"
        ) from None
    return schema


def validated(text: str, schema: dict[str, Any]) -> Any:
    """The answer parsed, when it matches the schema; SchemaMismatch says why not."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SchemaMismatch(f"the answer is not JSON ({exc}): {text[:80]!r}") from None
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    error = best_match(validator_for(schema)(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise SchemaMismatch(f"the answer does not match the schema: {error.message} (at {where})")
    return value


def checked_answer(request: Request, text: str) -> Any:
    """For a request with a schema, its answer parsed and checked (else None)."""
    return None if request.schema is None else validated(text, dict(request.schema))
