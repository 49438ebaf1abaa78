"""`streamchat camera` against the reference server's synthetic camera, over loopback."""

from __future__ import annotations

import io
import re

import pytest
from conftest import clean_env, run_cli
from PIL import Image, ImageChops

from streamchat.protocol.frames import BadFrame, jpeg_size
from streamchat.server.camera import scene
from streamchat.session.camera import camera_url


def cam_url(server, **query):
    q = "&".join(f"{k}={v}" for k, v in {"fps": 0, **query}.items())
    return server.url.replace("http", "ws", 1) + "/ws/stream/{camera_id}?" + q


def test_url_rules():
    assert camera_url("ws://10.0.0.5", "c1") == "ws://10.0.0.5:7103/ws/stream/c1"
    assert camera_url("http://host:9000/", "c1") == "ws://host:9000/ws/stream/c1"
    assert camera_url("wss://h/cams/{camera_id}/live", "c 2") == "wss://h:7103/cams/c 2/live"


def test_jpeg_size_matches_pillow():
    jpeg, _ = scene(3, 321, 123)
    assert jpeg_size(jpeg) == Image.open(io.BytesIO(jpeg)).size == (321, 123)
    with pytest.raises(BadFrame):
        jpeg_size(b"GIF89a")


def test_ndjson_metadata_matches_the_jpeg(server):
    r = run_cli("camera", "cam-a", "--url", cam_url(server, width=320, height=200), "--frames", "4", "--include-frame")
    assert r.code == 0, r.stderr
    lines = r.lines()
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    import base64

    for line in lines:
        jpeg = base64.b64decode(line["frame"])
        assert Image.open(io.BytesIO(jpeg)).size == (line["width"], line["height"]) == (320, 200)
        assert line["bytes"] == len(jpeg) and line["camera_id"] == "cam-a" and line["latency_ms"] >= -1000
        assert {d["class"] for d in line["detections"]} == {"box", "ball"}
    assert "4 frames" in r.stderr and "0 bad frames" in r.stderr


def test_mjpeg_is_byte_identical_to_what_was_sent(server):
    r = run_cli("camera", "cam-mjpeg", "--url", cam_url(server), "-o", "mjpeg", "--frames", "5")
    assert r.code == 0, r.stderr
    sent = server.app.state.camera.sent["cam-mjpeg"][:5]
    assert r.stdout == b"".join(sent)


def test_filters(server):
    r = run_cli("camera", "cam-f", "--url", cam_url(server), "--frames", "6", "--class", "ball", "--min-confidence", "0.7")
    lines = r.lines()
    assert all(d["class"] == "ball" and d["confidence"] >= 0.7 for line in lines for d in line["detections"])
    assert any(line["detections"] for line in lines) and any(not line["detections"] for line in lines)


def test_text_is_one_line_a_frame(server):
    r = run_cli("camera", "cam-t", "--url", cam_url(server), "-o", "text", "--frames", "3")
    assert r.code == 0 and len(r.out.splitlines()) == 3 and r.out.startswith("cam-t #1 640x360")


def test_save_and_annotate(server, tmp_path):
    import base64

    raw_dir, ann_dir = tmp_path / "raw", tmp_path / "ann"
    r = run_cli("camera", "cam-s", "--url", cam_url(server), "--frames", "2", "--save-dir", str(raw_dir))
    assert r.code == 0
    lines = r.lines()
    sent = server.app.state.camera.sent["cam-s"]
    assert (raw_dir / "cam-s-000001.jpg").read_bytes() == sent[0]
    assert lines[0]["path"] == str(raw_dir / "cam-s-000001.jpg")
    r = run_cli("camera", "cam-s", "--url", cam_url(server), "--frames", "1", "--save-dir", str(ann_dir), "--annotate", "--include-frame")
    assert r.code == 0
    line = r.lines()[0]
    raw = Image.open(io.BytesIO(base64.b64decode(line["frame"]))).convert("L")
    ann = Image.open(ann_dir / "cam-s-000001.jpg").convert("L")
    diff = ImageChops.difference(raw, ann)
    near = Image.new("L", raw.size, 0)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(near)
    for d in line["detections"]:
        x, y, w, h = d["bbox"]
        draw.rectangle([x - 8, y - 24, x + w + 8, y + h + 8], fill=255)
    far = ImageChops.multiply(diff, ImageChops.invert(near))
    assert max(far.get_flattened_data()) < 40  # only JPEG re-encoding noise away from the boxes
    inside = ImageChops.multiply(diff, near)
    assert max(inside.get_flattened_data()) > 100  # the green boxes and labels


