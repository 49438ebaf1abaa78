"""Generate shell completions (completions/) and man pages (man/) from the CLI definition itself.

    python3 scripts/generate_docs.py          # write them
    python3 scripts/generate_docs.py --check  # exit 1 and name the stale files (the test suite runs this)

The completion scripts are static: a TAB never starts Python. Everything comes from walking Typer's
command tree: names, options, their choices (Literal annotations), help texts and example epilogs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXIT_STATUS = [
    ("0", "the reply completed"),
    ("1", "the server reported an error (an error event, an in-band error object, WebSocket close 1011)"),
    ("2", "usage or input error (bad option, unreadable or malformed file, bad URL, bad config file)"),
    ("3", "could not connect, or the connection was lost (refused, DNS, TLS, reset, WebSocket 1006), after retries"),
    ("4", "timed out (connect, or --read-timeout of silence)"),
    ("5", "authentication rejected (HTTP 401/403, WebSocket handshake 401/403, close 1008)"),
    ("6", "any other HTTP error status (429 and 5xx after retries included)"),
    ("7", "protocol error: malformed stream, wrong content type, truncated stream, size cap exceeded"),
    ("8", "a check failed (--expect, --max-ttft, --min-tps, --fail-on-empty, bench compare regression)"),
    ("130", "interrupted (Ctrl-C or SIGTERM): output so far flushed, WebSocket closed with 1000"),
    ("141", "stdout was closed (| head -1): a quiet exit, as by SIGPIPE"),
]
FILES = [("$XDG_CONFIG_HOME/streamchat/config.toml", "defaults and named profiles; see streamchat-config(1)")]


@dataclass
class Opt:
    names: list[str]
    takes_value: bool
    choices: list[str]
    metavar: str
    help: str
    envvar: str | None


PATH_WORDS = ("file", "history", "conversation", "image", "prompts", "cacert", "records", "record", "replay", "dir")


def takes_path(opt: Opt) -> bool:
    """Complete file names for this option's value (others get no file-name noise)."""
    return opt.takes_value and not opt.choices and any(word in name for name in opt.names for word in PATH_WORDS)


@dataclass
class Cmd:
    path: list[str]  # ["chat"], ["bench", "compare"]; [] is streamchat itself
    help: str
    epilog: str
    options: list[Opt]
    arguments: list[str]
    subcommands: list[str]

    @property
    def name(self) -> str:
        return " ".join(["streamchat", *self.path])

    @property
    def page(self) -> str:
        return "-".join(["streamchat", *self.path])


def _choices(annotation: object) -> list[str]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in args]
    for arg in args:  # Optional[Literal[...]]
        found = _choices(arg)
        if found:
            return found
    return []


def _metavar(annotation: object) -> str:
    choices = _choices(annotation)
    if choices:
        return "|".join(choices)
    text = str(annotation)
    for name, shown in (("float", "NUMBER"), ("int", "N")):
        if name in text:
            return shown
    return "TEXT"


def _is_flag(annotation: object) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation is bool or args == [bool]


def collect() -> list[Cmd]:
    import typer._click as click
    from typer.main import get_command

    from streamchat.cli import app

    root = get_command(app)
    found: list[Cmd] = []

    def visit(command: object, path: list[str], parent: object | None) -> None:
        ctx = click.Context(command, info_name=path[-1] if path else "streamchat", parent=parent)
        options, arguments = [], []
        for param in command.params:  # type: ignore[attr-defined]
            if getattr(param, "hidden", False):
                continue
            annotation = param.type_descriptor.annotation
            if param.param_type_name == "argument":
                arguments.append(param.name.upper())
                continue
            record = param.get_help_record(ctx)
            options.append(
                Opt(
                    names=[*param.opts, *param.secondary_opts],
                    takes_value=not _is_flag(annotation),
                    choices=_choices(annotation),
                    metavar=_metavar(annotation),
                    help=record[1] if record else (param.help or ""),
                    envvar=param.envvar if isinstance(param.envvar, str) else None,
                )
            )
        options.append(Opt(["-h", "--help"], False, [], "", "Show this help and exit.", None))
        subcommands = sorted(getattr(command, "commands", {}) or {})
        found.append(Cmd(path, (command.help or "").strip(), (command.epilog or "").strip(), options, arguments, subcommands))  # type: ignore[attr-defined]
        for name in subcommands:
            visit(command.commands[name], [*path, name], ctx)  # type: ignore[attr-defined]

    visit(root, [], None)
    return found


# -- completions -----------------------------------------------------------------------------------


def _key(cmd: Cmd) -> str:
    return " ".join(cmd.path) or "-"


