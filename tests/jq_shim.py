"""`jq FILTER` for machines without the jq binary, on the jq package's bindings (libjq itself).

Supports what the README's examples use: -r (raw strings), -c (compact), -e (exit 1 on false/null).
"""

from __future__ import annotations

import json
import sys

import jq


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("-")}
    program = next(a for a in argv if not a.startswith("-"))
    raw = "-r" in flags or "--raw-output" in flags
    compact = "-c" in flags or "--compact-output" in flags
    last = None
    for result in jq.compile(program).input_text(sys.stdin.read()).all():
        last = result
        if raw and isinstance(result, str):
            print(result)
        else:
            print(
                json.dumps(result, ensure_ascii=False, separators=(",", ":"))
                if compact
                else json.dumps(result, ensure_ascii=False, indent=2)
            )
    if "-e" in flags and (last is None or last is False):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
