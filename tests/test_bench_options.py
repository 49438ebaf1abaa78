"""bench takes chat's connection options: token, token file, auth scheme, headers, params, timeouts, TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid

import hostile_servers as hostile
import pytest
from conftest import clean_env, run_cli, seen_by
from raw_servers import raw_server, raw_ws_server

from streamchat.bench.command import BenchArgs, prepare
from streamchat.bench.runner import LoadSpec, run_load
from streamchat.errors import UsageError
from streamchat.protocol.requests import ChatRequest
from streamchat.session.params import parse_params

TOKEN = "s3cret-token-value"  # the auth_server's
WS_REPLY = [b'{"type":"content","text":"Hello"}', b'{"type":"content","text":" world"}', b'{"type":"done","finish_reason":"stop"}']


def test_params_are_json_when_they_parse_else_text(tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text('[{"type": "function", "function": {"name": "f"}}]')
    got = parse_params(["seed=1", 'stop=["\\n"]', "user=alice", "flag=true", "x=NaN", "empty=", f"tools=@{tools}", "seed=2"])
    assert got == {
        "seed": 2,
        "stop": ["\n"],
        "user": "alice",
        "flag": True,
        "x": "NaN",
        "empty": "",
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    for bad in ("noequals", "=1"):
        with pytest.raises(UsageError):
            parse_params([bad])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UsageError, match="not JSON"):
        parse_params([f"tools=@{tmp_path / 'bad.json'}"])
    with pytest.raises(UsageError, match="not found"):
        parse_params([f"tools=@{tmp_path / 'missing.json'}"])


def test_the_token_travels_as_the_dialect_wants_and_never_shows(auth_server, tmp_path):
    """Bearer for the seed dialect, x-api-key (and anthropic-version) for anthropic; the token is in no
    output, record or error, whether the requests succeed or are refused."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    records = tmp_path / "records.ndjson"
    for path, extra in (("/api/chat/stream", []), ("/v1/messages", ["-m", "claude"])):
        test_id = str(uuid.uuid4())
        args = ["bench", "--url", auth_server.url + path, "--requests", "2", "-H", f"X-Test-Id: {test_id}", *extra]
        r = run_cli(*args, "--token-file", str(token_file), "-o", "json", "--records", str(records))
        assert r.code == 0, r.stderr
        assert json.loads(r.out)["ok"] == 2
        headers = [seen.headers for seen in seen_by(auth_server, test_id)]
        assert len(headers) == 2
        if path == "/v1/messages":
            assert all(h.get("x-api-key") == TOKEN and "authorization" not in h and h.get("anthropic-version") for h in headers)
        else:
            assert all(h.get("authorization") == f"Bearer {TOKEN}" and "x-api-key" not in h for h in headers)
        for text in (r.out, r.stderr, records.read_text()):
            assert TOKEN not in text
    wrong = run_cli("bench", "--url", auth_server.url + "/api/chat/stream", "--requests", "2", "--token", TOKEN + "x", "-o", "ndjson")
    assert wrong.code == 8 and "http_401" in wrong.stderr
    assert TOKEN not in wrong.out and TOKEN not in wrong.stderr
    both = run_cli("bench", "--url", auth_server.url + "/api/chat/stream", "--token", "a", "--token-file", str(token_file))
    assert both.code == 2 and "not both" in both.stderr