def bash(cmds: list[Cmd]) -> str:
    lines = [
        "# bash completion for streamchat (generated by scripts/generate_docs.py; do not edit)",
        "_streamchat() {",
        "    local cur prev words cword",
        "    cur=${COMP_WORDS[COMP_CWORD]}",
        "    prev=${COMP_WORDS[COMP_CWORD-1]}",
        '    local path="" i w',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        "        w=${COMP_WORDS[i]}",
        '        case "$path|$w" in',
    ]
    for cmd in cmds:
        for sub in cmd.subcommands:
            key = " ".join(cmd.path)
            new = " ".join([*cmd.path, sub])
            lines.append(f'            "{key}|{sub}") path="{new}" ;;')
    lines += ["        esac", "    done", '    case "$path|$prev" in']
    for cmd in cmds:
        for opt in cmd.options:
            if opt.takes_value:
                pattern = "|".join(f'"{" ".join(cmd.path)}|{n}"' for n in opt.names)
                if opt.choices:
                    lines.append(f'        {pattern}) COMPREPLY=($(compgen -W "{" ".join(opt.choices)}" -- "$cur")); return ;;')
                elif takes_path(opt):
                    lines.append(f'        {pattern}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
                else:
                    lines.append(f"        {pattern}) COMPREPLY=(); return ;;")
    lines += ["    esac", '    case "$path" in']
    for cmd in cmds:
        words = [n for o in cmd.options for n in o.names] + cmd.subcommands
        lines.append(f'        "{" ".join(cmd.path)}") COMPREPLY=($(compgen -W "{" ".join(words)}" -- "$cur")) ;;')
    lines += ["    esac", "}", "complete -o default -F _streamchat streamchat", ""]
    return "\n".join(lines)


def _zsh_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def zsh(cmds: list[Cmd]) -> str:
    lines = ["#compdef streamchat", "# zsh completion for streamchat (generated by scripts/generate_docs.py; do not edit)", ""]
    for cmd in cmds:
        fn = "_streamchat" + "".join("_" + p.replace("-", "_") for p in cmd.path)
        lines.append(f"{fn}() {{")
        specs = []
        for opt in cmd.options:
            summary = _zsh_escape(re.sub(r"\s+\[.*?\]$", "", opt.help.split("  [")[0])[:70])
            action = ""
            if opt.takes_value:
                if opt.choices:
                    action = f":{opt.metavar}:(" + " ".join(opt.choices) + ")"
                else:
                    action = f":{opt.metavar}:_files" if takes_path(opt) else f":{opt.metavar}: "
            names = opt.names
            if len(names) > 1:
                specs.append(f"'({' '.join(names)})'{{{','.join(names)}}}'[{summary}]{action}'")
            else:
                specs.append(f"'{names[0]}[{summary}]{action}'")
        if cmd.subcommands:
            specs.append("'1: :->command'")
            specs.append("'*:: :->args'")
        lines.append("    local state line")
        lines.append("    _arguments -C \\")
        lines += [f"        {spec} \\" for spec in specs]
        lines.append("        '*:file:_files'" if not cmd.subcommands else "        && return")
        if cmd.subcommands:
            lines.append("    case $state in")
            lines.append("        command)")
            described = " ".join(f"'{s}:{_zsh_escape(_summary(cmds, [*cmd.path, s]))}'" for s in cmd.subcommands)
            lines.append(f"            local -a commands; commands=({described}); _describe command commands ;;")
            lines.append("        args)")
            lines.append("            case $line[1] in")
            for sub in cmd.subcommands:
                lines.append(f"                {sub}) {fn}_{sub.replace('-', '_')} ;;")
            lines.append("            esac ;;")
            lines.append("    esac")
        lines.append("}")
        lines.append("")
    lines.append('_streamchat "$@"')
    lines.append("")
    return "\n".join(lines)


def _summary(cmds: list[Cmd], path: list[str]) -> str:
    for cmd in cmds:
        if cmd.path == path:
            return cmd.help.splitlines()[0] if cmd.help else ""
    return ""


def fish(cmds: list[Cmd]) -> str:
    lines = ["# fish completion for streamchat (generated by scripts/generate_docs.py; do not edit)", "complete -c streamchat -f"]
    top = [c for c in cmds if not c.path][0]
    for cmd in cmds:
        if not cmd.path:
            condition = "__fish_use_subcommand"
        elif len(cmd.path) == 1:
            others = " ".join(s for s in next(c for c in cmds if c.path == [cmd.path[0]]).subcommands) if cmd.subcommands else ""
            condition = f"__fish_seen_subcommand_from {cmd.path[0]}" + (f"; and not __fish_seen_subcommand_from {others}" if others else "")
        else:
            condition = f"__fish_seen_subcommand_from {cmd.path[0]}; and __fish_seen_subcommand_from {cmd.path[-1]}"
        for sub in cmd.subcommands:
            desc = _summary(cmds, [*cmd.path, sub]).replace("'", "\\'")
            lines.append(f"complete -c streamchat -n '{condition}' -a {sub} -d '{desc}'")
        for opt in cmd.options:
            parts = []
            for name in opt.names:
                parts.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
            extra = ""
            if opt.takes_value:
                extra = " -x -a '" + " ".join(opt.choices) + "'" if opt.choices else (" -r -F" if takes_path(opt) else " -x")
            desc = opt.help.split("  [")[0].replace("'", "\\'")[:80]
            lines.append(f"complete -c streamchat -n '{condition}' {' '.join(parts)}{extra} -d '{desc}'")
    del top
    lines.append("")
    return "\n".join(lines)


# -- man pages -------------------------------------------------------------------------------------


def roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(ch if ord(ch) < 128 else f"\\[u{ord(ch):04X}]" for ch in text)  # groff reads ASCII
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines())


