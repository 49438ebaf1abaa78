"""`--help`: examples exactly as written, options in groups, conventional placeholders (the man pages' words)."""

from __future__ import annotations

import importlib
import re

import pytest
from test_startup import HEAVY, imported_after

from streamchat.cli import app, run
from streamchat.cli.tree import NO_REWRAP, collect

# (command line, module whose EXAMPLES constant it shows, the constant's name)
EXAMPLE_PAGES = [
    ([], "streamchat.cli", "EXAMPLES"),
    (["chat"], "streamchat.cli.chat", "EXAMPLES"),
    (["ws-chat"], "streamchat.cli.ws_chat", "EXAMPLES"),
    (["camera"], "streamchat.cli.camera", "EXAMPLES"),
    (["bench"], "streamchat.cli.bench", "EXAMPLES"),
    (["bench", "compare"], "streamchat.cli.bench", "COMPARE_EXAMPLES"),
    (["bench", "report"], "streamchat.cli.bench", "REPORT_EXAMPLES"),
    (["serve"], "streamchat.cli.serve", "EXAMPLES"),
    (["config"], "streamchat.cli.config", "EXAMPLES"),
    (["models"], "streamchat.cli.models", "EXAMPLES"),
    (["completion"], "streamchat.cli.completion", "EXAMPLES"),
]
EVERY_COMMAND = [words for words, _, _ in EXAMPLE_PAGES]
# Typer's own placeholders (`<str>`, `<int range>`, `<list[str]>`) and click's for required
# arguments (`{camera_id}`): none may be left anywhere.
UNCONVENTIONAL = re.compile(r"<[a-z][a-z _\[\]]*>|\{[a-z_]+\}")


def help_text(words: list[str], capsys, monkeypatch, columns: int = 80) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert run([*words, "--help"]) == 0
    return capsys.readouterr().out


def sections(text: str) -> dict[str, list[str]]:
    """Heading -> the option names listed under it (the first word of each entry, dashes kept)."""
    found: dict[str, list[str]] = {}
    heading = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":") and not line.startswith("Usage"):
            heading = line[:-1]
            found[heading] = []
        elif heading and re.match(r"  \S", line):
            found[heading].append(line.split()[0].rstrip(","))
        elif not line.strip() and heading and found[heading]:
            heading = None
    return found


@pytest.mark.parametrize("words,module,name", EXAMPLE_PAGES, ids=[" ".join(w) or "streamchat" for w, _, _ in EXAMPLE_PAGES])
def test_examples_are_shown_line_for_line_as_written(words, module, name, capsys, monkeypatch):
    examples = getattr(importlib.import_module(module), name)
    written = [line for line in examples.splitlines() if line.startswith("  ")]
    assert len(written) >= 2 and NO_REWRAP in examples
    shown = help_text(words, capsys, monkeypatch, columns=60).splitlines()  # narrower than every example
    for line in written:
        assert "  " + line in shown, f"{line!r} was re-wrapped in:\n" + "\n".join(shown)
    assert not any(NO_REWRAP in line for line in shown)


def test_chat_options_are_grouped_in_order(capsys, monkeypatch):
    found = sections(help_text(["chat"], capsys, monkeypatch))
    headings = [h for h in found if h not in ("Commands",)]
    assert headings == [
        "Arguments",
        "Connection",
        "Request",
        "Input",
        "Output",
        "Checks (a failure exits 8)",
        "Record and replay",
        "Options",
    ]
    assert {"--url", "--profile", "--token", "-H", "--connect-timeout", "--retries", "--cacert"} <= set(found["Connection"])
    assert {"-m", "-p", "-s", "--max-tokens", "--temperature"} <= set(found["Request"])
    assert {"--history", "-C", "-i"} <= set(found["Input"])
    assert {"-o", "-q", "--color"} <= set(found["Output"])
    assert found["Checks (a failure exits 8)"] == ["--expect", "--max-ttft", "--min-tps", "--fail-on-empty"]
    assert found["Record and replay"] == ["--record", "--replay", "--replay-pace"]
    assert found["Options"] == ["-h"]


