"""Validators built from the shared public API specs, for tests.

The specs (OpenAI's and Discord's OpenAPI documents, Slack's app manifest JSON schemas) live in
``../shared/specs/`` next to the project root and are never copied into the project. When that
folder or one of its files is missing (a clone of the project on its own), every test that asks
for the file is skipped with a reason naming it; all other tests still run.

Each spec is read at most once per process and each validator is built once per schema name.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match, relevance
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from tests.fakes.discord_server import FakeDiscord

SPECS_DIR = Path(__file__).resolve().parents[2] / "shared" / "specs"

OPENAI_SPEC = "openai-openapi.yaml"
DISCORD_SPEC = "discord-openapi.json"

_COMPONENT_REF = "#/components/schemas/"
_DEFS_REF = "#/$defs/"
_MAX_REPORTED_ERRORS = 5
_MAX_MESSAGE_CHARS = 300


def spec_path(name: str) -> Path:
    """The path of the shared spec ``name``; skips the calling test when the file is missing."""
    path = SPECS_DIR / name
    if not path.is_file():
        pytest.skip(f"shared spec {path} is missing (expected in ../shared/specs/)")
    return path


def _openapi_to_json_schema(node: Any) -> None:
    """Rewrite an OpenAPI component tree in place so ``jsonschema`` can validate with it.

    ``#/components/schemas/X`` refs become ``#/$defs/X`` and ``oneOf`` becomes ``anyOf``: both
    specs use ``oneOf`` where several branches legitimately match the same instance. Only values
    of the expected type are touched, so a property that happens to be named ``$ref`` or
    ``oneOf`` (whose value is a schema object) is left alone.
    """
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
                current["$ref"] = _DEFS_REF + ref[len(_COMPONENT_REF) :]
            one_of = current.get("oneOf")
            if isinstance(one_of, list):
                del current["oneOf"]
                if "anyOf" in current:
                    current.setdefault("allOf", []).append({"anyOf": one_of})
                else:
                    current["anyOf"] = one_of
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


@functools.cache
def _openapi_defs(name: str) -> dict[str, Any]:
    """``components.schemas`` of the OpenAPI document ``name``, rewritten for ``jsonschema``."""
    path = spec_path(name)
    with path.open("rb") as stream:
        if path.suffix == ".json":
            document = json.load(stream)
        else:
            document = yaml.load(stream, Loader=yaml.CSafeLoader)
    defs: dict[str, Any] = document["components"]["schemas"]
    _openapi_to_json_schema(defs)
    return defs


def _openapi_validator(spec_name: str, schema_name: str) -> Validator:
    defs = _openapi_defs(spec_name)
    if schema_name not in defs:
        raise KeyError(f"{schema_name!r} is not in components.schemas of {SPECS_DIR / spec_name}")
    return Draft202012Validator({"$ref": _DEFS_REF + schema_name, "$defs": defs})


@functools.cache
def openai_validator(schema_name: str) -> Validator:
    """A validator for ``components.schemas.<schema_name>`` of OpenAI's OpenAPI spec."""
    return _openapi_validator(OPENAI_SPEC, schema_name)


@functools.cache
def discord_validator(schema_name: str) -> Validator:
    """A validator for ``components.schemas.<schema_name>`` of Discord's OpenAPI spec."""
    return _openapi_validator(DISCORD_SPEC, schema_name)


@functools.cache
def _discord_bodies() -> list[tuple[str, re.Pattern[str], Validator]]:
    """(method, path pattern, validator) for each Discord operation with a JSON request body."""
    document = json.loads(spec_path(DISCORD_SPEC).read_text(encoding="utf-8"))
    defs = _openapi_defs(DISCORD_SPEC)
    bodies = []
    for template, operations in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue  # path-level parameters
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            _openapi_to_json_schema(schema)
            validator = Draft202012Validator({**schema, "$defs": defs})
            bodies.append((method.upper(), pattern, validator))
    # Literal paths before templated ones (`/messages/@original` over `/messages/{id}`).
    bodies.sort(key=lambda body: body[1].pattern.count("[^/]+"))
    return bodies


def discord_request_validator(method: str, path: str) -> Validator | None:
    """The validator for the JSON body of `method path` in Discord's spec, if the spec has one."""
    for want, pattern, validator in _discord_bodies():
        if want == method and pattern.match(path):
            return validator
    return None