def test_params_headers_and_bearer_scheme_reach_the_server(server, tmp_path):
    test_id = str(uuid.uuid4())
    url = server.url + "/v1/chat/completions"
    args = ["bench", "--url", url, "-m", "m", "--requests", "2", "--max-tokens", "9", "-H", f"X-Test-Id: {test_id}", "-H", "X-Extra: yes"]
    r = run_cli(*args, "-p", "seed=7", "-p", 'stop=["\\n"]', "-p", "max_tokens=3", "-p", "user=alice", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    bodies = [json.loads(seen.body) for seen in seen_by(server, test_id)]
    assert len(bodies) == 2
    assert all(b["seed"] == 7 and b["stop"] == ["\n"] and b["user"] == "alice" and b["max_tokens"] == 3 for b in bodies)  # -p wins
    assert all(seen.headers.get("x-extra") == "yes" for seen in seen_by(server, test_id))
    assert {rec["output_tokens"] for rec in json.loads(r.out)["records"]} == {3}
    query = run_cli("bench", "--url", server.url + "/api/v1/chat/stream", "--dialect", "query", "-p", "seed=1")
    assert query.code == 2 and "query dialect" in query.stderr


def test_chats_request_options_reach_every_request(server, tmp_path):
    """bench takes chat's request options: system prompt (or its file), images, sampling, provider, --get."""
    from PIL import Image

    test_id = str(uuid.uuid4())
    (tmp_path / "system.txt").write_text("Be brief.\n")
    Image.new("RGB", (4, 4), (0, 200, 0)).save(tmp_path / "p.png", "PNG")
    url = server.url + "/v1/chat/completions"
    sampling = ["--temperature", "0.3", "--top-p", "0.9", "--frequency-penalty", "0.5", "--presence-penalty", "-0.5"]
    args = ["bench", "--url", url, "-m", "m", "--requests", "2", "-H", f"X-Test-Id: {test_id}", "-q", "-o", "json"]
    r = run_cli(*args, "--system-file", str(tmp_path / "system.txt"), "-i", str(tmp_path / "p.png"), *sampling)
    assert r.code == 0, r.stderr
    bodies = [json.loads(seen.body) for seen in seen_by(server, test_id)]
    assert len(bodies) == 2
    for body in bodies:
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert (body["temperature"], body["top_p"], body["frequency_penalty"], body["presence_penalty"]) == (0.3, 0.9, 0.5, -0.5)
    ours = str(uuid.uuid4())
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/stream", "-m", "acme/m1", "--requests", "1", "-s", "S", "-H", f"X-Test-Id: {ours}", "-q"
    )
    assert r.code == 0, r.stderr
    (body,) = [json.loads(seen.body) for seen in seen_by(server, ours)]
    assert body["provider_slug"] == "acme" and body["system_prompt"] == "S"
    bad = run_cli("bench", "--url", url, "-m", "m", "-s", "a", "--system-file", str(tmp_path / "system.txt"))
    assert bad.code == 2 and "not both" in bad.stderr
    assert run_cli("bench", "--url", url, "--get", "--dialect", "openai").code == 2
    assert run_cli("bench", "--url", url, "--temperature", "3").code == 2


def test_provider_and_profile_params_as_chat_sends_them(server, tmp_path):
    """No -m: the default model's provider, as chat sends it; a JSONL prompt's model gives its own; a profile's params
    reach every request under -p's."""
    test_id = str(uuid.uuid4())
    (tmp_path / "streamchat").mkdir()
    (tmp_path / "streamchat" / "config.toml").write_text('[profiles.p]\nparams = { seed = 7, user = "cfg" }\n')
    (tmp_path / "prompts.jsonl").write_text('{"message": "a"}\n{"message": "b", "model_id": "acme/m1"}\n')
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    args = ["bench", "--url", server.url + "/api/chat/stream", "--profile", "p", "--requests", "2", "--concurrency", "1"]
    r = run_cli(*args, "--prompts", str(tmp_path / "prompts.jsonl"), "-p", "seed=9", "-H", f"X-Test-Id: {test_id}", "-q", env=env)
    assert r.code == 0, r.stderr
    bodies = sorted((json.loads(seen.body) for seen in seen_by(server, test_id)), key=lambda body: body["message"])
    assert [(b["model_id"], b.get("provider_slug")) for b in bodies] == [("deepseek/deepseek-chat", "deepseek"), ("acme/m1", "acme")]
    assert all(b["seed"] == 9 and b["user"] == "cfg" for b in bodies)
    plain = str(uuid.uuid4())
    r = run_cli(*args[:5], "--requests", "1", "--prompt", "hi", "-H", f"X-Test-Id: {plain}", "-q", env=env)
    assert r.code == 0, r.stderr
    (body,) = [json.loads(seen.body) for seen in seen_by(server, plain)]
    assert body["provider_slug"] == "deepseek" and body["seed"] == 7


def test_timeouts_and_tls_settings_reach_the_load(tmp_path):
    ca = tmp_path / "ca.pem"
    trustme = pytest.importorskip("trustme")
    trustme.CA().cert_pem.write_to_path(str(ca))
    args = BenchArgs(
        url="https://127.0.0.1:9/v1/chat/completions", model="m", connect_timeout=2.5, read_timeout=7.0, insecure=True, cacert=str(ca)
    )
    spec = prepare(args).spec(args.url)
    assert (spec.connect_timeout, spec.read_timeout, spec.insecure, spec.cacert) == (2.5, 7.0, True, str(ca))
    assert LoadSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec  # plain data for worker processes and Ray


def test_read_timeout_ends_a_silent_request(server):
    stall = f"X-Streamchat-Fault: stall-after=1;id={uuid.uuid4()}"
    r = run_cli(
        "bench", "--url", server.url + "/api/chat/stream", "--requests", "2", "--read-timeout", "0.3", "-H", stall, "-o", "json", "-q"
    )
    assert r.code == 8 and json.loads(r.out)["errors"] == {"timeout": 2}


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_a_cacert_that_is_no_ca_bundle_is_a_usage_error(tmp_path, content):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    r = run_cli("bench", "--url", "https://127.0.0.1:9/v1/chat/completions", "--cacert", str(path), "-o", "json")
    assert r.code == 2 and "--cacert" in r.stderr and not r.out


