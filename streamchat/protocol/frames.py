"""Camera frames (``docs/protocols.md#camera``): checking, JPEG size, detection filters. Pure."""

from __future__ import annotations

import binascii
from base64 import b64decode
from dataclasses import dataclass
from typing import Any

from . import strict_json


@dataclass
class Frame:
    camera_id: str
    timestamp: float
    jpeg: bytes
    width: int
    height: int
    detections: list[dict[str, Any]]
    encoded: str  # the base64 text as received (for --include-frame and --forward)


class BadFrame(ValueError):
    """A frame that cannot be used: counted and reported, fatal only with --strict."""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's start-of-frame marker, without decoding the image."""
    if not data.startswith(b"\xff\xd8"):
        raise BadFrame("not a JPEG (no SOI marker)")
    pos = 2
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            raise BadFrame("malformed JPEG (marker expected)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > size:
                break
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        if marker == 0xDA:
            break
        pos += 2 + length
    raise BadFrame("malformed JPEG (no frame header)")


def parse_frame(text: str) -> Frame:
    """One WebSocket message → a checked Frame, or BadFrame saying what is wrong."""
    try:
        obj = strict_json.loads(text)  # a non-finite number reads as absent: such a detection is dropped
    except ValueError as exc:
        raise BadFrame(f"frame is not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise BadFrame("frame is not a JSON object")
    missing = [key for key in ("frame", "timestamp", "camera_id") if key not in obj]
    if missing:
        raise BadFrame(f"frame without {', '.join(missing)}")
    encoded, timestamp, camera_id = obj["frame"], obj["timestamp"], obj["camera_id"]
    if not isinstance(encoded, str) or isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise BadFrame("frame has the wrong types (frame: base64 text, timestamp: ms)")
    try:
        jpeg = b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadFrame("frame is not valid base64") from exc
    width, height = jpeg_size(jpeg)
    detections = obj.get("detections") or []
    if not isinstance(detections, list):
        raise BadFrame("detections is not a list")
    clean = [d for d in detections if _detection_ok(d)]
    return Frame(str(camera_id), timestamp, jpeg, width, height, clean, encoded)


def _detection_ok(d: Any) -> bool:
    if not isinstance(d, dict) or not isinstance(d.get("class"), str):
        return False
    confidence = d.get("confidence")
    bbox = d.get("bbox")
    return (
        isinstance(confidence, (int, float))
        and isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
    )


def keep_detections(detections: list[dict[str, Any]], min_confidence: float | None, classes: list[str]) -> list[dict[str, Any]]:
    """``--min-confidence`` keeps confidence ≥ X; ``--class`` (repeatable) keeps those classes."""
    out = detections
    if min_confidence is not None:
        out = [d for d in out if d["confidence"] >= min_confidence]
    if classes:
        wanted = set(classes)
        out = [d for d in out if d["class"] in wanted]
    return out
