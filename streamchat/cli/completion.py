"""``streamchat completion bash|zsh|fish``: the shell completion script, on stdout.

Written at run time from the same code (``shells.py``) and the same command tree that
``scripts/generate_docs.py`` writes ``completions/`` from, so the two are the same text (a test
compares them) and an editable install prints the script of the code it runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from . import app
from .helpformat import GroupedCommand
from .options import SHELLS, one_of

EXAMPLES = """
Examples:

\b
  source <(streamchat completion bash)                  # this bash session; or in ~/.bashrc
  streamchat completion bash > ~/.local/share/bash-completion/completions/streamchat
  streamchat completion zsh > ~/.zfunc/_streamchat       # a directory on $fpath, before compinit
  streamchat completion fish > ~/.config/fish/completions/streamchat.fish
"""


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
def completion(
    shell: Annotated[
        Literal[SHELLS],  # type: ignore[valid-type]
        typer.Argument(metavar=one_of(SHELLS), help="The shell to print the completion script for.", show_default=False),
    ],
) -> int:
    """Print the shell completion script for bash, zsh or fish."""
    from ..env import print_stdout
    from .shells import script
    from .tree import collect

    print_stdout(script(shell, collect(app)))
    return 0
