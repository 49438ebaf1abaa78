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
        typer.Option(
            "-o",
            "--output",
            metavar=o.one_of(CAMERA_OUTPUTS),
            help="ndjson (a line a frame), mjpeg (raw JPEGs for ffmpeg) or text.",
            rich_help_panel=o.OUT,
        ),
    ] = "ndjson",
    frames: Annotated[
        Optional[int], typer.Option("--frames", min=1, metavar="N", help="Stop after N good frames.", rich_help_panel=FRAMES)
    ] = None,
    duration: Annotated[
        Optional[float],
        typer.Option("--duration", min=0.001, metavar="SECONDS", help="Stop after this many seconds.", rich_help_panel=FRAMES),
    ] = None,
    min_confidence: Annotated[
        Optional[float],
        typer.Option(
            "--min-confidence",
            min=0.0,
            max=1.0,
            metavar="NUMBER",
            help="Keep detections with at least this confidence.",
            rich_help_panel=FRAMES,
        ),
    ] = None,
    class_: Annotated[
        Optional[list[str]],
        typer.Option("--class", metavar="NAME", help="Keep detections of this class (repeatable).", rich_help_panel=FRAMES),
    ] = None,
    save_dir: Annotated[
        Optional[str], typer.Option("--save-dir", metavar="DIR", help="Write each frame as a JPEG file there.", rich_help_panel=o.OUT)
    ] = None,
    annotate: Annotated[
        bool, typer.Option("--annotate", help="Draw the detection boxes and labels on saved frames.", rich_help_panel=o.OUT)
    ] = False,
    include_frame: Annotated[
        bool, typer.Option("--include-frame", help='Add the base64 "frame" to NDJSON lines.', rich_help_panel=o.OUT)
    ] = False,
    forward: Annotated[
        Optional[str],
        typer.Option(
            "--forward", metavar="URL", help="POST each frame to this backend URL (never stalls the stream).", rich_help_panel=o.OUT
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="A bad frame ends the run (status 7).", rich_help_panel=FRAMES)] = False,
    retries: Annotated[
        int,
        typer.Option("--retries", min=0, metavar="N", help="Reconnects in a row after a drop (backoff 1 s·2ⁿ).", rich_help_panel=o.CONN),
    ] = 5,
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
