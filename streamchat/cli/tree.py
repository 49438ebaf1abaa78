"""The command tree as plain records: what the completion scripts and the man pages are made from.

Everything is read from Typer's own command objects (names, placeholders, choices, help texts, example
epilogs), so the scripts and pages cannot drift from ``--help``. How a value completes is decided by
its placeholder: choices complete as words, a placeholder with ``PATH`` or ``DIR`` in it completes file
names, ``--profile`` completes the config file's profile names, anything else completes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NO_REWRAP = "\b"  # click's marker for a paragraph kept as written; not part of the text itself


@dataclass
class Opt:
    names: list[str]
    takes_value: bool
    choices: list[str]
    metavar: str
    help: str
    envvar: str | None
    repeatable: bool = False

    @property
    def completes(self) -> str:
        """``choice``, ``path``, ``profile`` or ``none``: what a TAB after this option offers."""
        if not self.takes_value:
            return "none"
        if self.choices:
            return "choice"
        if "--profile" in self.names:
            return "profile"
        return "path" if names_a_path(self.metavar) else "none"


@dataclass
class Arg:
    metavar: str
    required: bool
    variadic: bool
    choices: list[str]
    help: str

    @property
    def completes(self) -> str:
        if self.choices:
            return "choice"
        return "path" if names_a_path(self.metavar) else "none"

    @property
    def usage(self) -> str:
        text = self.metavar + ("..." if self.variadic else "")
        return text if self.required else f"[{text}]"


@dataclass
class Cmd:
    path: list[str]  # ["chat"], ["bench", "compare"]; [] is streamchat itself
    help: str
    epilog: str
    options: list[Opt]
    arguments: list[Arg]
    subcommands: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(["streamchat", *self.path])

    @property
    def page(self) -> str:
        return "-".join(["streamchat", *self.path])

    @property
    def summary(self) -> str:
        return self.help.splitlines()[0] if self.help else ""


def names_a_path(metavar: str) -> bool:
    return any(word in ("PATH", "DIR") for word in re.split(r"[|_]", metavar))


def choices_of(param: Any) -> list[str]:
    return [str(choice) for choice in getattr(param.type, "choices", None) or ()]


def placeholder(param: Any) -> str:
    """The placeholder the help shows: the declared metavar (every option that takes a value has one;
    a test holds them to it), else the choices as ``a|b|c``."""
    return param.metavar or "|".join(choices_of(param)) or (param.name or "").upper()


def collect(app: Any) -> list[Cmd]:
    """Every command of ``app`` (the full Typer app), depth first, ``streamchat`` itself first."""
    import typer
    from typer.main import get_command

    found: list[Cmd] = []

    def visit(command: Any, path: list[str], parent: Any) -> None:
        ctx = typer.Context(command, info_name=path[-1] if path else "streamchat", parent=parent)
        options: list[Opt] = []
        arguments: list[Arg] = []
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                arguments.append(Arg(placeholder(param), bool(param.required), param.nargs != 1, choices_of(param), param.help or ""))
                continue
            record = param.get_help_record(ctx)
            options.append(
                Opt(
                    names=[*param.opts, *param.secondary_opts],
                    takes_value=not param.is_flag,
                    choices=choices_of(param),
                    metavar="" if param.is_flag else placeholder(param),
                    help=record[1] if record else (param.help or ""),
                    envvar=param.envvar if isinstance(param.envvar, str) else None,
                    repeatable=bool(getattr(param, "multiple", False)),
                )
            )
        options.append(Opt(["-h", "--help"], False, [], "", "Show this help and exit.", None))
        subcommands = sorted(getattr(command, "commands", {}) or {})
        epilog = "\n".join(line for line in (command.epilog or "").splitlines() if line.strip() != NO_REWRAP)
        found.append(Cmd(path, (command.help or "").strip(), epilog.strip(), options, arguments, subcommands))
        for name in subcommands:
            visit(command.commands[name], [*path, name], ctx)

    visit(get_command(app), [], None)
    return found
