"""Reading a config: YAML text or a parsed document in, a SandboxConfig or one clear
error naming every bad field out; and where in the YAML a field was set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SandboxError
from .sandbox import SandboxConfig, default_config

def parse_config(document: Any, source: str = "config") -> SandboxConfig:
    """Validate an already-parsed YAML document; errors name the field and the bad value."""
    if not isinstance(document, dict):
        raise SandboxError(f"{source}: the top level must be a mapping of keys, got {type(document).__name__}")
    try:
        return SandboxConfig.model_validate(document)
    except ValidationError as exc:
        raise SandboxError(_describe(exc, source)) from None


def load_config(path: str | Path | None) -> SandboxConfig:
    """Read and validate a YAML config file; None means the embedded default."""
    if path is None:
        return default_config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SandboxError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SandboxError(f"{path}: cannot read config file: {exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SandboxError(f"{path}: {_describe_yaml(exc)}") from None
    return parse_config(document, str(path))


def _describe_yaml(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        location = _location(error["loc"])
        if error["type"] == "sandbox_field":
            lines.append(error["msg"])
        elif error["type"] == "extra_forbidden":
            lines.append(f"{location}: unknown key")
        elif error["type"] == "missing":
            lines.append(f"{location}: required key is missing")
        else:
            # Our own rules quote the value in their message; pydantic's built-in ones do not.
            quotes_value = "value" in error.get("ctx", {})
            shown = error.get("input")
            suffix = "" if quotes_value or isinstance(shown, (dict, list)) else f" (got {shown!r})"
            lines.append(f"{location or 'config'}: {error['msg']}{suffix}")
    return f"{source}: invalid config:\n  " + "\n  ".join(lines)


def field_line(text: str, field: str) -> int | None:
    """The 1-based line in a YAML document where `field` (`bastion.ssh_ipv6_cidrs[0]`) is
    set, or where its nearest configured parent is; None when not even its top key is."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if isinstance(node, yaml.MappingNode) and not part.startswith("["):
            match = next(((key, value) for key, value in node.value if key.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and part.startswith("["):
            index = int(part[1:-1])
            if index >= len(node.value):
                break
            node = node.value[index]
            line = node.start_mark.line + 1
        else:
            break
    return line
