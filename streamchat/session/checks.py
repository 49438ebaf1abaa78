"""Smoke-test checks on a completed reply (``--expect``, ``--max-ttft``, ``--min-tps``,
``--fail-on-empty``): a failure is exit 8 and says what was measured (``docs/exit-codes.md#status-8``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import CheckFailedError, UsageError
from .reply import Reply


@dataclass
class Checks:
    expect: str | None = None
    max_ttft_ms: float | None = None
    min_tps: float | None = None
    fail_on_empty: bool = False

    def __post_init__(self) -> None:
        from .inputs import check_finite

        check_finite(self, {"max_ttft_ms": "--max-ttft"})
        if self.expect is not None:
            try:
                self._pattern = re.compile(self.expect)
            except re.error as exc:
                raise UsageError(f"--expect: bad regular expression: {exc}") from None

    def verify(self, reply: Reply) -> None:
        failures = []
        content = reply.content
        if self.fail_on_empty and not content.strip():
            failures.append("the reply is empty (--fail-on-empty)")
        if self.expect is not None and not self._pattern.search(content):
            shown = content if len(content) <= 60 else content[:60] + "…"
            failures.append(f"the reply {shown!r} does not match --expect {self.expect!r}")
        if self.max_ttft_ms is not None:
            ttft = reply.ttft_ms()
            if ttft is None:
                failures.append("no first token to time (--max-ttft)")
            elif ttft > self.max_ttft_ms:
                failures.append(f"first token after {ttft:.0f} ms > --max-ttft {self.max_ttft_ms:g} ms")
        if self.min_tps is not None:
            tps = reply.tps if reply.tps is not None else reply.client_tps()
            source = "server-reported" if reply.tps is not None else "measured"
            if tps is None:
                failures.append("no rate to check (--min-tps)")
            elif tps < self.min_tps:
                failures.append(f"{tps:.1f} tok/s ({source}) < --min-tps {self.min_tps:g}")
        if failures:
            raise CheckFailedError("check failed: " + "; ".join(failures))
