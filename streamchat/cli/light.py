"""A parameterless copy of the command tree, for the runs that never reach a subcommand.

``streamchat``, ``--help`` and ``--version`` only show the command list or the version, yet building
Typer's full tree (every option of every command, from its annotations) cost 31 ms of a 90 ms start.
The copy has the same names, help, panels and root options, so its root help is the same text
(a test compares the two); anything else gets the full tree.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import typer

ROOT_ONLY = ([], ["--help"], ["-h"], ["--version"])


def root_only(argv: Sequence[str]) -> bool:
    return list(argv) in ROOT_ONLY


def _placeholder() -> None:
    """Never run: the light tree only prints help."""


def light_app(app: typer.Typer) -> typer.Typer:
    info = app.info
    light = typer.Typer(
        name=info.name,
        help=info.help,
        rich_markup_mode=app.rich_markup_mode,
        pretty_exceptions_enable=False,
        no_args_is_help=info.no_args_is_help,
        add_completion=False,
        context_settings=info.context_settings,
    )
    light.registered_callback = app.registered_callback  # the root options (--version) themselves
    for command in app.registered_commands:
        light.command(
            command.name or command.callback.__name__.replace("_", "-"),  # type: ignore[union-attr]
            help=command.help or inspect.getdoc(command.callback),
            hidden=command.hidden,
            rich_help_panel=command.rich_help_panel,
        )(_placeholder)
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        callback = sub.registered_callback.callback if sub.registered_callback else None
        text = group.help or sub.info.help or (inspect.getdoc(callback) if callback else None)
        light.add_typer(typer.Typer(help=text, rich_markup_mode=None), name=group.name or sub.info.name)
    return light
