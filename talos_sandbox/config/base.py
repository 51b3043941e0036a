"""What every config module shares: the frozen model base, cross-field errors, and the
value patterns more than one area checks."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
TALOS_RELEASE = re.compile(r"v\d+\.\d+\.\d+")

Port = Annotated[int, Field(ge=1, le=65535)]


class ConfigModel(BaseModel):
    """Every config section: immutable, unknown keys refused, defaults validated too."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def field_error(field: str, problem: str) -> PydanticCustomError:
    """A validation error for a cross-field rule, reported at `field` (dotted path)."""
    return PydanticCustomError("sandbox_field", "{field}: {problem}", {"field": field, "problem": problem})


def release_tag(value: str, example: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a release tag `vX.Y.Z`, for comparing versions."""
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", value)
    if not match:
        raise PydanticCustomError(
            "version", "'{value}' is not a release tag like {example}", {"value": value, "example": example}
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def sha256_digest(value: str | None) -> str | None:
    """A pinned download digest: 64 lowercase hex digits, or unset."""
    if value is not None and not SHA256.match(value):
        raise PydanticCustomError("sha256", "'{value}' is not 64 lowercase hex digits", {"value": value})
    return value


def ssm_parameter_name(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"/[A-Za-z0-9_.\-/]+", value):
        raise PydanticCustomError("ssm_name", "'{value}' is not an SSM parameter path (/a/b)", {"value": value})
    return value
