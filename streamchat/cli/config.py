"""``streamchat config``: the settings a run would use, and where each came from (token redacted)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Literal, Optional

import typer

from . import app
from .helpformat import GroupedCommand
from .options import one_of

EXAMPLES = """
Examples:

\b
  streamchat config                          # [defaults] and default_profile, env vars, built-ins
  streamchat config --profile local -o json  # what --profile local gives chat, ws-chat and bench
"""

CONFIG_OUTPUTS = ("text", "json")

# (setting, environment variable, built-in default as chat uses it)
ROWS = (
    ("url", "STREAMCHAT_URL", "none: the built-in demo server"),
    ("dialect", "STREAMCHAT_DIALECT", "inferred from the URL path"),
    ("model", "STREAMCHAT_MODEL", "deepseek/deepseek-chat"),
    ("provider", "STREAMCHAT_PROVIDER", "the model's prefix before '/'"),
    ("connect_timeout", None, "30 (ws-chat 10)"),
    ("read_timeout", None, "60"),
    ("headers", None, "none"),
    ("params", None, "none"),
    ("ignore_stdin", "STREAMCHAT_IGNORE_STDIN", "false: stdin is read when it is a pipe or a file"),
)


@app.command("config", cls=GroupedCommand, epilog=EXAMPLES)
def config(
    profile: Annotated[
        Optional[str], typer.Option("--profile", envvar="STREAMCHAT_PROFILE", metavar="NAME", help="Show this profile's settings.")
    ] = None,
    output: Annotated[
        Literal[CONFIG_OUTPUTS],  # type: ignore[valid-type]
        typer.Option("-o", "--output", metavar=one_of(CONFIG_OUTPUTS), help="text or json."),
    ] = "text",
    profiles: Annotated[
        bool, typer.Option("--profiles", help="Only list the profile names, one a line (what shell completion offers after --profile).")
    ] = False,
) -> int:
    """Show the resolved settings and where each came from: env > profile > [defaults] > built-in."""
    from ..env import print_stdout
    from ..session.profiles import config_path, settings

    if profiles:  # run by the completion scripts at each TAB: the file only, no token_command, no defaults
        from ..session.profiles import load

        print_stdout("".join(f"{name}\n" for name in sorted(load(config_path()).get("profiles", {}))))
        return 0
    found = settings(profile)
    env = os.environ
    resolved: dict[str, dict[str, object]] = {}
    for key, var, builtin in ROWS:
        if var and env.get(var):
            resolved[key] = {"value": env[var], "source": f"environment {var}"}
        elif key in found.values:
            resolved[key] = {"value": found.values[key], "source": found.sources[key]}
        else:
            resolved[key] = {"value": None, "source": f"built-in: {builtin}"}
    if env.get("STREAMCHAT_TOKEN"):
        resolved["token"] = {"value": "<redacted>", "source": "environment STREAMCHAT_TOKEN"}
    elif "token_command" in found.values:
        resolved["token"] = {
            "value": "<redacted>",
            "source": f"token_command {found.values['token_command']!r} from {found.sources['token_command']} (run when a command needs it)",
        }
    else:
        resolved["token"] = {"value": None, "source": "none (--token-file, STREAMCHAT_TOKEN or a profile's token_command)"}
    path = config_path()
    where = {
        "config_file": str(path),
        "config_file_exists": path.is_file(),
        "profile": found.profile,
        "profile_source": ("--profile / STREAMCHAT_PROFILE" if profile else "default_profile") if found.profile else None,
    }
    if output == "json":
        print_stdout(json.dumps({**where, "settings": resolved}) + "\n")
        return 0
    lines = [f"config file: {path}{'' if where['config_file_exists'] else ' (none)'}"]
    lines.append(f"profile: {found.profile or '(none)'}" + (f"  ({where['profile_source']})" if found.profile else ""))
    for key, item in resolved.items():
        value = item["value"]
        shown = "-" if value is None else (", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value))
        lines.append(f"{key:<16} {shown}  ({item['source']})")
    print_stdout("\n".join(lines) + "\n")
    return 0
