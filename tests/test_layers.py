"""The package's layers import only downwards (talos_sandbox/__init__.py lists them)."""

from __future__ import annotations

import ast

import pytest

from .conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "talos_sandbox"
# Lowest first; a module may import its own layer and those before it.
LAYERS = ("errors", "facts", "config", "documents", "terraform", "outputs", "synth", "cli", "__main__")
MAX_MODULE_LINES = 500


def layer_of(module: str) -> int:
    top = module.split(".")[1] if module.startswith("talos_sandbox.") else ""
    return LAYERS.index(top) if top in LAYERS else -1


def imported_modules(path, module: str) -> set[str]:
    package_parts = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package_parts[: len(package_parts) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("talos_sandbox.")}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield path, ".".join(parts)


@pytest.mark.parametrize("path, module", list(modules()), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_imports_only_go_down(path, module):
    own = layer_of(module)
    upward = sorted(name for name in imported_modules(path, module) if layer_of(name) > own)
    assert not upward, f"{module} (layer {LAYERS[own]}) imports later layers: {upward}"


def test_every_folder_says_what_lives_there():
    for init in PACKAGE.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"


def test_no_module_is_over_the_limit():
    long = {str(p.relative_to(REPO_ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, long
