"""The camera's synthetic scene: a moving box and ball drawn with Pillow, whose detection boxes are
exactly where the shapes are drawn. Rendering runs on one worker thread, never in the event loop: a
large frame takes long enough to stall every other connection (and to delay SIGTERM) otherwise.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

CYCLE = 24  # frames in one loop of the scene; rendered once per size, then reused
CACHED_FRAMES = 4 * CYCLE

Frame = tuple[bytes, list[dict[str, Any]]]


def scene(index: int, width: int, height: int) -> Frame:
    """Frame ``index`` of the loop: JPEG bytes and the detections of what is drawn on it."""
    from PIL import Image, ImageDraw

    index %= CYCLE
    image = Image.new("RGB", (width, height), (40, 44, 52))
    draw = ImageDraw.Draw(image)
    phase = 2 * math.pi * index / CYCLE
    bw, bh = max(4, width // 5), max(4, height // 4)
    bx = int((width - bw) * (0.5 + 0.4 * math.sin(phase)))
    by = int((height - bh) * 0.3)
    draw.rectangle([bx, by, bx + bw - 1, by + bh - 1], fill=(220, 60, 60))
    r = max(2, min(width, height) // 10)
    cx = int(width * 0.25 + (width * 0.5) * (index / CYCLE))
    cy = int(height * 0.7)
    draw.ellipse([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=(60, 180, 90))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    detections = [
        {"class": "box", "confidence": round(0.9 - 0.05 * math.cos(phase), 3), "bbox": [bx, by, bw, bh]},
        {"class": "ball", "confidence": round(0.6 + 0.2 * math.sin(phase), 3), "bbox": [cx - r, cy - r, 2 * r, 2 * r]},
    ]
    return out.getvalue(), detections


class Renderer:
    """Frames of the scene, rendered off the event loop one at a time (a bound on the memory large
    frames take) and kept for reuse: a stream at any rate renders each frame of its size once."""

    def __init__(self) -> None:
        self.cache: OrderedDict[tuple[int, int, int], Frame] = OrderedDict()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="streamchat-render")

    async def frame(self, index: int, width: int, height: int) -> Frame:
        key = (index % CYCLE, width, height)
        found = self.cache.get(key)
        if found is None:
            found = await asyncio.get_running_loop().run_in_executor(self.worker, scene, *key)
            self.cache[key] = found
            while len(self.cache) > CACHED_FRAMES:
                self.cache.popitem(last=False)
        return found

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)
