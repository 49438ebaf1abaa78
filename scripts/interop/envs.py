"""Throwaway virtual environments for the third-party servers, kept apart from streamchat's own.

Installing is slow (LiteLLM about 2 minutes, transformers with CPU torch about 6), so an environment is made
once and reused: `--reuse` skips pip entirely when the environment already imports what it needs, `--fresh`
deletes it first. Upper bounds stop a future major version from changing what is compared without notice.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import StepFailed, run

VERSIONS_CODE = "import importlib.metadata as m, sys; print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))"


@dataclass(frozen=True)
class EnvSpec:
    name: str
    requirements: tuple[str, ...]
    imports: tuple[str, ...]
    executable: str
    reported: tuple[str, ...]


LITELLM = EnvSpec(
    name="litellm",
    requirements=("litellm[proxy]>=1.70,<2", "openai>=1.60,<4", "anthropic>=0.40,<3"),
    imports=("litellm", "openai", "anthropic"),
    executable="litellm",
    reported=("litellm", "openai", "anthropic"),
)

# torch exactly 2.13.0: the CPU build of that version is what a local wheel cache holds on the machines this was
# written for; any other version makes pip fetch gigabytes of CUDA libraries.
HFSERVE = EnvSpec(
    name="hfserve",
    requirements=("torch==2.13.0", "transformers[serving]>=5,<6", "tokenizers<1", "openai>=1.60,<4"),
    imports=("torch", "transformers", "tokenizers", "openai", "fastapi", "uvicorn"),
    executable="transformers",
    reported=("torch", "transformers", "tokenizers", "openai"),
)

# llama-cpp-python builds llama.cpp from source (about 12 minutes on 2 cores); torch, transformers and tokenizers
# build the tiny model (tiny_model.py, as for transformers serve), gguf and safetensors write it as GGUF.
LLAMACPP = EnvSpec(
    name="llamacpp-server",
    requirements=(
        "llama-cpp-python[server]>=0.3.30,<0.4",
        "gguf>=0.17,<1",
        "safetensors<1",
        "torch==2.13.0",
        "transformers>=5,<6",
        "tokenizers<1",
        "openai>=1.60,<4",
    ),
    imports=("llama_cpp.server", "gguf", "safetensors", "torch", "transformers", "tokenizers", "openai"),
    executable="python",
    reported=("llama_cpp_python", "gguf", "torch", "transformers", "openai"),
)


# Exactly the version whose socket traffic is captured in shared/captures/open-webui/ and that the
# Open WebUI steps were written against (about 10 minutes and 7 GB to install).
OPENWEBUI = EnvSpec(
    name="openwebui",
    requirements=("open-webui==0.12.4",),
    imports=("open_webui",),
    executable="open-webui",
    reported=("open-webui",),
)


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def imports_work(venv: Path, spec: EnvSpec) -> bool:
    if not python_of(venv).exists() or not (venv / "bin" / spec.executable).exists():
        return False
    return run([str(python_of(venv)), "-c", "import " + ", ".join(spec.imports)], timeout=300).returncode == 0


def ensure(spec: EnvSpec, venv: Path, *, reuse: bool, fresh: bool) -> str:
    """Make the environment usable; return a one-line account of what was done and the versions in it."""
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if reuse and imports_work(venv, spec):
        action = "reused"
    else:
        if not python_of(venv).exists():
            created = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
            if created.returncode != 0:
                raise StepFailed(f"python -m venv {venv} failed: {created.stderr_tail()}")
        installed = run([str(python_of(venv)), "-m", "pip", "install", "-q", *spec.requirements], timeout=3600)
        if installed.returncode != 0:
            raise StepFailed(f"pip install {' '.join(spec.requirements)} failed: {installed.stderr_tail()}")
        if not imports_work(venv, spec):
            raise StepFailed(f"after pip install, {venv} still cannot import {', '.join(spec.imports)}")
        action = f"installed in {installed.seconds:.0f} s"
    versions = run([str(python_of(venv)), "-c", VERSIONS_CODE, *spec.reported], timeout=120)
    return f"{venv} {action}: {versions.out.strip()}"
