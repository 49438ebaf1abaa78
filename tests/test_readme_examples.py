"""Every ```sh example in the README runs here against the built-in server (```shell blocks are install
and setup steps, or servers that run until stopped: not run). Hosts in the examples are rewritten to
the test server; the files they mention are made first; `streamchat` and (if missing) `jq` are on PATH.
A bench's ``--rate`` is multiplied by ten: the example's options, not its minutes, are under test.

Each test runs in a directory of its own. Examples that read a file an earlier one wrote (``bench
compare base.json new.json``) run together, in README order, as one test: no test needs another's files.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ROOT, clean_env

from streamchat.server.openwebui import DEMO_TOKEN


def examples() -> list[str]:
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    found = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                found.append(command)
    return found


def cases(commands: list[str]) -> list[list[str]]:
    """The examples, each alone, except those sharing a file they write (chained, in README order)."""
    made_first = {"questions.txt", "servers.txt"}  # the fixture's files: shared by any number of independent examples
    files = [set(re.findall(r"[\w-]+\.(?:json|ndjson|html|txt)\b", command)) - made_first for command in commands]
    chained: list[list[int]] = []
    for index in range(len(commands)):
        sharing = [c for c in chained if any(files[index] & files[other] for other in c)]
        merged = sorted({i for c in sharing for i in c} | {index})
        chained = [c for c in chained if c not in sharing] + [merged]
    chained.sort(key=lambda chain: chain[0])
    return [[commands[i] for i in chain] for chain in chained]


def case_id(chain: list[str]) -> str:
    return chain[0] if len(chain) == 1 else f"{len(chain)} examples from: {chain[0]}"


def expectation(command: str) -> tuple[set[int], str | None]:
    """(allowed exit statuses, expected last stdout line) from the example's own comment."""
    if "exit 8 on a regression" in command:
        return {0, 8}, None  # two real runs: whether the second regressed is the machine's business
    printed = re.search(r";\s*echo \$\?\s*#\s*(\d+)\s*$", command)
    if printed:
        return {0}, printed.group(1)
    return {0}, None


def rewrite(command: str, base: str) -> str:
    ws = base.replace("http://", "ws://", 1)
    for pattern, replacement in (
        (r"https://host", base),
        (r"wss://host", ws),
        (r"https://api\.anthropic\.com", base),
        (r"http://127\.0\.0\.1:(8000|8080)", base),
        (r"ws://127\.0\.0\.1:(8000|7103)", ws),
    ):
        command = re.sub(pattern, replacement, command)
    return re.sub(r"--rate (\d+)", lambda m: f"--rate {int(m.group(1)) * 10}", command)


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> str:
    """A bin directory with `streamchat` (this environment's) and, where the binary is missing, `jq`."""
    bin_dir = tmp_path_factory.mktemp("readme-bin")
    shim = bin_dir / "streamchat"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m streamchat "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    if shutil.which("jq") is None:  # a fresh CI machine: the jq package's bindings, as a `jq` command
        jq = bin_dir / "jq"
        jq.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT}/tests/jq_shim.py" "$@"\n')
        jq.chmod(jq.stat().st_mode | stat.S_IEXEC)
    return str(bin_dir)


def make_workdir(path, base: str):
    """The files the examples mention, as a user following the README would have them (the servers
    in servers.txt: two endpoints of the test server)."""
    from PIL import Image

    (path / "main.py").write_text("print('hello')\n")
    (path / "questions.txt").write_text("What is SSE?\nAnd WebSocket?\n")
    (path / "servers.txt").write_text(f"{base}/api/chat/stream\n{base}/v1/chat/completions\n")
    Image.new("RGB", (32, 24), (200, 30, 30)).save(path / "photo.jpg", "JPEG")
    return path


def run_chain(chain: list[str], workdir, env: dict[str, str], base: str) -> list[tuple[str, str, subprocess.CompletedProcess]]:
    """Each example of a chain in bash, in order, in ``workdir``: (example, what ran, result)."""
    done = []
    for command in chain:
        run = rewrite(command, base)
        done.append(
            (
                command,
                run,
                subprocess.run(["bash", "-o", "pipefail", "-c", run], cwd=workdir, env=env, capture_output=True, text=True, timeout=120),
            )
        )
    return done


@pytest.fixture(scope="module")
def runs(request, tools, server, tmp_path_factory):
    """Every selected chain of this module, started as the module begins, four at a time: an example
    spends most of its time waiting (a Python start, a paced reply, a bench's requests), so running them
    side by side takes a quarter of the time. Each chain has a directory of its own; each test then
    checks its own chain's results. (``--dist loadscope`` gives one worker the whole module.)"""
    env = clean_env(
        PATH=f"{tools}{os.pathsep}{os.environ.get('PATH', '')}",
        CHAT_URL=server.url + "/api/chat/stream",
        OPENWEBUI_JWT=DEMO_TOKEN,
        ANTHROPIC_API_KEY="sk-ant-example",
    )
    selected = [
        item.callspec.params["chain"] for item in request.session.items if item.module is request.module and hasattr(item, "callspec")
    ]
    selected.sort(key=lambda chain: "streamchat bench" not in " ".join(chain))  # the longest first: no long one starts last
    with ThreadPoolExecutor(4) as pool:
        started = {
            tuple(chain): pool.submit(run_chain, chain, make_workdir(tmp_path_factory.mktemp("readme"), server.url), env, server.url)
            for chain in selected
        }
        yield started
        for future in started.values():
            future.cancel()


@pytest.mark.parametrize("chain", cases(examples()), ids=case_id)
def test_readme_example_runs(chain, runs):
    for command, run, r in runs[tuple(chain)].result():
        allowed, last_line = expectation(command)
        assert r.returncode in allowed, f"{command}\n→ {run}\nexit {r.returncode}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr
        if last_line is not None:
            assert r.stdout.strip().splitlines()[-1] == last_line, r.stdout


def test_the_jq_stand_in_behaves_like_jq():
    shim = [sys.executable, os.path.join(ROOT, "tests", "jq_shim.py")]
    run = lambda args, data: subprocess.run(shim + args, input=data, capture_output=True, text=True)  # noqa: E731
    assert run(["-r", 'select(.type=="content").text'], '{"type":"content","text":"a"}\n{"type":"done"}\n').stdout == "a\n"
    assert run(["-c", "."], '{"a": [1, 2]}').stdout == '{"a":[1,2]}\n'
    assert run(["-e", ".done"], '{"done": false}').returncode == 1
    assert run(["-e", ".done"], '{"done": true}').returncode == 0
