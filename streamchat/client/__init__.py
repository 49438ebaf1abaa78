"""The only code that imports httpx / websockets; their exceptions become StreamchatErrors here."""

import sys

# httpx's package import pulls in its own command-line client (click, rich, pygments: ~50 ms of a
# chat's start) whenever those happen to be installed, as they are next to Typer. We never use it;
# a None entry makes that optional import fail the way httpx expects when they are absent.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
