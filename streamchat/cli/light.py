"""A copy of the command tree where only the command being run has its options.

Building Typer's full tree (every option of every command, from its annotations, with pydantic
adapters) cost 31 ms of a 90 ms ``--help`` and about as much of every chat's start, though a run uses
one command. The copy keeps the names, help, panels and root options of all commands (so the root
help is the same text: a test compares the two) and the real definition of the invoked one only.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import typer


def _placeholder() -> None:
    """Never run: the light tree only prints help."""


def invoked(argv: Sequence[str]) -> str | None:
    """The subcommand a command line runs (the first word that is not an option), if any."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def light_app(app: typer.Typer, keep: str | None = None) -> typer.Typer:
    """The tree with placeholders for every command but ``keep``."""
    info = app.info
    light = typer.Typer(
        name=info.name,
        help=info.help,
        epilog=info.epilog,
        rich_markup_mode=app.rich_markup_mode,
        pretty_exceptions_enable=False,
        no_args_is_help=info.no_args_is_help,
        add_completion=False,
        context_settings=info.context_settings,
    )
    light.registered_callback = app.registered_callback  # the root options (--version) themselves
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        if name == keep:
            light.registered_commands.append(command)
            continue
        light.command(
            name,
            help=command.help or inspect.getdoc(command.callback),
            hidden=command.hidden,
            rich_help_panel=command.rich_help_panel,
        )(_placeholder)
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        if (group.name or sub.info.name) == keep:
            light.registered_groups.append(group)
            continue
        callback = sub.registered_callback.callback if sub.registered_callback else None
        text = group.help or sub.info.help or (inspect.getdoc(callback) if callback else None)
        light.add_typer(typer.Typer(help=text, rich_markup_mode=None), name=group.name or sub.info.name)
    return light
