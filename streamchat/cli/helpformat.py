"""How a command's help page is laid out: options in named groups, arguments by their placeholder.

Typer without rich prints one flat "Options" list and ignores ``rich_help_panel``; these command
classes print each panel as its own section, in a fixed order, with Typer's own help records (so the
defaults, environment variables and ranges read as Typer writes them). They override only click's
public hooks (``format_options``, ``collect_usage_pieces``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup

from .options import CHECK, CONN, IN, LOAD, OUT, REC, REQ

# Sections in this order; a command's own panels take the place of OTHERS (in the order their first
# option is declared), and options in no panel (-h/--help) come last, under "Options".
OTHERS = "*"
UNGROUPED = "Options"
PANEL_ORDER = ("Arguments", CONN, REQ, IN, LOAD, OTHERS, OUT, CHECK, REC, UNGROUPED)


def sections(command: Any, ctx: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, help records) for each section of ``command``'s help, in the order they are shown."""
    found: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            heading = "Arguments"
        else:
            heading = getattr(param, "rich_help_panel", None) or UNGROUPED
        found.setdefault(heading, []).append(record)
    declared = list(found)

    def rank(heading: str) -> tuple[int, int]:
        if heading in PANEL_ORDER:
            return PANEL_ORDER.index(heading), 0
        return PANEL_ORDER.index(OTHERS), declared.index(heading)

    return [(heading, found[heading]) for heading in sorted(found, key=rank)]


def usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] MESSAGE`` rather than Typer's ``{message}``: each argument by its metavar, in
    brackets when it may be left out, with ``...`` when it takes many."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            continue
        name = param.metavar or (param.name or "").upper()
        if param.nargs != 1:
            name += "..."
        pieces.append(name if param.required else f"[{name}]")
    return pieces


def write_sections(command: Any, ctx: Any, formatter: Any) -> None:
    for heading, records in sections(command, ctx):
        with formatter.section(heading):
            formatter.write_dl(records)


class GroupedCommand(TyperCommand):
    """A command whose help shows its options grouped by panel."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        write_sections(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage_pieces(self, ctx)


class GroupedGroup(TyperGroup):
    """A command with subcommands (``bench``) whose help shows its own options grouped by panel."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        write_sections(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*usage_pieces(self, ctx), self.subcommand_metavar]
