"""Every Socket.IO `events` payload a live Open WebUI sends for one chat, as JSON lines: the record to
compare streamchat's output with (and with the captures in shared/captures/open-webui/).

    python3 socket_capture.py BASE_URL TOKEN MODEL MESSAGE OUT.jsonl

Run with a Python that has python-socketio (streamchat's own venv has it). It does what the browser
does: connect with the token, user-join, POST /api/chat/completions with session_id, chat_id and id,
and write each payload with its arrival time until `chat:active` false (or 60 s of silence).
"""

from __future__ import annotations

import json
import queue
import sys
import time
import urllib.request
import uuid

import socketio


def main(base: str, token: str, model: str, message: str, out_path: str) -> int:
    if not base.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing to contact {base}: loopback only")
    arrived: queue.Queue = queue.Queue()
    started = time.monotonic()
    client = socketio.Client(reconnection=False)
    client.on("events", lambda payload: arrived.put((round(time.monotonic() - started, 3), payload)))
    client.connect(base, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": token}, wait_timeout=10)
    joined = client.call("user-join", {"auth": {"token": token}}, timeout=10)
    sid = client.get_sid()
    body = {
        "model": model,
        "messages": [{"role": "user", "content": message}],
        "stream": True,
        "session_id": sid,
        "chat_id": f"temporary:{sid}",
        "id": str(uuid.uuid4()),
    }
    post = urllib.request.Request(
        base + "/api/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(post, timeout=60) as answer:
            http = {"status": answer.status, "body": json.loads(answer.read() or b"null")}
    except urllib.error.HTTPError as error:
        http = {"status": error.code, "body": error.read().decode("utf-8", "replace")}
    with open(out_path, "w") as out:
        out.write(json.dumps({"request": body, "joined": joined, "http": http}) + "\n")
        while http["status"] == 200:
            try:
                t, payload = arrived.get(timeout=60)
            except queue.Empty:
                break
            out.write(json.dumps({"t": t, "payload": payload}) + "\n")
            inner = payload.get("data", {}) if isinstance(payload, dict) else {}
            if inner.get("type") == "chat:active" and (inner.get("data") or {}).get("active") is False:
                break
    client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