def test_bad_frames_are_counted_not_fatal(server):
    r = run_cli("camera", "cam-b", "--url", cam_url(server), "--frames", "4", "-H", "X-Streamchat-Fault: bad-base64=2;not-jpeg=3;missing=4")
    assert r.code == 0, r.stderr
    types = [line["type"] for line in r.lines()]
    assert types.count("error") == 3 and types.count("frame") == 4
    assert "3 bad frames" in r.stderr
    r = run_cli("camera", "cam-b", "--url", cam_url(server), "--frames", "4", "--strict", "-H", "X-Streamchat-Fault: not-jpeg=2")
    assert r.code == 7
    assert [line.get("code") for line in r.lines()] == [None, "bad_frame", "protocol_error"]  # as data too, the run's code last


def test_drop_reconnects_and_totals(server):
    r = run_cli("camera", "cam-r", "--url", cam_url(server), "--frames", "6", "-H", "X-Streamchat-Fault: drop-after=3;count=1;id=cam-r")
    assert r.code == 0, r.stderr
    assert [line["seq"] for line in r.lines()] == [1, 2, 3, 4, 5, 6]
    assert "1 drops" in r.stderr and "1 reconnects" in r.stderr
    assert server.app.state.camera.connections["cam-r"] == 2


def test_clean_close_without_limits_ends_with_0(server):
    r = run_cli("camera", "cam-c", "--url", cam_url(server), "-H", "X-Streamchat-Fault: close-after=3;code=1000")
    assert r.code == 0, r.stderr
    assert len(r.lines()) == 3


def test_gives_up_after_retries(server):
    # drops right after the handshake, before any frame: the failures are in a row
    r = run_cli("camera", "cam-g", "--url", cam_url(server), "--frames", "5", "--retries", "1", "-H", "X-Streamchat-Fault: drop-after=0")
    assert r.code == 3 and "1 reconnects" in r.stderr


def test_forward_reaches_the_sink_with_the_token(auth_server):
    camera = auth_server.app.state.camera
    before = len(camera.forwarded)
    env = clean_env(STREAMCHAT_TOKEN="s3cret-token-value")
    r = run_cli(
        "camera",
        "cam-fw",
        "--url",
        cam_url(auth_server),
        "--frames",
        "5",
        "--forward",
        auth_server.url + "/api/v1/actions/actions/send",
        env=env,
    )
    assert r.code == 0, r.stderr
    got = camera.forwarded[before:]
    assert len(got) == 5 and {g["streamName"] for g in got} == {"webcam"} and got[0]["camera_id"] == "cam-fw"
    assert set(camera.forward_auth[before:]) == {"Bearer s3cret-token-value"}
    assert "forwarded 5 (0 dropped, 0 failed)" in r.stderr


def test_auth_and_timeouts(auth_server, server):
    r = run_cli("camera", "c", "--url", cam_url(auth_server), "--frames", "1")
    assert r.code == 5
    r = run_cli(
        "camera", "c", "--url", cam_url(server), "--frames", "5", "--read-timeout", "0.5", "-H", "X-Streamchat-Fault: stall-after=2"
    )
    assert r.code == 4


def test_duration(server):
    r = run_cli("camera", "cam-d", "--url", cam_url(server, fps=20), "--duration", "0.5")
    assert r.code == 0 and 3 <= len(r.lines()) <= 20


def test_annotate_needs_save_dir(cli):
    r = cli("camera", "c", "--annotate")
    assert r.code == 2


def test_closed_stdout_ends_quietly(server):
    import subprocess
    import sys

    cmd = f"'{sys.executable}' -m streamchat camera c --url '{cam_url(server, fps=20)}' -o mjpeg --frames 100 | head -c 100 > /dev/null; echo \"status=${{PIPESTATUS[0]}}\" >&2"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, env=clean_env(), timeout=60)
    assert proc.stderr.decode().strip() == "status=141"


def test_forward_to_a_backend_that_never_answers_cannot_stretch_the_run(server):
    """--duration bounds the whole run, the forwarder's drain included; frames it never delivered are
    counted as dropped, and the rates are the stream's."""
    import socket
    import threading
    import time

    held: list[socket.socket] = []
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)

    def accept() -> None:  # takes connections and the requests on them, answers nothing
        while True:
            try:
                conn, _ = sink.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        began = time.monotonic()
        backend = f"http://127.0.0.1:{sink.getsockname()[1]}/frames"
        r = run_cli("camera", "cam-f", "--url", cam_url(server, fps=20), "--duration", "1", "--forward", backend)
        took = time.monotonic() - began
    finally:
        sink.close()
        for conn in held:
            conn.close()
    assert r.code == 0, r.stderr
    assert took < 4.0, f"ran {took:.1f} s for --duration 1"  # about 1 s; the drain used to add 5
    dropped = int(re.search(r"forwarded 0 \((\d+) dropped", r.stderr).group(1))
    assert dropped >= len(r.lines()) - 2, r.stderr  # every frame but the one in flight (and one being queued)
