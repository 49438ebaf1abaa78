"""streamchat against real third-party servers on loopback: LiteLLM's proxy, Hugging Face `transformers serve`,
and (only when asked: `--only openwebui`, `--only llamacpp`, which builds llama.cpp) Open WebUI and
llama-cpp-python's server.

    python3 scripts/interop.py --reuse                       # the streamchat on PATH
    python3 scripts/interop.py --reuse --streamchat /path/to/venv --venvs /work/venvs --only litellm
    python3 scripts/interop.py --reuse --only openwebui       # Open WebUI runs only when asked for

Each server gets a throwaway virtual environment of its own (under --venvs: `litellm`, `hfserve`), made once
and reused with --reuse (installing takes minutes). Everything runs offline on 127.0.0.1; every server started
is stopped by its PID before the script ends. Each step prints PASS, FAIL or SKIP with a one-line reason, and a
summary table ends the run; the exit status is 0 only if no step failed. The servers' logs and the raw bytes
they sent for each kind of request are kept in the work directory (printed at the start), to explain failures.

Too heavy for CI (gigabytes of packages): nothing in tests/ imports it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "interop"))

from envs import HFSERVE, LITELLM, LLAMACPP, OPENWEBUI, ensure  # noqa: E402
from harness import Report, run  # noqa: E402
from hf_steps import HFServeSuite  # noqa: E402
from litellm_steps import LiteLLMSuite  # noqa: E402
from llamacpp_steps import LlamaCppSuite  # noqa: E402
from openwebui_steps import OpenWebUISuite  # noqa: E402

SUITES = {
    "litellm": (LITELLM, LiteLLMSuite),
    "hf": (HFSERVE, HFServeSuite),
    "openwebui": (OPENWEBUI, OpenWebUISuite),
    "llamacpp": (LLAMACPP, LlamaCppSuite),
}
# Open WebUI (7 GB, three servers) and llama.cpp (its first install compiles it) only with --only
DEFAULT_SUITES = ["litellm", "hf"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--streamchat", metavar="PATH", help="a venv (its bin/streamchat is used) or a streamchat executable; default: the one on PATH"
    )
    parser.add_argument(
        "--venvs",
        metavar="DIR",
        type=Path,
        default=Path(os.environ.get("INTEROP_VENVS", Path.home() / ".cache" / "streamchat-interop")),
        help="where the servers' venvs live (default: $INTEROP_VENVS or ~/.cache/streamchat-interop)",
    )
    parser.add_argument("--reuse", action="store_true", help="skip pip when a venv already imports what it needs")
    parser.add_argument("--fresh", action="store_true", help="delete the servers' venvs and install them again")
    parser.add_argument(
        "--only", choices=sorted(SUITES), action="append", help="run only this server's steps (repeatable; openwebui runs only when named)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="where logs, configs, raw answers and the tiny model go (default: a new temporary directory)"
    )
    return parser.parse_args(argv)


def find_streamchat(given: str | None) -> str | None:
    if given is None:
        return shutil.which("streamchat")
    path = Path(given)
    if path.is_dir():
        path = path / "bin" / "streamchat"
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def stop_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the servers are still stopped on the way out."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="streamchat-interop-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"work directory: {workdir}", flush=True)
    report = Report()

    executable = find_streamchat(args.streamchat)
    if executable is None:
        report.add("streamchat", "FAIL", f"no streamchat executable at {args.streamchat or 'PATH'}")
        print(report.summary())
        return 1
    version = run([executable, "--version"], timeout=60)
    report.add("streamchat", "PASS" if version.returncode == 0 else "FAIL", f"{executable}: {version.out.strip() or version.stderr_tail()}")

    suites = []
    try:
        for name in args.only or DEFAULT_SUITES:
            spec, suite_class = SUITES[name]
            venv = args.venvs / spec.name
            suite = suite_class(venv, executable, workdir)
            suites.append(suite)
            plan = suite.plan()
            if not report.run(f"{name}.env", lambda spec=spec, venv=venv: ensure(spec, venv, reuse=args.reuse, fresh=args.fresh)):
                report.skip_all([step.name for step in plan], f"no usable {spec.name} environment")
                continue
            try:
                report.run_plan(plan)
            finally:
                suite.stop()  # before the next server starts: the machine's cores are shared
    except KeyboardInterrupt:
        report.add("interrupted", "FAIL", "the run was interrupted; servers stopped")
    finally:
        for suite in suites:
            suite.stop()
    print(report.summary(), flush=True)
    print(f"logs and raw server answers: {workdir}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
