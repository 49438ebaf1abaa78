"""Proxies from the environment, through a real forward proxy on loopback (pproxy: HTTP with CONNECT, SOCKS5)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time

import pytest
from scripted_http import scripted_server, sse_response
from test_http_client import OPENAI

from streamchat.client.proxy import bypassed, parse_proxy, proxy_for
from streamchat.errors import UsageError

pytest.importorskip("pproxy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def proxy():
    """pproxy speaking HTTP (with CONNECT) and SOCKS5 on one port; its log says what it relayed."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pproxy", "-l", f"http+socks5://127.0.0.1:{port}", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while True:  # ready once it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("pproxy did not start")
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def tls_server_and_ca(tmp_path_factory):
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return server_ctx, str(path)


def run_through(env: dict[str, str], *args: str):
    from conftest import clean_env, run_cli

    base = {k: v for k, v in clean_env().items() if "proxy" not in k.lower()}
    return run_cli(*args, env={**base, **env})


@pytest.mark.parametrize(
    "variable", ["http_proxy=http://{p}", "HTTP_PROXY=http://{p}", "ALL_PROXY=socks5://{p}", "all_proxy=socks5h://{p}"]
)
def test_chat_streams_through_a_proxy(proxy, variable):
    name, value = variable.split("=", 1)
    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI))) as srv:
        r = run_through({name: value.format(p=proxy)}, "chat", "--retries", "0", "--url", srv.url + "/v1/chat/completions", "-m", "m", "Hi")
    assert (r.code, r.out) == (0, "Hello\n"), r.stderr
    if name.lower() == "http_proxy":  # a forward proxy was asked for the absolute URL, and passed the path on
        assert srv.requests[0].target == "/v1/chat/completions"


def test_https_goes_through_a_connect_tunnel(proxy, tls_server_and_ca):
    server_ctx, cacert = tls_server_and_ca
    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI)), tls=server_ctx) as srv:
        r = run_through(
            {"HTTPS_PROXY": f"http://{proxy}"}, "chat", "--cacert", cacert, "--url", srv.url + "/v1/chat/completions", "-m", "m", "Hi"
        )
    assert (r.code, r.out) == (0, "Hello\n"), r.stderr
    assert srv.requests and srv.requests[0].headers["host"].startswith("127.0.0.1:")


def test_no_proxy_goes_direct():
    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI))) as srv:
        # the proxy named does not exist: only a direct connection can succeed
        env = {"http_proxy": f"http://127.0.0.1:{free_port()}", "NO_PROXY": "localhost,127.0.0.1"}
        r = run_through(env, "chat", "--retries", "0", "--url", srv.url + "/v1/chat/completions", "-m", "m", "Hi")
    assert r.code == 0, r.stderr


def test_a_proxy_that_refuses_credentials_is_an_auth_failure(tls_server_and_ca):
    def proxy_407(conn, req):
        assert req.method == "CONNECT"
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")

    with scripted_server(proxy_407) as fake_proxy:
        r = run_through(
            {"https_proxy": f"http://user:pw@127.0.0.1:{fake_proxy.port}"},
            "chat",
            "--url",
            "https://127.0.0.1:9/v1/chat/completions",
            "-m",
            "m",
            "Hi",
        )
    assert r.code == 5 and "407" in r.stderr and "pw" not in r.stderr
    assert fake_proxy.requests[0].headers["proxy-authorization"] == "Basic dXNlcjpwdw=="


def test_bench_goes_through_the_proxy_too(proxy):
    import asyncio
    import os

    from streamchat.bench.runner import LoadSpec, run_load
    from streamchat.protocol.requests import ChatRequest

    with scripted_server(lambda conn, req: conn.sendall(sse_response(OPENAI))) as srv:
        spec = LoadSpec(srv.url + "/v1/chat/completions", dialect="openai", requests=3, concurrency=2, prompts=[ChatRequest("Hi", "m")])
        saved = {k: os.environ.pop(k) for k in list(os.environ) if "proxy" in k.lower()}
        os.environ["http_proxy"] = f"http://{proxy}"
        try:
            records, _, _ = asyncio.run(run_load(spec))
        finally:
            os.environ.pop("http_proxy")
            os.environ.update(saved)
    assert [r["status"] for r in records] == ["ok"] * 3


def test_which_proxy_a_url_takes():
    env = {
        "http_proxy": "proxy:3128",
        "HTTPS_PROXY": "http://secure:8080",
        "ALL_PROXY": "socks5h://s:1080",
        "no_proxy": ".internal,10.0.0.0/8,svc:81",
    }
    assert proxy_for("http", "example.com", 80, env) == parse_proxy("http://proxy:3128")
    assert proxy_for("https", "example.com", 443, env).host == "secure"
    assert proxy_for("http", "api.internal", 80, env) is None and proxy_for("http", "internal", 80, env) is None
    assert proxy_for("http", "10.1.2.3", 80, env) is None
    assert proxy_for("http", "svc", 81, env) is None and proxy_for("http", "svc", 80, env) is not None
    assert proxy_for("https", "x", 443, {"ALL_PROXY": "socks5://s:1080"}).scheme == "socks5"
    assert proxy_for("http", "x", 80, {"http_proxy": "http://a:1", "HTTP_PROXY": "http://b:2"}).host == "a"  # lower case wins
    assert bypassed("anything", 1, "*")
    with pytest.raises(UsageError):
        parse_proxy("socks4://s:1080")
