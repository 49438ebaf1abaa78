"""``streamchat camera``: a camera's JPEG frame stream with detections, over WebSocket."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand

EXAMPLES = """
Examples:

\b
  streamchat camera cam1 --frames 10                            # built-in demo camera, NDJSON
  streamchat camera cam1 --url ws://127.0.0.1:7103 -o text
  streamchat camera cam1 -o mjpeg --duration 10 | ffplay -f mjpeg -
  streamchat camera cam1 -o mjpeg --frames 300 | ffmpeg -f mjpeg -i - out.mp4
  streamchat camera cam1 --save-dir frames --annotate --class person --min-confidence 0.5
"""
CAMERA_OUTPUTS = ("ndjson", "mjpeg", "text")
FRAMES = "Frames"


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
def camera(
    camera_id: Annotated[
        str, typer.Argument(metavar="CAMERA_ID", help="The camera id: the stream is /ws/stream/CAMERA_ID.", show_default=False)
    ],
    url: o.Url = None,
    token: o.Token = None,
    token_file: o.TokenFile = None,
    header: o.Header = None,
    output: Annotated[
        Literal[CAMERA_OUTPUTS],  # type: ignore[valid-type],
        o.option("-o --output", o.one_of(CAMERA_OUTPUTS), "ndjson (a line a frame), mjpeg (raw JPEGs for ffmpeg) or text.", o.OUT),
    ] = "ndjson",
    frames: Annotated[Optional[int], o.option("--frames", "N", "Stop after N good frames.", FRAMES, min=1)] = None,
    duration: Annotated[Optional[float], o.option("--duration", "SECONDS", "Stop after this many seconds.", FRAMES, min=0.001)] = None,
    min_confidence: Annotated[
        Optional[float], o.option("--min-confidence", "NUMBER", "Keep detections with at least this confidence.", FRAMES, min=0.0, max=1.0)
    ] = None,
    class_: Annotated[Optional[list[str]], o.option("--class", "NAME", "Keep detections of this class (repeatable).", FRAMES)] = None,
    save_dir: Annotated[Optional[str], o.option("--save-dir", "DIR", "Write each frame as a JPEG file there.", o.OUT)] = None,
    annotate: Annotated[bool, o.flag("--annotate", "Draw the detection boxes and labels on saved frames.", o.OUT)] = False,
    include_frame: Annotated[bool, o.flag("--include-frame", 'Add the base64 "frame" to NDJSON lines.', o.OUT)] = False,
    forward: Annotated[
        Optional[str], o.option("--forward", "URL", "POST each frame to this backend URL (never stalls the stream).", o.OUT)
    ] = None,
    strict: Annotated[bool, o.flag("--strict", "A bad frame ends the run (status 7).", FRAMES)] = False,
    retries: Annotated[int, o.option("--retries", "N", "Reconnects in a row after a drop (backoff 1 s·2ⁿ).", o.CONN, min=0)] = 5,
    connect_timeout: o.ConnectTimeout = 10.0,
    read_timeout: o.ReadTimeout = 60.0,
    ping_interval: o.PingInterval = 30.0,
    max_message_size: o.MaxMessageSize = "50MB",
    insecure: o.Insecure = False,
    cacert: o.CACert = None,
    quiet: o.Quiet = False,
) -> int:
    """Receive a camera's frame stream over WebSocket."""
    from ..env import Environment
    from ..session.camera import CameraOptions, camera
    from ..session.settings import ChatArgs

    args = ChatArgs.from_locals({**locals(), "retries": 0})  # (the connection's own retries: reconnects are --retries)
    opts = CameraOptions(
        output,
        frames,
        duration,
        min_confidence,
        list(class_ or []),
        save_dir,
        annotate,
        include_frame,
        strict,
        forward,
        None,
        retries,
        quiet,
    )
    return camera(args, Environment(), camera_id, opts)
