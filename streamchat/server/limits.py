"""The bounds the reference server holds clients to, as plain numbers (the CLI reads them for its
option ranges, so this module imports nothing)."""

MB = 1024 * 1024

# Camera frames a client may ask for per connection (``?width=&height=&fps=``): the same bounds as
# ``serve --width/--height/--fps``, so no request can make the server render more than its operator could.
CAMERA_WIDTH = (16, 7680)
CAMERA_HEIGHT = (16, 4320)
CAMERA_FPS = (0.0, 120.0)  # 0 = as fast as the client reads

MAX_BODY = 64 * MB  # request bodies over this are refused (413) without being read
LIMIT_CONCURRENCY = 2048  # open connections at most; more are closed at once
HEAD_TIMEOUT = 10.0  # seconds for a connection to send a complete request head
IDLE_TIMEOUT = 5.0  # seconds a connection may sit idle between requests
BODY_TIMEOUT = 10.0  # seconds of silence allowed while a request body arrives
