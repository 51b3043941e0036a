"""The one Jinja environment: every template in `templates/` is rendered through here.

StrictUndefined turns a misspelt variable into an error at synth instead of an empty
string in a boot script. Nothing rendered here may contain `${` or `%{`: Terraform reads
those inside user_data as its own interpolation (tests check every template).
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["shell_quote"] = lambda value: shlex.quote(str(value))
    return env


def render(template_name: str, **context: object) -> str:
    text = environment().get_template(template_name).render(**context)
    for marker in ("${", "%{"):
        if marker in text:
            raise ValueError(f"{template_name}: rendered text contains {marker!r}, which Terraform would interpolate")
    return text
