"""A hostile camera server: frames that cannot be annotated are bad frames (counted; fatal only with
--strict), numbers that are not finite never reach stdout, and an unwritable --save-dir is refused
before connecting."""

from __future__ import annotations

import base64
import io
import json
import os

import orjson
import pytest
from conftest import run_cli
from hostile_servers import close_frame, text_frames, ws_server
from PIL import Image


def jpeg(size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(out, "JPEG")
    return out.getvalue()


def claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header claims another size (a decompression bomb's header)."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def frame(data: bytes, *, bbox="[1, 1, 8, 8]", confidence="0.9", timestamp="1700000000000") -> bytes:
    """A frame message written by hand, so numbers can be NaN, Infinity or 1e999."""
    detection = f'{{"class": "person", "confidence": {confidence}, "bbox": {bbox}}}'
    encoded = base64.b64encode(data).decode()
    return f'{{"frame": "{encoded}", "timestamp": {timestamp}, "camera_id": "c1", "detections": [{detection}]}}'.encode()


HOSTILE_FRAMES = [
    frame(jpeg()),
    frame(jpeg(), bbox="[NaN, 1, 2, 3]"),  # the detection reads as absent
    frame(claiming(65500, 65500)),  # bad: too large to decode
    frame(jpeg()[:300]),  # bad: truncated
    frame(jpeg(), bbox="[-1e308, 1e308, 1e308, 1e308]"),  # drawn clipped to the image
    frame(jpeg(), confidence="NaN"),  # the detection reads as absent
    frame(jpeg(), timestamp="1e999"),  # bad: no usable timestamp
]


def camera(tmp_path, *args):
    script = [text_frames(*HOSTILE_FRAMES), close_frame(1000)]
    with ws_server(script, wait_for_message=False, path="/ws/stream/c1") as (url, seen):
        r = run_cli("camera", "c1", "--url", url, "--save-dir", str(tmp_path / "frames"), "--annotate", *args)
    return r, seen


def test_annotate_survives_hostile_frames_and_counts_them(tmp_path):
    # before: internal errors (ValueError on a NaN bbox, DecompressionBombError, OSError on a truncated JPEG)
    r, _ = camera(tmp_path)
    assert r.code == 0, r.stderr
    lines = [orjson.loads(line) for line in r.stdout.splitlines()]  # strict: no NaN anywhere
    assert [line["type"] for line in lines] == ["frame", "frame", "error", "error", "frame", "frame", "error"]
    assert [len(line["detections"]) for line in lines if line["type"] == "frame"] == [1, 0, 1, 0]
    assert "4 frames" in r.stderr and "3 bad frames" in r.stderr
    saved = sorted(os.listdir(tmp_path / "frames"))
    assert len(saved) == 4 and all(Image.open(tmp_path / "frames" / name).size == (32, 24) for name in saved)


def test_a_bad_frame_is_fatal_with_strict(tmp_path):
    r, _ = camera(tmp_path, "--strict")
    assert r.code == 7 and "bad frame" in r.stderr and "too large" in r.stderr, r.stderr
    lines = r.stdout.splitlines()
    # the bad frame as every bad frame is reported, then the run's failure with its exit status's code, last
    assert len(lines) == 4 and json.loads(lines[-2])["code"] == "bad_frame", lines
    assert json.loads(lines[-1]) == {"type": "error", "message": json.loads(lines[-1])["message"], "code": "protocol_error"}


@pytest.fixture
def unwritable_dir(tmp_path):
    """An existing directory that takes no files: read-only for a user; /sys for root (who ignores modes)."""
    if os.geteuid() == 0:
        return "/sys"
    path = tmp_path / "ro"
    path.mkdir()
    path.chmod(0o500)
    return str(path)


def test_an_unwritable_save_dir_is_status_2_before_connecting(unwritable_dir):
    # before: connected, then "internal error: PermissionError" at the first frame
    with ws_server([text_frames(frame(jpeg()))], wait_for_message=False, path="/ws/stream/c1") as (url, seen):
        r = run_cli("camera", "c1", "--url", url, "--save-dir", unwritable_dir, "--frames", "1")
    assert r.code == 2 and "cannot write to --save-dir" in r.stderr, r.stderr
    assert seen.connections == 0


def test_camera_output_is_strict_json_with_non_finite_numbers():
    frames = [frame(jpeg(), confidence="Infinity"), frame(jpeg(), bbox="[1, 2, 1e999, 4]"), frame(jpeg(), timestamp="NaN")]
    with ws_server([text_frames(*frames), close_frame(1000)], wait_for_message=False, path="/ws/stream/c1") as (url, _):
        r = run_cli("camera", "c1", "--url", url)
    assert r.code == 0, r.stderr
    lines = [orjson.loads(line) for line in r.stdout.splitlines()]
    assert [(line["type"], len(line.get("detections", []))) for line in lines] == [("frame", 0), ("frame", 0), ("error", 0)]
    assert json.dumps(lines).count("NaN") == 0


@pytest.mark.parametrize("camera_id", ["a" * 300, "é" * 200, "../" * 100])
def test_a_long_camera_id_still_names_a_file_the_save_dir_takes(tmp_path, camera_id):
    # before: "could not save frame ...: File name too long" (exit 2) at the first frame, after connecting
    with ws_server([text_frames(frame(jpeg()))], wait_for_message=False, path="/ws/stream/x") as (url, _):
        r = run_cli("camera", camera_id, "--url", url, "--save-dir", str(tmp_path), "--frames", "1")
    assert r.code == 0, r.stderr
    (saved,) = [p for p in os.listdir(tmp_path) if p.endswith(".jpg")]
    assert len(saved.encode()) <= 255 and "/" not in saved
    assert json.loads(r.stdout.splitlines()[0])["path"] == str(tmp_path / saved)