@pytest.fixture(scope="module")
def tls():
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return ca, context


def _ws_load(url: str, **kw) -> list[dict]:
    spec = LoadSpec(url, transport="ws", requests=2, concurrency=2, prompts=[ChatRequest(message="hi")], **kw)
    return asyncio.run(run_load(spec))[0]


def test_wss_verified_with_cacert_or_not_at_all(tls, tmp_path):
    ca, context = tls
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with raw_ws_server(WS_REPLY, tls=context) as url:
        assert {r["status"] for r in _ws_load(url, cacert=str(ca_file))} == {"ok"}
        assert {r["status"] for r in _ws_load(url, insecure=True)} == {"ok"}
        refused = _ws_load(url)
    assert {r["status"] for r in refused} == {"connect_failed"} and "CERTIFICATE_VERIFY_FAILED" in refused[0]["error"]


def test_https_verified_with_cacert_or_not_at_all(tls, tmp_path):
    from test_bench import OPENAI_STREAM

    ca, context = tls
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with raw_server(OPENAI_STREAM, tls=context) as url:
        for kw in ({"cacert": str(ca_file)}, {"insecure": True}):
            spec = LoadSpec(url, dialect="openai", requests=2, concurrency=1, prompts=[ChatRequest(message="hi")], **kw)
            assert {r["status"] for r in asyncio.run(run_load(spec))[0]} == {"ok"}


def test_a_refused_websocket_handshake_is_counted_by_its_status(auth_server):
    records = _ws_load(auth_server.url.replace("http://", "ws://") + "/api/chat/ws")
    assert {r["status"] for r in records} == {"http_401"}


def test_a_server_quoting_the_token_in_an_error_does_not_put_it_in_any_output(tmp_path):
    echo = b'data: {"error": {"message": "invalid api key s3cret-token-value", "type": "auth"}}\n\n'
    records = tmp_path / "records.ndjson"
    with raw_server(echo, framing="close") as url:
        args = ["bench", "--url", url, "-m", "m", "--requests", "2", "--token", TOKEN, "--records", str(records)]
        r = run_cli(*args, "-o", "json")
        nd = run_cli(*args, "-o", "ndjson")
    assert r.code == nd.code == 8
    summary = json.loads(r.out)
    assert summary["errors"] == {"server_error": 2} and summary["records"][0]["error"] == "invalid api key <redacted>"
    for text in (r.out, r.stderr, nd.out, nd.stderr, records.read_text()):
        assert TOKEN not in text


def test_retries_try_a_request_again_before_its_first_byte(server):
    """--retries N: a 503 with Retry-After 0 is tried again (N + 1 attempts at most), as chat does;
    without it (the default) a failed request is a measurement."""
    url = server.url + "/v1/chat/completions"
    test_id = str(uuid.uuid4())
    fault = f"X-Streamchat-Fault: status=503;retry-after=0;count=2;id={test_id}"
    args = ["bench", "--url", url, "-m", "m", "--requests", "1", "-H", fault, "-H", f"X-Test-Id: {test_id}", "-o", "json", "-q"]
    r = run_cli(*args, "--retries", "2")
    assert r.code == 0 and json.loads(r.out)["ok"] == 1, r.out
    assert len(seen_by(server, test_id)) == 3
    again = str(uuid.uuid4())
    fault = f"X-Streamchat-Fault: status=503;retry-after=0;count=1;id={again}"
    r = run_cli("bench", "--url", url, "-m", "m", "--requests", "1", "-H", fault, "-H", f"X-Test-Id: {again}", "-o", "json", "-q")
    assert r.code == 8 and json.loads(r.out)["errors"] == {"http_503": 1} and len(seen_by(server, again)) == 1


@pytest.mark.parametrize(
    ("ending", "kind"),
    [
        ([hostile.close_frame(1011, b"boom")], "closed_1011"),
        ([hostile.close_frame(1008)], "closed_1008"),
        ([hostile.close_frame(1000)], "closed_1000"),
        ([hostile.close_frame(4000)], "closed_4000"),
        ([], "connection_lost"),  # no close frame at all: 1006
        ([hostile.ws_frame(b'{"type":"content","text":"' + b"x" * 2000 + b'"}')], "too_large"),
    ],
)
def test_a_websocket_that_ends_before_done_is_the_kind_ws_chat_names(ending, kind):
    # before: bench --transport ws counted each of these as protocol_error
    script = [hostile.text_frames(b'{"type":"content","text":"Hel"}'), *ending]
    with hostile.ws_server(script, linger=0) as (url, _):
        chat = run_cli("ws-chat", "--url", url, "--max-message-size", "1KB", "--retries", "0", "-o", "json", "hi")
        records = _ws_load(url, max_message_size=1024)
    assert json.loads(chat.stdout)["error"]["code"] == kind
    assert [r["status"] for r in records] == [kind, kind]
