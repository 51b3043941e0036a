"""cobra's and pflag's command line rules, for the tool stand-ins (talosctl and kubectl are Go
programs built on spf13/cobra and spf13/pflag). Runs inside the simulated bastion: stdlib only.

What is modelled, as those libraries do it:
- finding the subcommand: cobra's `Find` strips flags with its `stripFlags`, which takes
  any `--flag` without `=` that is not a known bool of the command reached so far as
  taking the next word, so persistent flags may come before or after the subcommand;
- parsing (pflag): `--flag=value`, `--flag value`, `-f value`, `-fvalue`, `-f=value`,
  grouped short bools (`-ab`), bools as `--flag` or `--flag=false`, `--` ends the flags,
  positional arguments anywhere in between (interspersed);
- value types: `string` (the last wins), `strings` (comma-separated, repeatable),
  `stringArray` (repeatable, no splitting), `duration` (Go's syntax), `int`, an enum
  written as its values (`auto, no-reboot, ...`), a bool when the table gives no type;
- errors: `unknown flag: --x`, `unknown shorthand flag: 'x' in -x`, `flag needs an
  argument: --x`, `invalid argument "v" for "--x" flag: ...`, cobra's positional-argument
  messages and `unknown command "x" for "talosctl"` at the root; a parent without a run
  (`talosctl gen foo`) prints help and exits 0, as cobra does.
Not modelled: cobra's "Did you mean" suggestions, help text, completion, flag
deprecation notices.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

BOOL_WORDS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
              "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}  # fmt: skip
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class UsageError(Exception):
    """A command line cobra or pflag refuses (talosctl then prints the usage and exits 1)."""


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds."""
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    position, total = 0, 0.0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return -total if text.startswith("-") else total


@dataclass
class Flag:
    short: str
    long: str
    kind: str
    """"" (bool), string, strings, stringArray, duration, int, or an enum's values."""

    @property
    def is_bool(self) -> bool:
        return self.kind == ""

    def convert(self, value: str, name: str):
        try:
            if self.is_bool:
                if value not in BOOL_WORDS:
                    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')
                return BOOL_WORDS[value]
            if self.kind == "duration":
                return parse_duration(value)
            if self.kind == "int":
                if not re.fullmatch(r"[+-]?\d+", value):
                    raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
                return int(value)
            if "," in self.kind:
                allowed = [word.strip() for word in self.kind.split(",")]
                if value not in allowed:
                    raise ValueError(f"valid values are {allowed}")
            return value
        except ValueError as error:
            raise UsageError(f'invalid argument "{value}" for "{name}" flag: {error}') from None


@dataclass
class Command:
    path: tuple[str, ...]
    flags: list[Flag]
    subcommands: dict[str, Command] = field(default_factory=dict)
    args: tuple[int, int | None] | None = None
    """Allowed positional arguments [min, max]; None: the command has no run of its own."""
    aliases: tuple[str, ...] = ()
    known_elsewhere: tuple[str, ...] = ()
    """Subcommands the real tool has that the stand-in does not answer."""

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def flag(self, long: str) -> Flag | None:
        return next((f for f in self.flags if f.long == long), None)

    def short(self, letter: str) -> Flag | None:
        return next((f for f in self.flags if f.short == letter), None)

    def child(self, word: str) -> Command | None:
        for sub in self.subcommands.values():
            if word == sub.path[-1] or word in sub.aliases:
                return sub
        return None


def _strip_flags(args: list[str], command: Command) -> list[str]:
    """cobra's stripFlags: the words that are not flags or flag values."""
    words, rest = [], list(args)
    while rest:
        word = rest.pop(0)
        if word == "--":
            break
        if word.startswith("--") and "=" not in word and not _is_bool(command.flag(word[2:])):
            if len(rest) <= 1:
                break
            rest.pop(0)
        elif word.startswith("-") and "=" not in word and len(word) == 2 and not _is_bool(command.short(word[1:])):
            if len(rest) <= 1:
                break
            rest.pop(0)
        elif word and not word.startswith("-"):
            words.append(word)
    return words


def _is_bool(flag: Flag | None) -> bool:
    return flag is not None and flag.is_bool