def man(cmd: Cmd, cmds: list[Cmd], version: str) -> str:
    title = cmd.page.upper()
    out = [
        f'.TH {title} 1 "" "streamchat {version}" "User Commands"',
        '.\\" generated by scripts/generate_docs.py from the CLI definition; do not edit',
        ".SH NAME",
        f"{roff(cmd.page)} \\- {roff(cmd.help.splitlines()[0] if cmd.help else '')}",
        ".SH SYNOPSIS",
        f".B {roff(cmd.name)}",
    ]
    usage = "[OPTIONS]" + "".join(f" [{a}]" for a in cmd.arguments) + (" COMMAND [ARGS]..." if cmd.subcommands else "")
    out.append(roff(usage))
    out += [".SH DESCRIPTION", roff(cmd.help or "")]
    if cmd.subcommands:
        out.append(".SH COMMANDS")
        for sub in cmd.subcommands:
            out += [".TP", f".BR {'-'.join([cmd.page, sub])} (1)", roff(_summary(cmds, [*cmd.path, sub]))]
    out.append(".SH OPTIONS")
    for opt in cmd.options:
        head = ", ".join(f"\\fB{roff(n)}\\fR" for n in opt.names)
        if opt.takes_value:
            head += f" \\fI{roff(opt.metavar or 'VALUE')}\\fR"
        out += [".TP", head, roff(opt.help)]
    if cmd.epilog:
        body = [line for line in cmd.epilog.splitlines() if line.strip() and not line.strip().startswith("Examples")]
        out += [".SH EXAMPLES", ".nf", ".RS 2", *(roff(line.strip()) for line in body), ".RE", ".fi"]
    envvars = sorted(
        {o.envvar for c in ([cmd] if cmd.path else cmds) for o in c.options if o.envvar} | {"STREAMCHAT_TOKEN", "STREAMCHAT_DEBUG"}
    )
    out.append(".SH ENVIRONMENT")
    for var in envvars:
        meaning = {
            "STREAMCHAT_TOKEN": "The bearer token (never printed, logged or recorded).",
            "STREAMCHAT_DEBUG": "Set to show a traceback for an internal error.",
        }.get(var) or next((o.help.split("  [")[0] for c in cmds for o in c.options if o.envvar == var), "")
        out += [".TP", f".B {roff(var)}", roff(meaning)]
    out.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        out += [".TP", f".B {code}", roff(meaning)]
    out.append(".SH FILES")
    for path, meaning in FILES:
        out += [".TP", f".I {roff(path)}", roff(meaning)]
    related = sorted({c.page for c in cmds} - {cmd.page})
    out += [".SH SEE ALSO", ", ".join(f".BR {p} (1)".replace(".BR ", "\\fB").replace(" (1)", "\\fR(1)") for p in related)]
    return "\n".join(out) + "\n"


def render() -> dict[Path, str]:
    from streamchat import __version__

    cmds = collect()
    files = {
        ROOT / "completions" / "streamchat.bash": bash(cmds),
        ROOT / "completions" / "_streamchat": zsh(cmds),
        ROOT / "completions" / "streamchat.fish": fish(cmds),
    }
    for cmd in cmds:
        files[ROOT / "man" / f"{cmd.page}.1"] = man(cmd, cmds, __version__)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate completions/ and man/ from the CLI.")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale or missing")
    args = parser.parse_args()
    os.environ.setdefault("COLUMNS", "100")
    files = render()
    stale = [path for path, text in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    for directory in {path.parent for path in files}:
        for extra in directory.glob("*"):
            if extra not in files and extra.is_file():
                stale.append(extra)
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run python3 scripts/generate_docs.py)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for path in stale:
        if path not in files:
            path.unlink()
    print(f"wrote {len(files)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
