"""`streamchat --help` and `--version` must not import the network stack (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import clean_env, run_cli

HEAVY = ("httpx", "httpcore", "websockets", "pydantic", "starlette", "uvicorn", "PIL", "rich", "matplotlib", "ray")

PROBE = """
import sys
from streamchat.cli import run
run({args!r})
print(" ".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def imported_after(args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a run of the CLI with ``args`` (in a fresh interpreter) imported."""
    code = PROBE.format(args=args, heavy=modules)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=30)
    return proc.stderr.strip().splitlines()[-1:]


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["chat", "--help"], ["serve", "--help"], ["bench", "--help"], ["bench", "report", "--help"]]
)
def test_help_and_version_import_nothing_heavy(args):
    assert imported_after(args, HEAVY) in ([], [""])


def test_a_chat_made_of_command_line_values_imports_neither_pydantic_nor_httpx(server):
    """Typer has checked every value; pydantic is for what comes from files (protocol/validation.py)."""
    args = ["chat", "--url", server.url + "/v1/chat/completions", "-q", "--temperature", "0.5", "--max-tokens", "9", "-o", "ndjson", "Hi"]
    assert imported_after(args, ("pydantic", "httpx", "httpcore", "h11")) in ([], [""])  # sockets and our own reader


def test_a_history_file_is_checked_with_pydantic(server, tmp_path):
    history = tmp_path / "h.ndjson"
    history.write_text('{"role": "user", "content": "earlier"}\n')
    args = ["chat", "--url", server.url + "/v1/chat/completions", "-q", "--history", str(history), "Hi"]
    assert imported_after(args, ("pydantic",)) == ["pydantic"]


def test_version(cli):
    from streamchat import __version__

    r = cli("--version")
    assert r.code == 0 and r.out == f"streamchat {__version__}\n"


def test_help_has_examples(cli):
    r = cli("chat", "--help")
    assert r.code == 0 and "Examples:" in r.out and "streamchat chat" in r.out


def test_unknown_command_is_a_usage_error(cli):
    r = run_cli("nonsense")
    assert r.code == 2 and r.stderr.startswith("streamchat: error:")


def test_the_light_tree_prints_the_same_root_help_as_the_full_one():
    """--help and --version skip building every command's options; the text must not change."""
    import contextlib
    import io

    from typer.main import get_command

    from streamchat.cli import app
    from streamchat.cli.light import light_app

    def render(tree) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            get_command(tree).main(args=["--help"], prog_name="streamchat", standalone_mode=False)
        return out.getvalue()

    full = render(app)
    assert "chat" in full and "bench" in full and render(light_app(app)) == full


def test_bare_streamchat_shows_help_on_stderr_as_a_usage_error(cli):
    r = cli()
    assert r.code == 2 and r.stderr.startswith("Usage: streamchat") and "Commands:" in r.stderr and r.out == ""
