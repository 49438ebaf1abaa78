"""The HTTP client on real loopback sockets: split heads, cut connections, redirects, credentials, retries.

Every server here is a raw scripted one (tests/scripted_http.py): it sends exactly the bytes a real or a
hostile server would, and records which requests (and which headers) reached it.
"""

from __future__ import annotations

import gzip
import io
import time
from dataclasses import dataclass

import pytest
from conftest import run_cli
from scripted_http import chunked, redirect, reset, scripted_server, sse_response

from streamchat.client.http import HTTPOptions
from streamchat.env import Environment
from streamchat.errors import StreamchatError
from streamchat.protocol.requests import ChatRequest
from streamchat.session.http import ChatTarget, run_http_chat
from streamchat.session.output import OutputOptions, make_renderer

OPENAI = (
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


@dataclass
class Outcome:
    code: int
    text: str
    error: StreamchatError | None


def chat(url: str, *, dialect: str = "openai", token: str | None = None, headers=(), retries: int = 0, scheme: str = "bearer") -> Outcome:
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={})
    renderer = make_renderer(env, OutputOptions("text", quiet=True))
    opts = HTTPOptions(retries=retries, sleep=lambda s: None, environ={}, connect_timeout=5, read_timeout=5)
    target = ChatTarget(url, dialect, token, scheme, list(headers))
    try:
        run_http_chat(target, ChatRequest(message="Hi", model_id="m"), opts, renderer)
        code, error = 0, None
    except StreamchatError as exc:
        code, error = exc.exit_code, exc
    return Outcome(code, env.stdout.getvalue().decode(), error)


def send_in_two(first: int, pause: float = 0.05):
    data = HEAD + chunked(OPENAI)

    def answer(conn, request):
        conn.sendall(data[:first])
        time.sleep(pause)  # (not a wait for anything: it makes the two writes arrive as two reads)
        conn.sendall(data[first:])

    return answer


# -- the response head and body, wherever the reads split them ----------------------------------------


@pytest.mark.parametrize("first", [len(HEAD) - 1, len(HEAD) - 2, 5, 17, len(HEAD) + 1, len(HEAD) + 4])
def test_a_response_split_across_reads_loses_nothing(first):
    with scripted_server(send_in_two(first)) as srv:
        out = chat(srv.url + "/v1/chat/completions")
    assert (out.code, out.text) == (0, "Hello\n")


def test_the_head_split_before_its_last_byte_as_the_issue_shows_it():
    """The exact report: head minus its last byte, 0.2 s, then the last byte and the body; exit 0."""
    with scripted_server(send_in_two(len(HEAD) - 1, pause=0.2)) as srv:
        r = run_cli("chat", "--retries", "0", "--url", srv.url + "/v1/chat/completions", "-m", "m", "Hi")
    assert (r.code, r.out) == (0, "Hello\n"), r.stderr


def test_interim_responses_and_a_gzip_body():
    body = gzip.compress(OPENAI)
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    with scripted_server(lambda conn, req: conn.sendall(answer)) as srv:
        out = chat(srv.url + "/v1/chat/completions")
        assert srv.requests[0].headers["accept-encoding"] == "identity"
    assert (out.code, out.text) == (0, "Hello\n")


# -- a stream that reached its end is complete, whatever the socket does next -----------------------------


def test_done_then_a_cut_connection_is_a_complete_reply_in_chat_and_bench():
    """llama-cpp-python's server under load: [DONE], then the connection is cut mid-framing."""

    def answer(conn, request):
        conn.sendall(HEAD + b"%x\r\n%s\r\n" % (len(OPENAI), OPENAI))  # no terminating chunk
        reset(conn)

    with scripted_server(answer) as srv:
        url = srv.url + "/v1/chat/completions"
        assert chat(url).code == 0
        assert _bench(url) == ["ok", "ok"]


def test_a_finish_reason_then_a_cut_connection_is_complete_too():
    body = OPENAI.replace(b"data: [DONE]\n\n", b"")

    def answer(conn, request):
        conn.sendall(HEAD + b"%x\r\n%s\r\n" % (len(body), body))
        reset(conn)

    with scripted_server(answer) as srv:
        url = srv.url + "/v1/chat/completions"
        out = chat(url)
        assert (out.code, out.text) == (0, "Hello\n")
        assert _bench(url) == ["ok", "ok"]


def test_a_cut_before_the_end_is_a_lost_connection_in_both():
    body = OPENAI.split(b"\n\n")[0] + b"\n\n"

    def answer(conn, request):
        conn.sendall(HEAD + b"%x\r\n%s\r\n" % (len(body), body))
        reset(conn)

    with scripted_server(answer) as srv:
        url = srv.url + "/v1/chat/completions"
        out = chat(url)
        assert (out.code, out.text, out.error.code) == (3, "Hel\n", "connection_lost")
        assert _bench(url) == ["connection_lost", "connection_lost"]


def _bench(url: str) -> list[str]:
    import asyncio

    from streamchat.bench.runner import LoadSpec, run_load

    spec = LoadSpec(url, dialect="openai", requests=2, concurrency=1, prompts=[ChatRequest(message="Hi", model_id="m")])
    records, _, _ = asyncio.run(run_load(spec))
    return [r["status"] for r in records]


# -- redirects and credentials ------------------------------------------------------------------------


CREDENTIALS = ("authorization", "x-api-key", "cookie", "proxy-authorization", "x-custom")


