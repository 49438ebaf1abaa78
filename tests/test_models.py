"""streamchat models: where a server lists its models, and what its answer becomes."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from scripted_http import scripted_server

from streamchat.client.models import model_ids, models_url


@pytest.mark.parametrize(
    ("url", "dialect", "where"),
    [
        ("http://h:8000", None, "http://h:8000/v1/models"),
        ("http://h:8000/", None, "http://h:8000/v1/models"),
        ("http://h:8000/v1", None, "http://h:8000/v1/models"),
        ("http://h:8000/v1/chat/completions?x=1", None, "http://h:8000/v1/models"),
        ("http://h:8000/proxy/v1/messages", "anthropic", "http://h:8000/proxy/v1/models"),
        ("http://h:11434/api/chat", None, "http://h:11434/api/tags"),
        ("http://h:11434/api/generate", None, "http://h:11434/api/tags"),
        ("http://h:11434", "ollama", "http://h:11434/api/tags"),
        ("http://h:8000/v1x/y", None, "http://h:8000/v1/models"),
    ],
)
def test_where_the_list_is(url, dialect, where):
    assert models_url(url, dialect) == where


def test_both_list_shapes():
    assert model_ids({"object": "list", "data": [{"id": "a", "object": "model"}, {"id": "b"}, {"x": 1}, "junk"]}) == ["a", "b"]
    assert model_ids({"models": [{"name": "llama3:8b", "model": "llama3:8b"}, {"name": "qwen"}]}) == ["llama3:8b", "qwen"]
    assert model_ids([1, 2]) == [] and model_ids({"data": "x"}) == []


def answer_json(status: str, body: object):
    data = json.dumps(body).encode()

    def answer(conn, request):
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)

    return answer


def test_ollama_tags_with_the_token(monkeypatch):
    with scripted_server(answer_json("200 OK", {"models": [{"name": "llama3.2:1b"}, {"name": "qwen3:0.6b"}]})) as srv:
        from conftest import clean_env

        r = run_cli("models", "--url", srv.url + "/api/chat", env=clean_env(STREAMCHAT_TOKEN="sk-t"))
    assert (r.code, r.out) == (0, "llama3.2:1b\nqwen3:0.6b\n")
    assert srv.requests[0].target == "/api/tags" and srv.requests[0].headers["authorization"] == "Bearer sk-t"


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [("404 Not Found", {"detail": "Not Found"}, 2), ("200 OK", {"data": []}, 2), ("401 Unauthorized", {"error": "bad key"}, 5)],
)
def test_a_server_without_a_list(status, body, code):
    with scripted_server(answer_json(status, body)) as srv:
        r = run_cli("models", "--retries", "0", "--url", srv.url)
    assert r.code == code and r.out == "" and r.stderr.count("\n") <= 3  # the URL asked, the error, a hint


def test_stderr_says_which_url_lists_the_models(server):
    """A base URL or an endpoint is not where the list is: the notice names the URL asked, as chat names its endpoint."""
    for given in (server.url, server.url + "/v1", server.url + "/v1/chat/completions"):
        r = run_cli("models", "--url", given)
        assert r.code == 0 and r.out.splitlines()[0] == "deepseek/deepseek-chat"
        assert r.stderr == f"streamchat: {given} is not a model list; asking {server.url}/v1/models\n"
    assert run_cli("models", "--url", server.url, "-q").stderr == ""
    assert run_cli("models", "--url", server.url + "/v1/models").stderr == ""


def test_the_demo_server_lists_its_models_as_json(cli):
    r = cli("models", "-o", "json")
    assert r.code == 0 and "deepseek/deepseek-chat" in json.loads(r.out)["models"]