@functools.cache
def slack_manifest_validator(version: str = "1.0.0") -> Validator:
    """A validator for Slack app manifests, from ``slack-manifest.schema.<version>.json``.

    The validator class follows the schema's own ``$schema`` (draft-07 for the published ones).
    """
    path = spec_path(f"slack-manifest.schema.{version}.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def _shorten(text: str) -> str:
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[: _MAX_MESSAGE_CHARS - 3] + "..."


def _is_wrong_shape(error: ValidationError, parent: ValidationError) -> bool:
    """Whether ``error`` says the instance is not even of a branch's JSON type."""
    return error.validator == "type" and len(error.absolute_path) == len(parent.absolute_path)


def _is_tag_mismatch(error: ValidationError, parent: ValidationError) -> bool:
    """Whether ``error`` says a branch's ``type`` tag does not match the instance's."""
    return (
        error.validator in ("enum", "const")
        and len(error.absolute_path) == len(parent.absolute_path) + 1
        and error.absolute_path[-1] == "type"
    )


def _likely_cause(error: ValidationError) -> ValidationError:
    """Follow an ``anyOf`` failure into the branch the instance most likely meant.

    ``best_match`` stops at an ``anyOf`` whose branches fail equally. Here, branches of the wrong
    JSON type are considered last and branches whose ``type`` tag differs next to last; among the
    rest, the branch whose errors reach deepest into the instance (then the one with the fewest
    errors) wins.
    """
    while error.context:
        parent = error
        branches: dict[object, list[ValidationError]] = {}
        for sub in parent.context:
            branch = sub.relative_schema_path[0] if sub.relative_schema_path else id(sub)
            branches.setdefault(branch, []).append(sub)
        shaped = [
            errs for errs in branches.values() if not any(_is_wrong_shape(e, parent) for e in errs)
        ]
        tagged = [errs for errs in shaped if not any(_is_tag_mismatch(e, parent) for e in errs)]
        candidates = tagged or shaped or list(branches.values())
        chosen = max(
            candidates, key=lambda errs: (max(len(e.absolute_path) for e in errs), -len(errs))
        )
        error = max(chosen, key=lambda e: len(e.absolute_path))
    return error


def _describe(error: ValidationError) -> str:
    """One error, narrowed with ``best_match``, with its instance path and schema path."""
    narrowed = best_match([error]) or error
    schema_path = "/".join(str(part) for part in narrowed.absolute_schema_path)
    text = f"{narrowed.json_path}: {_shorten(narrowed.message)}\n    (schema: {schema_path})"
    if narrowed.context:
        cause = _likely_cause(narrowed)
        text += f"\n    likely cause: {cause.json_path}: {_shorten(cause.message)}"
    return text


def assert_valid(validator: Validator, instance: object) -> None:
    """Raise ``AssertionError`` listing the most relevant errors when ``instance`` is invalid."""
    errors = sorted(validator.iter_errors(instance), key=relevance, reverse=True)
    if not errors:
        return
    lines = [f"{len(errors)} validation error(s); the most relevant:"]
    lines.extend(f"- {_describe(error)}" for error in errors[:_MAX_REPORTED_ERRORS])
    raise AssertionError("\n".join(lines))


def assert_bodies_match_discords_spec(fake: FakeDiscord) -> None:
    """Every JSON body easel sent (payload_json of multipart ones too) fits Discord's spec."""
    for call in fake.calls:
        if not call.payload:
            continue
        validator = discord_request_validator(call.method, call.path)
        assert validator is not None, f"{call.method} {call.path} has no JSON body in the spec"
        assert_valid(validator, _with_string_snowflakes(call.payload))


def _with_string_snowflakes(node: Any, key: str = "") -> Any:
    """discord.py sends ids as JSON numbers (a new upload's index in `attachments`, the ids in
    `message_reference`), which the API accepts and Discord's own "Uploading Files" example
    does (`{"id": 0}`); the OpenAPI document types every snowflake as a decimal string. Only
    integers under `id` or `*_id` keys are written as strings; nothing else is touched."""
    if isinstance(node, dict):
        return {k: _with_string_snowflakes(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_string_snowflakes(v, key) for v in node]
    if (
        isinstance(node, int)
        and not isinstance(node, bool)
        and (key == "id" or key.endswith("_id"))
    ):
        return str(node)
    return node
