"""https:// and wss:// streams: verification against a CA, --cacert, --insecure (SPEC §2, exit 3 on TLS errors).

The certificates come from a throwaway CA (trustme); the servers are the raw loopback servers, wrapped in TLS.
"""

from __future__ import annotations

import ssl

import pytest
from conftest import clean_env, run_cli
from raw_servers import raw_server, raw_ws_server
from test_real_streams import OPENAI

trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_context(ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_https_stream_verified_with_cacert(tls_context, ca_file):
    with raw_server(OPENAI, pieces=3, pause=0.001, tls=tls_context) as url:
        assert url.startswith("https://")
        r = run_cli("chat", "--url", url, "--cacert", ca_file, "-o", "ndjson", "Hi")
    assert r.code == 0, r.stderr
    assert [line["text"] for line in r.lines() if line["type"] == "content"] == ["Hello", " world"]


def test_https_ca_from_ssl_cert_file(tls_context, ca_file):
    """Without --cacert, the usual SSL_CERT_FILE variable names the bundle, as for any OpenSSL client."""
    with raw_server(OPENAI, tls=tls_context) as url:
        r = run_cli("chat", "--url", url, "-o", "json", "Hi", env=clean_env(SSL_CERT_FILE=ca_file))
    assert r.code == 0, r.stderr


def test_untrusted_certificate_is_a_connection_error_3_with_a_hint(tls_context):
    with raw_server(OPENAI, tls=tls_context) as url:
        r = run_cli("chat", "--url", url, "--retries", "0", "-o", "ndjson", "Hi")
    assert r.code == 3
    assert [line["code"] for line in r.lines()] == ["connect_failed"]  # the failure, as data
    assert "TLS error" in r.stderr and "--cacert" in r.stderr
    assert "Traceback" not in r.stderr


def test_insecure_skips_verification(tls_context):
    with raw_server(OPENAI, tls=tls_context) as url:
        r = run_cli("chat", "--url", url, "--insecure", "-o", "json", "Hi")
    assert r.code == 0, r.stderr


def test_unreadable_cacert_is_a_usage_error_2(tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    r = run_cli("chat", "--url", "https://127.0.0.1:9/v1/chat/completions", "--cacert", str(bad), "Hi")
    assert r.code == 2
    assert "--cacert" in r.stderr and "Traceback" not in r.stderr


WS_REPLY = [b'{"type":"content","text":"Hello"}', b'{"type":"content","text":" world"}', b'{"type":"done","finish_reason":"stop"}']


def test_wss_verified_with_cacert(tls_context, ca_file):
    with raw_ws_server(WS_REPLY, tls=tls_context) as url:
        assert url.startswith("wss://")
        r = run_cli("ws-chat", "--url", url, "--cacert", ca_file, "-o", "ndjson", "Hi")
    assert r.code == 0, r.stderr
    assert [line["text"] for line in r.lines() if line["type"] == "content"] == ["Hello", " world"]


def test_wss_untrusted_certificate_is_3_and_insecure_skips_verification(tls_context):
    with raw_ws_server(WS_REPLY, tls=tls_context) as url:
        refused = run_cli("ws-chat", "--url", url, "--retries", "0", "-o", "ndjson", "Hi")
        skipped = run_cli("ws-chat", "--url", url, "--insecure", "-o", "ndjson", "Hi")
    assert refused.code == 3 and "TLS error" in refused.stderr and "--cacert" in refused.stderr
    assert "Traceback" not in refused.stderr and [line["type"] for line in refused.lines()] == ["error"]
    assert skipped.code == 0, skipped.stderr


def test_wss_unreadable_cacert_is_a_usage_error_2(tls_context, tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    with raw_ws_server(WS_REPLY, tls=tls_context) as url:
        r = run_cli("ws-chat", "--url", url, "--cacert", str(bad), "Hi")
    assert r.code == 2 and "--cacert" in r.stderr and "Traceback" not in r.stderr
