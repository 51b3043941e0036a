"""Validation of Talos documents against Talos' own JSON schema of their minor
(tests/data/talos-<minor>-config.schema.json, tests/data/README.md).

Each schema is one JSON Schema (draft 2020-12) whose top level is a `oneOf` over every
document kind that minor knows, each a `$defs` entry with `kind` fixed by an enum
(v1alpha1.Config, the one without `kind`, is the classic machine/cluster document), and
all of them closed (`additionalProperties: false`). A multi-document file is split on
`---` and every document is checked against the definition of its kind, so that a
message names the bad field; an unknown kind is an error of its own, and every document
must also pass the schema's top-level `oneOf` as Talos wrote it.
"""

from __future__ import annotations

import json
from functools import lru_cache

import jsonschema
import yaml

from talos_sandbox.documents.talos_minors import TALOS_MINORS

from ..conftest import REPO_ROOT

SCHEMA_DIR = REPO_ROOT / "tests" / "data"
V1ALPHA1 = "v1alpha1.Config"


@lru_cache(maxsize=None)
def schema(talos_minor: str) -> dict:
    assert talos_minor in TALOS_MINORS, talos_minor
    return json.loads((SCHEMA_DIR / f"talos-{talos_minor}-config.schema.json").read_text())


@lru_cache(maxsize=None)
def kinds(talos_minor: str) -> dict[str, str]:
    """Document kind -> its `$defs` name, for the kinds the schema's top-level oneOf lists."""
    definitions = schema(talos_minor)["$defs"]
    found = {}
    for choice in schema(talos_minor)["oneOf"]:
        name = choice["$ref"].removeprefix("#/$defs/")
        kind = definitions[name].get("properties", {}).get("kind")
        if kind is not None:
            [value] = kind["enum"]
            found[value] = name
    return found


@lru_cache(maxsize=None)
def validator(talos_minor: str, definition: str) -> jsonschema.Draft202012Validator:
    whole = schema(talos_minor)
    return jsonschema.Draft202012Validator(
        {"$schema": whole["$schema"], "$defs": whole["$defs"], "$ref": f"#/$defs/{definition}"}
    )


@lru_cache(maxsize=None)
def whole_validator(talos_minor: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(talos_minor))


def without_deletions(value: object) -> object:
    """The document as Talos leaves it after its strategic-merge `$patch: delete`
    directives ran: a key whose value is that directive is removed."""
    if isinstance(value, dict):
        return {k: without_deletions(v) for k, v in value.items() if v != {"$patch": "delete"}}
    if isinstance(value, list):
        return [without_deletions(item) for item in value]
    return value


def document_errors(document: object, talos_minor: str) -> list[str]:
    """Schema errors of one Talos document for that minor ([] when valid)."""
    if not isinstance(document, dict):
        return [f"not a mapping: {document!r}"]
    if "kind" in document:
        known = kinds(talos_minor)
        if document["kind"] not in known:
            return [f"kind {document['kind']!r} is not a Talos {talos_minor} document ({', '.join(sorted(known))})"]
        definition = known[document["kind"]]
    else:
        definition = V1ALPHA1
    document = without_deletions(document)
    errors = [
        f"{'.'.join(str(part) for part in error.absolute_path) or '<top>'}: {error.message}"
        for error in validator(talos_minor, definition).iter_errors(document)
    ]
    if not errors and not whole_validator(talos_minor).is_valid(document):
        errors.append(f"not exactly one of the Talos {talos_minor} schema's document kinds")
    return errors


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key twice in one mapping: PyYAML keeps the last one,
    which would hide two documents run together without their `---`."""


def _mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict:
    keys = [loader.construct_object(key) for key, _ in node.value]
    doubled = sorted({str(key) for key in keys if keys.count(key) > 1})
    if doubled:
        raise yaml.constructor.ConstructorError(None, None, f"key given twice: {', '.join(doubled)}", node.start_mark)
    return loader.construct_mapping(node)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_documents(text: str) -> list[object]:
    """The documents of a (multi-document) YAML file, in order."""
    return list(yaml.load_all(text, Loader=StrictLoader))


def file_errors(text: str, talos_minor: str) -> list[str]:
    """Errors of every document in one file, each prefixed with its position and kind."""
    try:
        documents = load_documents(text)
    except yaml.YAMLError as error:
        return [f"not YAML: {error}"]
    if not documents:
        return ["no document"]
    errors = []
    for index, document in enumerate(documents):
        kind = document.get("kind", "v1alpha1") if isinstance(document, dict) else "?"
        errors += [f"document {index} ({kind}): {error}" for error in document_errors(document, talos_minor)]
    return errors