@pytest.mark.parametrize("words", [["ws-chat"], ["bench"], ["models"], ["camera"]])
def test_other_commands_group_their_options_the_same_way(words, capsys, monkeypatch):
    found = sections(help_text(words, capsys, monkeypatch))
    assert "--url" in found["Connection"] and "-o" in found["Output"] and found["Options"] == ["-h"]
    if words == ["bench"]:
        assert {"--slo", "--max-error-rate"} == set(found["Checks (a failure exits 8)"])
        assert {"--requests", "--concurrency", "--rate"} <= set(found["Load"])
        assert list(found).index("Load") < list(found).index("Output")


def test_every_option_that_takes_a_value_declares_its_placeholder():
    """The help, the man pages and the completions read this one metavar: none is left to Typer."""
    from typer.main import get_command

    missing = []

    def visit(command, path):
        for param in command.params:
            if not getattr(param, "is_flag", False) and not param.metavar:
                missing.append(f"{' '.join(path)} {param.name}")
            if param.metavar:
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_=|.-]*", param.metavar), param.metavar
        for name, sub in (getattr(command, "commands", {}) or {}).items():
            visit(sub, [*path, name])

    visit(get_command(app), ["streamchat"])
    assert missing == []


@pytest.mark.parametrize("words", EVERY_COMMAND, ids=[" ".join(w) or "streamchat" for w in EVERY_COMMAND])
def test_no_typer_style_placeholders(words, capsys, monkeypatch):
    text = help_text(words, capsys, monkeypatch)
    assert not UNCONVENTIONAL.search(text), UNCONVENTIONAL.search(text)


def test_the_conventional_words(capsys, monkeypatch):
    text = help_text(["chat"], capsys, monkeypatch)
    for entry in (
        "Usage: streamchat chat [OPTIONS] [MESSAGE]",
        "--url URL",
        "-s, --system TEXT",
        "--history PATH",
        "--max-tokens N",
        "--read-timeout SECONDS",
        "--max-response-size SIZE",
        "--max-ttft MS",
        "-o, --output text|ndjson|json",
        "--dialect streamchat|openai|",
        "--profile NAME",
    ):
        assert entry in text, entry
    assert "Usage: streamchat camera [OPTIONS] CAMERA_ID" in help_text(["camera"], capsys, monkeypatch)
    assert "Usage: streamchat bench report [OPTIONS] PATH..." in help_text(["bench", "report"], capsys, monkeypatch)
    assert "Usage: streamchat bench [OPTIONS] [COMMAND [ARGS]...]" in help_text(["bench"], capsys, monkeypatch)


def test_help_and_the_man_pages_use_the_same_placeholders(capsys, monkeypatch):
    """Each option as the help lists it ("-o, --output text|ndjson|json") is how its man page heads it."""
    import os

    from conftest import ROOT

    for cmd in collect(app):
        text = help_text(cmd.path, capsys, monkeypatch, columns=200)
        page = open(os.path.join(ROOT, "man", cmd.page + ".1"), encoding="utf-8").read()
        for opt in cmd.options:
            if not opt.takes_value:
                continue
            listed = ", ".join(opt.names) + " " + opt.metavar
            assert listed in text, (cmd.name, listed)
            head = ", ".join(f"\\fB{name.replace('-', chr(92) + '-')}\\fR" for name in opt.names)
            assert f"{head} \\fI{opt.metavar.replace('-', chr(92) + '-')}\\fR" in page, (cmd.page, listed)


def test_serve_says_healthz_is_the_one_open_endpoint(capsys, monkeypatch):
    flowing = " ".join(help_text(["serve"], capsys, monkeypatch).split())
    assert "--token TOKEN Require this bearer token on every endpoint but /healthz" in flowing


@pytest.mark.parametrize("args", [["completion", "--help"], ["config", "--profiles"], ["bench", "compare", "--help"]])
def test_new_help_paths_import_nothing_heavy(args):
    assert imported_after(args, HEAVY) in ([], [""])
