"""Typed records that cross modules, and their JSON form.

A record is a frozen dataclass inheriting `Record`: `to_dict` gives plain JSON data, `from_dict` reads it back by the
field types (nested records, lists, tuples, dicts and optional values), so a reader and a writer share one
definition and a renamed field fails in a test, not in a report after a 30-minute run. A field may be written under
another name (`named`: a TensorBoard tag such as "landscape/loss_range") and may be left out when None
(`optional`). A results file carries `schema`, the version of its record definitions.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from bn_mnist.core import files
from bn_mnist.core.errors import ResultsError

SCHEMA_VERSION = 2  # results.json's record definitions; raise it when a field changes meaning or goes away
# 2: explain's landscape study measures at matched distances (its schema-1 fields went away)

R = TypeVar("R", bound="Record")
T = TypeVar("T")


class Record:
    """Mixin for frozen dataclasses that cross modules or are written to disk."""

    def to_dict(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], plain(self))

    @classmethod
    def from_dict(cls: type[R], raw: typing.Mapping[str, Any]) -> R:
        return typing.cast(R, build(cls, raw))


def present(value: T | None, what: str) -> T:
    """An optional part of a record that this reader needs: a ResultsError when it is missing (a results file of
    other studies or experiments)."""
    if value is None:
        raise ResultsError(f"the results hold no {what}")
    return value


def present_figure(name: str | None, figures: typing.Mapping[str, str]) -> str:
    """`name` (None: the first figure), when a results record has that figure; else a ResultsError listing the
    ones it has."""
    if name is None and figures:
        return next(iter(figures))
    if name not in figures:
        raise ResultsError(f"no figure {name!r} in these results; they have: {', '.join(figures) or 'none'}")
    return typing.cast(str, name)


def named(name: str) -> Any:
    """A field written to JSON under `name` (a key that is no Python name)."""
    return dataclasses.field(metadata={"json": name})


def optional() -> Any:
    """A field that defaults to None and is left out of the JSON when None."""
    return dataclasses.field(default=None, metadata={"omit_none": True})


def json_name(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("json", field.name))


def plain(value: Any) -> Any:
    """A record (or container of records) as JSON data; tuples stay tuples, as `dataclasses.asdict` keeps them."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            json_name(field): plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if not (field.metadata.get("omit_none") and getattr(value, field.name) is None)
        }
    if isinstance(value, list | tuple):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def build(kind: Any, raw: Any) -> Any:
    """`raw` (JSON data) as a value of type `kind`: dataclasses by their fields, containers by their items."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any or raw is None:
        return raw
    if origin in (Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        return build(kinds[0], raw) if len(kinds) == 1 else raw
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(raw, dict):
            raise ResultsError(f"{kind.__name__}: expected an object, got {files.excerpt(raw)}")
        hints = typing.get_type_hints(kind)
        names = {json_name(field): field.name for field in dataclasses.fields(kind)}
        unknown = [key for key in raw if key not in names]
        if unknown:
            raise ResultsError(f"{kind.__name__} has no field {unknown[0]!r} (known: {', '.join(names)})")
        try:
            return kind(**{names[key]: build(hints[names[key]], value) for key, value in raw.items()})
        except TypeError as error:  # a field missing
            raise ResultsError(f"{kind.__name__}: {error}") from None
    if origin in (list, tuple, dict) and not isinstance(raw, dict if origin is dict else list | tuple):
        raise ResultsError(f"expected a JSON {'object' if origin is dict else 'array'}, got {files.excerpt(raw)}")
    if origin is list:
        return [build(args[0], item) for item in raw]
    if origin is tuple:
        items = args[:1] * len(raw) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(build(item_kind, item) for item_kind, item in zip(items, raw))
    if origin is dict:
        return {key: build(args[1], value) for key, value in raw.items()}
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return raw


def write_json(path: Path, data: typing.Mapping[str, Any]) -> None:
    """Write JSON whole (`files.written`): a reader never sees half a file."""
    files.write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file that holds an object (`what`: a run summary, results); a ResultsError when it cannot be read, is
    no JSON (a file cut short), or holds something else."""
    try:
        raw = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: cannot be read ({error})") from None
    if not isinstance(raw, dict):
        raise ResultsError(f"{path}: holds no {what} (a JSON {type(raw).__name__}, not an object)")
    return raw
