"""The session layer: chat turns from start to end, whatever carries them (HTTP, WebSocket, Socket.IO, a
recording). ``cli/`` turns options into a call here; ``turn.py`` is the one lifecycle every turn follows."""
