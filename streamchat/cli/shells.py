"""Shell completion scripts for bash, zsh and fish, written from the command tree.

The scripts are static: command names, options, choices and files complete without starting Python.
The one exception is a profile name after ``--profile``, which lives in the user's config file: the
scripts ask ``streamchat config --profiles`` for it, which reads that file and nothing else.
"""

from __future__ import annotations

import re

from .options import SHELLS
from .tree import Arg, Cmd, Opt

__all__ = ["SHELLS", "script", "summary"]
PROFILES = "streamchat config --profiles 2>/dev/null"
HEADER = "completion for streamchat (generated from the CLI by scripts/generate_docs.py and `streamchat completion`; do not edit)"


def script(shell: str, cmds: list[Cmd]) -> str:
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](cmds)


def summary(cmds: list[Cmd], path: list[str]) -> str:
    return next((cmd.summary for cmd in cmds if cmd.path == path), "")


def short_help(opt: Opt, limit: int) -> str:
    """The help text without Typer's ``[default: ...]`` tail, cut to ``limit``."""
    return re.sub(r"\s+\[[^\]]*\]$", "", opt.help.split("  [")[0])[:limit]


# -- bash ------------------------------------------------------------------------------------------


def _bash_reply(kind: str, words: list[str]) -> str:
    if kind == "choice":
        return f'COMPREPLY=($(compgen -W "{" ".join(words)}" -- "$cur"))'
    if kind == "path":
        return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
    if kind == "profile":  # one name a line, quoted as file names are (a TOML name may hold a space)
        return f'local IFS=$\'\\n\'; compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -W "$({PROFILES})" -- "$cur"))'
    return "COMPREPLY=()"


def bash(cmds: list[Cmd]) -> str:
    lines = [
        f"# bash {HEADER}",
        "_streamchat() {",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
        '    local path="" i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "$path|${COMP_WORDS[i]}" in',
    ]
    for cmd in cmds:
        for sub in cmd.subcommands:
            lines.append(f'            "{" ".join(cmd.path)}|{sub}") path="{" ".join([*cmd.path, sub])}" ;;')
    lines += ["        esac", "    done", '    case "$path|$prev" in']
    for cmd in cmds:
        for opt in cmd.options:
            if opt.takes_value:
                pattern = "|".join(f'"{" ".join(cmd.path)}|{name}"' for name in opt.names)
                lines.append(f"        {pattern}) {_bash_reply(opt.completes, opt.choices)}; return ;;")
    lines += ["    esac", '    case "$path" in']
    for cmd in cmds:
        words = " ".join([name for opt in cmd.options for name in opt.names] + cmd.subcommands)
        options = f'COMPREPLY=($(compgen -W "{words}" -- "$cur"))'
        argument = next((arg for arg in cmd.arguments if arg.completes != "none"), None)
        if argument is None:
            lines.append(f'        "{" ".join(cmd.path)}") {options} ;;')
        else:  # an argument completes: options only once a dash is typed
            reply = _bash_reply(argument.completes, argument.choices)
            lines.append(f'        "{" ".join(cmd.path)}") if [[ $cur == -* ]]; then {options}; else {reply}; fi ;;')
    lines += ["    esac", "}", "complete -F _streamchat streamchat", ""]
    return "\n".join(lines)


# -- zsh -------------------------------------------------------------------------------------------


def _zsh_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_action(kind: str, words: list[str]) -> str:
    return {"choice": "(" + " ".join(words) + ")", "path": "_files", "profile": "_streamchat_profiles"}.get(kind, " ")


def _zsh_option(opt: Opt) -> str:
    action = f":{_zsh_escape(opt.metavar)}:{_zsh_action(opt.completes, opt.choices)}" if opt.takes_value else ""
    described = f"[{_zsh_escape(short_help(opt, 70))}]{action}"
    if opt.repeatable:
        return "'*'" + ("{" + ",".join(opt.names) + "}" if len(opt.names) > 1 else opt.names[0]) + f"'{described}'"
    if len(opt.names) > 1:
        return f"'({' '.join(opt.names)})'{{{','.join(opt.names)}}}'{described}'"
    return f"'{opt.names[0]}{described}'"


