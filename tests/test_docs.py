"""Completions and man pages: generated from the CLI, never stale, and they work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, clean_env


def test_generated_files_are_up_to_date():
    r = subprocess.run([sys.executable, "scripts/generate_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stderr + "\nrun: python3 scripts/generate_docs.py"


def _complete(words: list[str]) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    script = f"source completions/streamchat.bash; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _streamchat; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    r = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_knows_commands_options_and_choices():
    assert {"chat", "ws-chat", "camera", "bench", "serve", "config"} <= set(_complete(["streamchat", ""]))
    assert _complete(["streamchat", "chat", "--out"]) == ["--output"]
    assert _complete(["streamchat", "chat", "-o", ""]) == ["text", "ndjson", "json"]
    assert _complete(["streamchat", "bench", "compare", "--thr"]) == ["--threshold"]
    assert "--workers" in _complete(["streamchat", "bench", "--w"])


@pytest.mark.parametrize(
    "shell,flag,path", [("zsh", "-n", "completions/_streamchat"), ("fish", "--no-execute", "completions/streamchat.fish")]
)
def test_zsh_and_fish_scripts_parse(shell, flag, path):
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} on this machine")
    r = subprocess.run([shell, flag, path], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_command_has_a_man_page_with_examples():
    pages = sorted(os.listdir(os.path.join(ROOT, "man")))
    assert {
        "streamchat.1",
        "streamchat-chat.1",
        "streamchat-ws-chat.1",
        "streamchat-camera.1",
        "streamchat-bench.1",
        "streamchat-serve.1",
    } <= set(pages)
    for page in pages:
        text = open(os.path.join(ROOT, "man", page), encoding="utf-8").read()
        assert text.startswith(".TH ") and ".SH OPTIONS" in text and ".SH EXIT STATUS" in text, page
        assert ".SH EXAMPLES" in text or page == "streamchat.1", page


@pytest.mark.skipif(shutil.which("groff") is None, reason="no groff")
def test_man_pages_render_without_warnings():
    for page in sorted(os.listdir(os.path.join(ROOT, "man"))):
        r = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(ROOT, "man", page)],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        assert r.returncode == 0 and not r.stderr.strip(), (page, r.stderr)
    out = subprocess.run(
        ["groff", "-man", "-Tutf8", "-P-cbou", os.path.join(ROOT, "man", "streamchat-chat.1")], capture_output=True, text=True
    ).stdout
    assert "EXAMPLES" in out and 'streamchat chat "Hello"' in out
