"""Files and standard streams that cannot take what streamchat writes, and inputs that cannot be read
whole: a usage or write error (status 2) with one line on stderr, never an internal error or a hang.

``-C`` appends are all or nothing: a failed write leaves the file byte-identical.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from contextlib import suppress

import pytest
from conftest import ROOT, clean_env, run_cli
from hostile_servers import http_response, http_server, sse

REPLY = sse(b'{"choices":[{"delta":{"content":"the reply"}}]}', b"[DONE]")
TURNS = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "a reply " * 40}]


def shell(command: str, **env: str) -> subprocess.CompletedProcess:
    """A shell line (for redirections like >&-), ``streamchat`` being this checkout's."""
    full = f"{sys.executable} -m streamchat {command}"
    return subprocess.run(["sh", "-c", full], capture_output=True, env=clean_env(**env), cwd=ROOT, timeout=60)


# -- -C: where it may point, and all-or-nothing appends ----------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_conversation_path_that_is_no_regular_file_is_refused_before_any_request(tmp_path, kind):
    # before: a FIFO blocked forever; a device or directory failed after the reply
    path = {"fifo": tmp_path / "fifo", "device": "/dev/null", "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    with http_server([http_response(REPLY)]) as (url, seen):
        for command in ("chat", "ws-chat"):
            target = url if command == "chat" else url.replace("http", "ws", 1)
            r = run_cli(command, "--url", target, "-C", str(path), "Hi", timeout=20)
            assert r.code == 2 and "not a regular file" in r.stderr, r.stderr
    assert seen.connections == 0


def failing_write(after: int, code: int):
    """An os.write that writes ``after`` bytes, then fails the way a full or broken disk does."""
    state = {"left": after}

    def write(fd: int, data: memoryview) -> int:
        if state["left"] <= 0:
            raise OSError(code, os.strerror(code))
        written = os.write(fd, data[: state["left"]])
        state["left"] -= written
        return written

    return write


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
@pytest.mark.parametrize("after", [0, 1, 100])
def test_a_failed_append_leaves_the_file_byte_identical(tmp_path, code, after):
    from streamchat.errors import WriteFailedError
    from streamchat.session.inputs import append_conversation

    conv = tmp_path / "talk.ndjson"
    before = b'{"role": "user", "content": "old"}\n{"role": "assistant", "content": "no newline at the end"}'
    conv.write_bytes(before)
    with pytest.raises(WriteFailedError, match="could not save the conversation: .*; the file is unchanged"):
        append_conversation(str(conv), TURNS, write=failing_write(after, code))
    assert conv.read_bytes() == before


def test_a_failed_first_append_leaves_no_file(tmp_path):
    from streamchat.errors import WriteFailedError
    from streamchat.session.inputs import append_conversation

    conv = tmp_path / "new.ndjson"
    with pytest.raises(WriteFailedError):
        append_conversation(str(conv), TURNS, write=failing_write(10, errno.ENOSPC))
    assert not conv.exists()


@pytest.mark.parametrize("text", ['[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]', "\n  [\n]\n"])
def test_a_conversation_file_that_is_a_json_array_is_refused_before_any_request(tmp_path, text):
    # before: it was read (as --history reads an array), the turn's NDJSON lines were appended after
    # the array, and the next turn found the file unreadable ("invalid JSON: Extra data")
    conv = tmp_path / "talk.json"
    conv.write_text(text)
    with http_server([http_response(REPLY)]) as (url, seen):
        for command in ("chat", "ws-chat"):
            r = run_cli(command, "--url", url, "-C", str(conv), "-o", "ndjson", "Hi")
            assert r.code == 2 and "is a JSON array" in r.stderr and "--history" in r.stderr, r.stderr
            assert r.stdout == b""
        assert seen.requests == []
    assert conv.read_text() == text


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 64 KB tmpfs (root only): a disk that really fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_leaves_the_conversation_file_byte_identical(small_tmpfs):
    # before: half a turn written ('{"role"'), "internal error: OSError ENOSPC", the file unreadable after
    conv = small_tmpfs / "talk.ndjson"
    before = b'{"role": "user", "content": "old"}\n{"role": "assistant", "content": "kept"}\n'
    conv.write_bytes(before)
    filler = small_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as fh, suppress(OSError):
        while True:
            fh.write(b"x" * 512)
            fh.flush()
    content = json.dumps({"choices": [{"delta": {"content": "long " * 3000}}]}).encode()
    with http_server([http_response(sse(content, b"[DONE]"))]) as (url, _):
        r = run_cli("chat", "--url", url, "-q", "-C", str(conv), "Hi")
    assert r.code == 2, r.stderr
    assert "could not save the conversation: No space left on device; the file is unchanged" in r.stderr
    assert r.stdout.startswith(b"long long")  # the reply was shown before the save failed
    assert conv.read_bytes() == before
    filler.unlink()
    with http_server([http_response(REPLY)]) as (url, _):
        assert run_cli("chat", "--url", url, "-q", "-C", str(conv), "again").code == 0  # the file still reads


# -- --record and stdout on a full disk ----------------------------------------------------------------


def test_record_on_a_full_disk_is_status_2_after_the_output():
    # before: "internal error: OSError" (exit 1)
    with http_server([http_response(REPLY)]) as (url, _):
        r = run_cli("chat", "--url", url, "-q", "--record", "/dev/full", "Hi")
    assert r.code == 2 and r.stdout == b"the reply\n", r.stderr
    assert "could not write the recording '/dev/full': No space left on device" in r.stderr


@pytest.mark.parametrize("mode", ["ndjson", "json"])
def test_record_on_a_full_disk_is_a_failure_in_the_data_too(mode, server):
    """The failure is data like any other: the ndjson stream ends with a write_failed error line, the
    json object has that error and done false; chat and ws-chat alike."""
    for command, url in (("chat", server.url + "/api/chat/stream"), ("ws-chat", server.url.replace("http", "ws", 1) + "/api/chat/ws")):
        r = run_cli(command, "--url", url, "-q", "-o", mode, "--record", "/dev/full", "Hi")
        assert r.code == 2, (command, r.stderr)
        lines = r.stdout.decode().splitlines()
        error = json.loads(lines[-1]) if mode == "ndjson" else json.loads(r.stdout)["error"]
        assert error["code"] == "write_failed" and "/dev/full" in error["message"], (command, lines)
        if mode == "json":
            assert json.loads(r.stdout)["done"] is False


@pytest.mark.parametrize("args", [["chat", "-o", "ndjson", "URL", "Hi"], ["chat", "URL", "Hi"], ["config"], ["--version"]])
def test_stdout_on_a_full_disk_is_status_2(args):
    # before: "internal error: OSError: [Errno 28]" (exit 1)
    with http_server([http_response(REPLY)]) as (url, _):
        line = " ".join("--url " + url if a == "URL" else a for a in args)
        r = shell(f"{line} > /dev/full")
    stderr = r.stderr.decode()
    assert r.returncode == 2 and "could not write to standard output: No space left on device" in stderr, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr


# -- closed standard streams ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["chat", "URL", "Hi"], ["config"], ["--version"]])
def test_a_closed_stdout_is_one_line_and_status_2(args):
    # before: a chained traceback
    with http_server([http_response(REPLY)]) as (url, seen):
        line = " ".join("--url " + url if a == "URL" else a for a in args)
        r = shell(f"{line} >&-")
    stderr = r.stderr.decode()
    assert r.returncode == 2 and stderr.count("\n") == 2 and "standard output is closed" in stderr, stderr
    assert "Traceback" not in stderr and seen.connections == 0


def test_a_closed_stderr_does_not_change_the_exit_status():
    # before: a successful reply exited 1
    with http_server([http_response(REPLY)]) as (url, _):
        r = shell(f"chat --url {url} Hi 2>&-")
    assert r.returncode == 0 and r.stdout == b"the reply\n"
    with http_server([http_response(b"", "500 Internal Server Error", "text/plain")]) as (url, _):
        r = shell(f"chat --url {url} --retries 0 Hi 2>&-")
    assert r.returncode == 6


# -- -i: bounded, and the whole image must decode ----------------------------------------------------


def _image(fmt: str, size=(16, 12)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, fmt)
    return out.getvalue()


def test_image_from_dev_zero_stops_at_max_image_size():
    # before: read until MemoryError
    r = run_cli("chat", "--url", "http://127.0.0.1:9/x", "-i", "/dev/zero", "--max-image-size", "1MB", "Hi", timeout=20)
    assert r.code == 2 and "larger than --max-image-size (1048576 bytes)" in r.stderr, r.stderr
    r = run_cli("chat", "--url", "http://127.0.0.1:9/x", "-i", "-", "--max-image-size", "10", "Hi", input=_image("PNG"))
    assert r.code == 2 and "standard input is larger than --max-image-size" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n", _image("PNG")[:-20], _image("JPEG")[:200], b"GIF89a" + b"\x00" * 20],
    ids=["png-header", "png-cut", "jpeg-cut", "gif-zeros"],
)
def test_an_image_that_does_not_decode_is_refused_before_any_request(tmp_path, data):
    # before: an 8-byte PNG header alone was sent as an image
    img = tmp_path / "x.img"
    img.write_bytes(data)
    with http_server([http_response(REPLY)]) as (url, seen):
        r = run_cli("chat", "--url", url, "-i", str(img), "Hi")
    assert r.code == 2 and "does not decode as an image" in r.stderr, r.stderr
    assert "object at 0x" not in r.stderr  # Pillow's name for the buffer it read is no news to the user
    assert seen.connections == 0


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_real_images_are_accepted(tmp_path, fmt):
    img = tmp_path / "x.img"
    img.write_bytes(_image(fmt))
    with http_server([http_response(REPLY)]) as (url, seen):
        r = run_cli("chat", "--url", url, "-q", "-i", str(img), "Hi")
    assert r.code == 0, r.stderr
    assert b"data:image/" in seen.requests[0]