def _zsh_argument(index: int, arg: Arg) -> str:
    position = "*" if arg.variadic else str(index)
    return f"'{position}:{_zsh_escape(arg.metavar)}:{_zsh_action(arg.completes, arg.choices)}'"


def zsh(cmds: list[Cmd]) -> str:
    lines = [
        "#compdef streamchat",
        f"# zsh {HEADER}",
        "",
        "_streamchat_profiles() {",
        "    local -a profiles",
        f'    profiles=(${{(f)"$({PROFILES})"}})',
        "    compadd -a profiles",
        "}",
        "",
    ]
    for cmd in cmds:
        fn = "_streamchat" + "".join("_" + part.replace("-", "_") for part in cmd.path)
        specs = [_zsh_option(opt) for opt in cmd.options]
        if cmd.subcommands:
            specs += ["'1: :->command'", "'*:: :->args'"]
        else:
            specs += [_zsh_argument(index, arg) for index, arg in enumerate(cmd.arguments, 1)]
        lines += [f"{fn}() {{", "    local state line", "    _arguments -C \\"]
        lines += [f"        {spec} \\" for spec in specs[:-1]] + [f"        {specs[-1]}" + (" && return" if cmd.subcommands else "")]
        if cmd.subcommands:
            described = " ".join(f"'{sub}:{_zsh_escape(summary(cmds, [*cmd.path, sub]))}'" for sub in cmd.subcommands)
            lines += [
                "    case $state in",
                "        command)",
                f"            local -a commands; commands=({described}); _describe command commands ;;",
                "        args)",
                "            case $line[1] in",
                *(f"                {sub}) {fn}_{sub.replace('-', '_')} ;;" for sub in cmd.subcommands),
                "            esac ;;",
                "    esac",
            ]
        lines += ["}", ""]
    # autoloaded from $fpath, this file is _streamchat's body: complete now; sourced, register it
    lines += [
        'if [ "$funcstack[1]" = "_streamchat" ]; then',
        '    _streamchat "$@"',
        "else",
        "    compdef _streamchat streamchat",
        "fi",
        "",
    ]
    return "\n".join(lines)


# -- fish ------------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_condition(cmd: Cmd, cmds: list[Cmd]) -> str:
    if not cmd.path:
        return "__fish_use_subcommand"
    if len(cmd.path) == 1:
        others = " ".join(cmd.subcommands)
        return f"__fish_seen_subcommand_from {cmd.path[0]}" + (f"; and not __fish_seen_subcommand_from {others}" if others else "")
    return f"__fish_seen_subcommand_from {cmd.path[0]}; and __fish_seen_subcommand_from {cmd.path[-1]}"


def _fish_values(kind: str, words: list[str]) -> str:
    if kind == "choice":
        return f" -x -a {_fish_quote(' '.join(words))}"
    if kind == "path":
        return " -r -F"
    if kind == "profile":
        return f" -x -a {_fish_quote('(' + PROFILES + ')')}"
    return " -x"


def fish(cmds: list[Cmd]) -> str:
    lines = [f"# fish {HEADER}", "complete -c streamchat -f"]
    for cmd in cmds:
        condition = _fish_quote(_fish_condition(cmd, cmds))
        for sub in cmd.subcommands:
            lines.append(f"complete -c streamchat -n {condition} -a {sub} -d {_fish_quote(summary(cmds, [*cmd.path, sub]))}")
        for arg in cmd.arguments:
            if arg.completes == "path":
                lines.append(f"complete -c streamchat -n {condition} -F")
            elif arg.completes == "choice":
                lines.append(f"complete -c streamchat -n {condition} -a {_fish_quote(' '.join(arg.choices))}")
        for opt in cmd.options:
            names = " ".join(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}" for name in opt.names)
            values = _fish_values(opt.completes, opt.choices) if opt.takes_value else ""
            lines.append(f"complete -c streamchat -n {condition} {names}{values} -d {_fish_quote(short_help(opt, 80))}")
    lines.append("")
    return "\n".join(lines)
