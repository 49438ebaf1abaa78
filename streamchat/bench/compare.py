"""``streamchat bench compare BASE.json NEW.json``: exit 8 when NEW regressed beyond a threshold."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from ..errors import CheckFailedError, UsageError
from .metrics import compare


def compare_files(base_path: str, new_path: str, threshold: float) -> int:
    if not math.isfinite(threshold):
        raise UsageError(f"--threshold: {threshold} is not a finite number")

    def load(path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from exc
        for line in reversed(text.strip().split("\n")):  # a summary, or ndjson ending with one
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and "requests" in value and "ok" in value:
                return value
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict) or "ok" not in value:
            raise UsageError(f"{path}: not a bench summary (bench -o json)")
        return value

    regressions = compare(load(base_path), load(new_path), threshold)
    if regressions:
        raise CheckFailedError("regression: " + "; ".join(regressions))
    print(f"streamchat: no regression beyond {threshold:g} %", file=sys.stderr)
    return 0