def test_no_credential_follows_a_redirect_to_another_port():
    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI))) as other:
        with scripted_server(lambda conn, req: conn.sendall(redirect(307, other.url + "/v1/chat/completions"))) as first:
            headers = [("Cookie", "session=1"), ("Proxy-Authorization", "Basic eDp5"), ("X-Custom", "secret")]
            for dialect, scheme in (("openai", "bearer"), ("anthropic", "x-api-key")):
                out = chat(first.url + "/v1/chat/completions", dialect=dialect, token="sk-secret", headers=headers, scheme=scheme)
                assert out.code == 0, out.error
            assert all(name in first.requests[0].headers for name in ("authorization", "cookie", "x-custom"))
            assert "x-api-key" in first.requests[1].headers
        for request in other.requests:
            assert not set(CREDENTIALS) & set(request.headers), request.headers
            assert "sk-secret" not in str(request.headers)
        assert other.requests[0].method == "POST" and other.requests[0].body  # 307 keeps the method and body
        assert other.requests[1].headers["anthropic-version"] == "2023-06-01"  # not a credential


def test_credentials_stay_on_a_redirect_within_the_origin():
    def answer(conn, req):
        conn.sendall(redirect(308, "/v2/chat/completions") if req.target.startswith("/v1") else sse_response(OPENAI))

    with scripted_server(answer) as srv:
        assert chat(srv.url + "/v1/chat/completions", token="sk-secret").code == 0
    assert [r.target for r in srv.requests] == ["/v1/chat/completions", "/v2/chat/completions"]
    assert srv.requests[1].headers["authorization"] == "Bearer sk-secret"


def test_a_post_redirected_by_302_is_not_followed_and_names_the_location():
    with scripted_server(lambda conn, req: conn.sendall(redirect(302, "http://127.0.0.1:9/elsewhere"))) as srv:
        out = chat(srv.url + "/v1/chat/completions")
    assert out.code == 6 and "http://127.0.0.1:9/elsewhere" in out.error.message and len(srv.requests) == 1


def test_a_get_follows_302_and_303():
    def answer(conn, req):
        if req.target.startswith("/a"):
            conn.sendall(redirect(302, "/b"))
        elif req.target.startswith("/b"):
            conn.sendall(redirect(303, "/c"))
        else:
            conn.sendall(sse_response(b'data: {"content": "hi"}\n\ndata: [DONE]\n\n'))

    with scripted_server(answer) as srv:
        out = chat(srv.url + "/a", dialect="query")
    assert (out.code, out.text) == (0, "hi\n")
    assert [r.method for r in srv.requests] == ["GET", "GET", "GET"]


def test_five_redirects_are_followed_a_sixth_is_a_loop():
    def answer(conn, req):
        hop = int(req.target.strip("/").split("/")[0] or 0)
        conn.sendall(redirect(307, f"/{hop + 1}/") if hop < limit else sse_response(OPENAI))

    limit = 5
    with scripted_server(answer) as srv:
        assert chat(srv.url + "/0/").code == 0
    limit = 6
    with scripted_server(answer) as srv:
        out = chat(srv.url + "/0/")
    assert out.code == 7 and "too many redirects" in out.error.message and len(srv.requests) == 6


def test_a_redirect_loop_is_a_protocol_error_not_an_internal_one():
    with scripted_server(lambda conn, req: conn.sendall(redirect(307, req.target))) as srv:
        r = run_cli("chat", "--retries", "0", "-o", "ndjson", "--url", srv.url + "/v1/chat/completions", "-m", "m", "Hi")
    assert r.code == 7 and "too many redirects" in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/x", "file:///etc/passwd", "javascript:alert(1)"])
def test_redirects_to_other_schemes_are_refused(location):
    with scripted_server(lambda conn, req: conn.sendall(redirect(307, location))) as srv:
        out = chat(srv.url + "/v1/chat/completions", token="sk-secret")
    assert out.code == 7 and "refused a redirect" in out.error.message


def test_a_redirect_from_https_to_http_is_refused(tls_pair):
    server_ctx, cacert = tls_pair
    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI))) as plain:
        with scripted_server(lambda conn, req: conn.sendall(redirect(307, plain.url + "/x")), tls=server_ctx) as secure:
            r = run_cli("chat", "--retries", "0", "--cacert", cacert, "--url", secure.url + "/v1/chat/completions", "-m", "m", "Hi")
    assert r.code == 7 and "https to plain http" in r.stderr and plain.requests == []


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    import ssl

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server_ctx, str(path)


# -- retries: only while no response byte has arrived ---------------------------------------------------


def test_a_malformed_status_line_is_a_protocol_error_and_one_request():
    with scripted_server(lambda conn, req: conn.sendall(b"HTTP/1.1 2OO OK\r\n\r\n")) as srv:
        out = chat(srv.url + "/v1/chat/completions", retries=3)
    assert out.code == 7 and len(srv.requests) == 1


def test_a_head_cut_short_is_not_retried():
    def answer(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")
        reset(conn)

    with scripted_server(answer) as srv:
        out = chat(srv.url + "/v1/chat/completions", retries=3)
    assert out.code == 3 and len(srv.requests) == 1


def test_a_server_that_closes_without_a_byte_is_retried():
    with scripted_server(lambda conn, req: reset(conn)) as srv:
        out = chat(srv.url + "/v1/chat/completions", retries=2)
    assert out.code == 3 and out.error.code == "connect_failed" and len(srv.requests) == 3


def test_retry_statuses_are_retried_and_then_reported():
    busy = b'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{"error":"overloaded"}'
    with scripted_server(lambda conn, req: conn.sendall(busy)) as srv:
        out = chat(srv.url + "/v1/chat/completions", retries=2)
    assert out.code == 6 and out.error.code == "http_503" and "overloaded" in out.error.message and len(srv.requests) == 3
