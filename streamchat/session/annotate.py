"""``camera --annotate``: detection boxes and labels drawn on a saved frame, safely.

A hostile camera can send a frame that claims to be enormous, a truncated JPEG, a box far outside the
image or NaN coordinates: each is a bad frame (counted), never a crash or a runaway allocation.
"""

from __future__ import annotations

from typing import Any

from ..protocol.frames import BadFrame, Frame

ANNOTATE_MAX_PIXELS = 50_000_000  # a frame claiming more is not decoded (65500x65500 would take 12 GB)
LABEL_MAX = 60


def annotate(frame: Frame, detections: list[dict[str, Any]]) -> bytes:
    """The frame with each detection's box and label drawn (what a camera page's canvas draws).

    A frame that cannot be decoded (truncated, too large) is a ``BadFrame``; boxes are clipped to
    the image, however far outside it the server put them."""
    import io
    import warnings

    from PIL import Image, ImageDraw

    if frame.width * frame.height > ANNOTATE_MAX_PIXELS:
        raise BadFrame(f"frame of {frame.width}x{frame.height} pixels is too large to annotate")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(frame.jpeg))
            if image.width * image.height > ANNOTATE_MAX_PIXELS:
                raise BadFrame(f"frame of {image.width}x{image.height} pixels is too large to annotate")
            image = image.convert("RGB")
    except BadFrame:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow fails in many ways on damaged data
        raise BadFrame(f"frame does not decode: {exc or type(exc).__name__}") from None
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for d in detections:
        x, y, w, h = d["bbox"]
        left, top = _clip(x, width), _clip(y, height)
        right, bottom = _clip(x + w - 1, width), _clip(y + h - 1, height)
        if right < left or bottom < top:
            continue  # nothing of it inside the image (or a negative size)
        draw.rectangle([left, top, right, bottom], outline=(0, 255, 0), width=2)
        label = f"{d['class'][:LABEL_MAX]} ({d['confidence'] * 100:.0f}%)"
        draw.text((left + 2, max(0, top - 12)), label, fill=(0, 255, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def _clip(value: float, size: int) -> int:
    """A coordinate as a pixel index just around the image (-1 … size): drawing stays bounded."""
    return int(min(max(value, -1.0), float(size)))


__all__ = ["annotate"]
