"""The JSON Schemas the TypeScript side generates (schemas/json/), loaded once and used to validate every boundary."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import NonRetryableError


class ContractError(NonRetryableError):
    """A document does not match its schema; the message names the document and the fields at fault."""


def schemas_dir() -> Path:
    """`SP_SCHEMAS_DIR`, else the nearest `schemas/json` above this package (the repo, or /app in the image)."""
    explicit = os.environ.get("SP_SCHEMAS_DIR")
    if explicit:
        return Path(explicit)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "schemas" / "json"
        if (candidate / "train-job-input.schema.json").is_file():
            return candidate
    raise FileNotFoundError("cannot find schemas/json above the trainer package; set SP_SCHEMAS_DIR")


@cache
def schema(name: str) -> dict[str, Any]:
    with open(schemas_dir() / f"{name}.schema.json", encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def errors(name: str, document: object) -> list[ValidationError]:
    """Every violation, most specific first, in a stable order."""
    found = list(validator(name).iter_errors(document))
    return sorted(found, key=lambda e: (list(map(str, e.absolute_path)), e.message))


def path_of(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(root)"


def check(name: str, document: object, what: str) -> None:
    """Raises ContractError naming `what` and up to five fields when `document` breaks schema `name`."""
    found = errors(name, document)
    if found:
        detail = "; ".join(f"{path_of(e)}: {e.message}" for e in found[:5])
        raise ContractError(f"{what} does not match {name}: {detail}")
