"""Completions and man pages: generated from the CLI, never stale, installed with the package, and they work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, clean_env, run_cli

from streamchat.cli import run

BIN = os.path.dirname(sys.executable)  # this environment's streamchat, which the scripts call for profile names
SCRIPTS = {"bash": "completions/streamchat.bash", "zsh": "completions/_streamchat", "fish": "completions/streamchat.fish"}
CONFIG = """
[profiles.local]
url = "http://127.0.0.1:8000/v1"
[profiles.staging]
model = "m"
token_command = "touch {marker}"
"""


def test_generated_files_are_up_to_date():
    r = subprocess.run([sys.executable, "scripts/generate_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stderr + "\nrun: python3 scripts/generate_docs.py"


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_the_completion_command_prints_the_generated_script(shell, capsys):
    assert run(["completion", shell]) == 0
    assert capsys.readouterr().out == open(os.path.join(ROOT, SCRIPTS[shell]), encoding="utf-8").read()


def test_an_unknown_shell_is_a_usage_error(capsys):
    assert run(["completion", "tcsh"]) == 2
    assert "bash" in capsys.readouterr().err


@pytest.fixture
def shell_env(tmp_path):
    """A config file with two profiles (one whose token_command would leave a mark), files to complete,
    and this environment's streamchat first on PATH."""
    (tmp_path / "streamchat").mkdir()
    marker = tmp_path / "token-command-ran"
    (tmp_path / "streamchat" / "config.toml").write_text(CONFIG.format(marker=marker))
    work = tmp_path / "work"
    work.mkdir()
    for name in ("base.json", "new.json", "notes.txt"):
        (work / name).write_text("{}")
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path), PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    yield env, work
    assert not marker.exists(), "completing a profile name ran a token_command"


def _bash(words: list[str], env: dict[str, str] | None = None, cwd: str = ROOT) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    script = f"source {ROOT}/completions/streamchat.bash; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _streamchat; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    r = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line]


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


@needs_bash
def test_bash_completion_knows_commands_options_and_choices():
    assert {"chat", "ws-chat", "camera", "bench", "serve", "config", "models", "completion"} <= set(_bash(["streamchat", ""]))
    assert _bash(["streamchat", "chat", "--out"]) == ["--output"]
    assert _bash(["streamchat", "chat", "-o", ""]) == ["text", "ndjson", "json"]
    assert _bash(["streamchat", "bench", "compare", "--thr"]) == ["--threshold"]
    assert "--workers" in _bash(["streamchat", "bench", "--w"])
    assert _bash(["streamchat", "completion", ""]) == ["bash", "zsh", "fish"]


@needs_bash
def test_bash_completes_profile_names_from_the_config_file(shell_env):
    env, work = shell_env
    assert _bash(["streamchat", "chat", "--profile", ""], env, str(work)) == ["local", "staging"]
    assert _bash(["streamchat", "bench", "--profile", "st"], env, str(work)) == ["staging"]


@needs_bash
def test_bash_completes_files_after_bench_compare_and_report_and_path_options_only(shell_env):
    env, work = shell_env
    assert _bash(["streamchat", "bench", "compare", ""], env, str(work)) == ["base.json", "new.json", "notes.txt"]
    assert _bash(["streamchat", "bench", "compare", "base.json", "n"], env, str(work)) == ["new.json", "notes.txt"]
    assert _bash(["streamchat", "bench", "report", "b"], env, str(work)) == ["base.json"]
    assert _bash(["streamchat", "chat", "--history", "b"], env, str(work)) == ["base.json"]
    assert _bash(["streamchat", "chat", "--url", ""], env, str(work)) == []  # a URL is no file name
    assert _bash(["streamchat", "bench", "compare", "--"], env, str(work)) == ["--threshold", "--help"]


def test_profile_names_come_from_the_file_alone(shell_env, monkeypatch):
    env, work = shell_env
    monkeypatch.chdir(work)
    r = run_cli("config", "--profiles", env=env)
    assert r.code == 0 and r.out == "local\nstaging\n" and r.stderr == ""