def find(root: Command, argv: list[str]) -> tuple[Command, list[str]]:
    """cobra's Find: the deepest command the words name, and the arguments without its path."""
    command, args = root, list(argv)
    while True:
        words = _strip_flags(args, command)
        if not words:
            return command, args
        nxt = command.child(words[0])
        if nxt is None:
            if words[0] in command.known_elsewhere:
                raise NotImplementedError(f"{command.name} {words[0]}")
            return command, args
        args.remove(words[0])
        command = nxt


def parse(command: Command, args: list[str]) -> tuple[dict, list[str]]:
    """pflag's parsing of the command's flags: (values by long name, positional arguments)."""
    values: dict = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word == "--":
            positional += rest
            break
        if word.startswith("--") and len(word) > 2:
            name, has_value, value = word[2:].partition("=")
            flag = command.flag(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}")
            if not has_value:
                if flag.is_bool:
                    value = "true"
                elif rest:
                    value = rest.pop(0)
                else:
                    raise UsageError(f"flag needs an argument: --{name}")
            _store(values, flag, value, f"--{name}")
        elif word.startswith("-") and len(word) > 1 and word != "--":
            letters = word[1:]
            while letters:
                letter, letters = letters[0], letters[1:]
                flag = command.short(letter)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{letter}' in -{word[1:]}")
                if letters.startswith("="):
                    value, letters = letters[1:], ""
                elif flag.is_bool:
                    value = "true"
                elif letters:
                    value, letters = letters, ""
                elif rest:
                    value = rest.pop(0)
                else:
                    raise UsageError(f"flag needs an argument: '{letter}' in -{letter}")
                _store(values, flag, value, f"-{flag.short}, --{flag.long}")
        else:
            positional.append(word)
    return values, positional


def _store(values: dict, flag: Flag, value: str, name: str) -> None:
    if flag.kind == "strings":
        values.setdefault(flag.long, []).extend(part for part in value.split(",") if part != "" or value == "")
    elif flag.kind == "stringArray":
        values.setdefault(flag.long, []).append(value)
    else:
        values[flag.long] = flag.convert(value, name)


def check_args(command: Command, positional: list[str]) -> None:
    """cobra's NoArgs / ExactArgs / MaximumNArgs / RangeArgs messages."""
    low, high = command.args
    count = len(positional)
    if high == 0 and count:
        raise UsageError(f'unknown command "{positional[0]}" for "{command.name}"')
    if low == high and count != low:
        raise UsageError(f"accepts {low} arg(s), received {count}")
    if low == 0 and high is not None and count > high:
        raise UsageError(f"accepts at most {high} arg(s), received {count}")
    if high is not None and not low <= count <= high:
        raise UsageError(f"accepts between {low} and {high} arg(s), received {count}")


def tree(table: dict[str, dict]) -> Command:
    """The command tree of a flag table (talosctl-flags.json's "commands" of one release)."""
    commands = {}
    for name in sorted(table, key=lambda n: n.count(" ")):
        entry = table[name]
        path = tuple(name.split())
        command = Command(path, [Flag(*flag) for flag in entry["flags"]],
                          args=tuple(entry["args"]) if "args" in entry else None,
                          aliases=tuple(entry.get("aliases", ())))  # fmt: skip
        commands[name] = command
        if len(path) > 1:
            commands[" ".join(path[:-1])].subcommands[path[-1]] = command
    for name, command in commands.items():
        command.known_elsewhere = tuple(s for s in table[name].get("subcommands", []) if s not in command.subcommands)
    return commands[min(commands, key=len)]


def resolve(root: Command, argv: list[str]) -> tuple[Command, dict, list[str]]:
    """Find, parse and check a command line; the help flag prints a short usage and exits 0."""
    command, args = find(root, argv)
    values, positional = parse(command, args)
    if values.get("help") or command.args is None:
        if command.args is None and not values.get("help") and positional and len(command.path) == 1:
            raise UsageError(f'unknown command "{positional[0]}" for "{command.name}"')
        print(f"Usage:\n  {command.name} [flags]\n\n(help of the {root.path[0]} stand-in: see its flag table)")
        sys.exit(0)
    check_args(command, positional)
    return command, values, positional