@pytest.mark.skipif(shutil.which("fish") is None, reason="no fish on this machine")
def test_fish_completes_choices_profiles_and_files(shell_env):
    env, work = shell_env

    def complete(line: str) -> list[str]:
        script = f"source {ROOT}/completions/streamchat.fish; complete -C {line!r}"
        r = subprocess.run(["fish", "--no-config", "-c", script], cwd=work, capture_output=True, text=True, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        return [row.split("\t")[0] for row in r.stdout.splitlines()]

    assert complete("streamchat chat -o ") == ["json", "ndjson", "text"]
    assert complete("streamchat chat --profile ") == ["local", "staging"]
    assert complete("streamchat bench compare ") == ["base.json", "new.json", "notes.txt"]
    assert complete("streamchat bench report n") == ["new.json", "notes.txt"]
    assert complete("streamchat completion ") == ["bash", "fish", "zsh"]
    assert complete("streamchat chat ") == []  # a message: no file names


ZPTY = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1="%% "; autoload -U compinit; compinit -u -D; source {script}'
zpty -w -n z 'streamchat bench compare '$'\t'
zpty -r z out '*notes.txt*'
zpty -w -n z $'\C-u'
zpty -w -n z 'streamchat chat --profile '$'\t'
zpty -r z out '*staging*'
print -r -- $out
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh on this machine")
def test_zsh_completes_files_after_bench_compare_and_profile_names(shell_env):
    """A real interactive zsh (in a pseudo-terminal): each read waits for the completion list to appear."""
    env, work = shell_env
    code = ZPTY.format(script=os.path.join(ROOT, SCRIPTS["zsh"]))
    r = subprocess.run(["zsh", "-f", "-c", code], cwd=work, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "local" in r.stdout and "staging" in r.stdout


@pytest.mark.parametrize("shell,flag", [("zsh", "-n"), ("fish", "--no-execute")])
def test_zsh_and_fish_scripts_parse(shell, flag):
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} on this machine")
    r = subprocess.run([shell, flag, SCRIPTS[shell]], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh on this machine")
def test_the_zsh_script_registers_itself_when_sourced():
    """`source <(streamchat completion zsh)` works as well as a file on $fpath."""
    code = f"autoload -U compinit; compinit -u -D; source {SCRIPTS['zsh']}; print -r -- $_comps[streamchat]"
    r = subprocess.run(["zsh", "-f", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "_streamchat", r.stderr


def test_every_command_has_a_man_page_with_examples():
    pages = sorted(os.listdir(os.path.join(ROOT, "man")))
    assert {
        "streamchat.1",
        "streamchat-chat.1",
        "streamchat-ws-chat.1",
        "streamchat-camera.1",
        "streamchat-bench.1",
        "streamchat-serve.1",
        "streamchat-completion.1",
    } <= set(pages)
    for page in pages:
        text = open(os.path.join(ROOT, "man", page), encoding="utf-8").read()
        assert text.startswith(".TH ") and ".SH OPTIONS" in text and ".SH EXIT STATUS" in text, page
        assert ".SH EXAMPLES" in text, page


def _rendered(page: str) -> str:
    r = subprocess.run(
        ["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=200n", os.path.join(ROOT, "man", page)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    return r.stdout.replace("\u2010", "-").replace("\u2212", "-")


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
    out = _rendered("streamchat-chat.1")
    assert "EXAMPLES" in out and 'streamchat chat "Hello"' in out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith("/api/v1/chat/stream \\"))
    indent = len(lines[at]) - len(lines[at].lstrip())
    assert lines[at + 1].startswith(" " * (indent + 4) + "--sync-ws")  # a continuation keeps its own indent


@pytest.mark.skipif(shutil.which("groff") is None, reason="no groff")
def test_streamchat_1_shows_the_shell_loop_jq_ci_gate_and_base_url():
    out = _rendered("streamchat.1")
    examples = out[out.index("EXAMPLES") : out.index("ENVIRONMENT")]
    for shown in (
        'while read -r q; do streamchat chat --ignore-stdin -q "$q"; done < questions.txt',
        "> out.json || jq -r .error.code out.json",
        "streamchat bench --url \"$URL\" --slo 'ttft_p95<=500' --max-error-rate 1",
        "--url http://127.0.0.1:8000/v1 ",
        "source <(streamchat completion bash)",
    ):
        assert shown in examples, shown


def test_the_package_installs_man_pages_and_completions_under_the_prefix(tmp_path):
    """pyproject.toml's data files, installed by setuptools (what `pip install .` runs) from a copy of the
    sources into a scratch prefix: the man pages land in share/man/man1, the scripts where shells look."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    for name in ("streamchat", "man", "completions"):
        shutil.copytree(os.path.join(ROOT, name), src / name, ignore=shutil.ignore_patterns("__pycache__"))
    prefix = tmp_path / "prefix"
    install = "import setuptools, sys; sys.argv[1:] = ['-q', 'install_data', '--install-dir', sys.argv[1]]; setuptools.setup()"
    r = subprocess.run([sys.executable, "-c", install, str(prefix)], cwd=src, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    installed = {str(path.relative_to(prefix)) for path in prefix.rglob("*") if path.is_file()}
    pages = {f"share/man/man1/{page}" for page in os.listdir(os.path.join(ROOT, "man"))}
    assert pages <= installed and "share/man/man1/streamchat.1" in installed
    assert {
        "share/bash-completion/completions/streamchat.bash",
        "share/zsh/site-functions/_streamchat",
        "share/fish/vendor_completions.d/streamchat.fish",
    } <= installed
    for path in installed:
        assert (prefix / path).read_bytes() == open(
            os.path.join(ROOT, "man" if "man1" in path else "completions", os.path.basename(path)), "rb"
        ).read()
