"""Synthetic load by size: --prompt-tokens N --output-tokens M, by a local tokenizer or the word estimate."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import run_cli, seen_by

from streamchat.bench.prompts import WORDS, synthetic_texts


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    """A small byte-level BPE tokenizer trained here (no download): most words are several tokens in it."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["[UNK]"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["the quick brown fox jumps over the lazy dog " * 20, "stream tokens over a socket"], trainer)
    path = tmp_path_factory.mktemp("tokenizer")
    tok.save(str(path / "tokenizer.json"))
    return path, tok


def test_the_word_estimate_is_one_common_word_a_token():
    texts = synthetic_texts(40, 5)
    assert len(set(texts)) == 5  # a different prompt each: no shared prefix for a cache to answer from
    assert all(len(text.split()) == 40 and set(text.split()) <= set(WORDS) for text in texts)
    assert synthetic_texts(40, 5) == texts  # the same run twice sends the same load
    mean_chars = sum(len(w) + 1 for w in WORDS) / len(WORDS)
    assert 3.5 <= mean_chars <= 5.0  # about 4 characters a token, the usual estimate for English


def test_a_local_tokenizer_counts_exactly(tokenizer_dir):
    path, tok = tokenizer_dir
    for size in (1, 7, 64, 257):
        texts = synthetic_texts(size, 4, str(path))
        assert [len(tok.encode(text, add_special_tokens=False).ids) for text in texts] == [size] * 4
    assert len(synthetic_texts(64, 1, str(path))[0].split()) < 64  # its words are longer than one token


def test_requested_and_received_tokens(server):
    """openai dialect: max_tokens and ignore_eos; the reference server counts words, one a token here."""
    test_id = str(uuid.uuid4())
    url = server.url + "/v1/chat/completions"
    args = [
        "bench",
        "--url",
        url,
        "-m",
        "m",
        "--requests",
        "4",
        "--prompt-tokens",
        "50",
        "--output-tokens",
        "7",
        "-H",
        f"X-Test-Id: {test_id}",
    ]
    r = run_cli(*args, "-o", "json")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["requested_tokens"] == {"prompt": 50, "output": 7}
    assert summary["received_tokens"] == {"prompt": {"mean": 50.0, "min": 50, "max": 50}, "output": {"mean": 7.0, "min": 7, "max": 7}}
    assert "tokens: prompt 50 requested, 50.0 counted by the server (min 50, max 50); output 7 requested, 7.0 received" in r.stderr
    bodies = [json.loads(seen.body) for seen in seen_by(server, test_id)]
    assert len(bodies) == 4 and all(b["max_tokens"] == 7 and b["ignore_eos"] is True for b in bodies)
    assert len({b["messages"][-1]["content"] for b in bodies}) == 4
    short = run_cli("bench", "--url", url, "-m", "m", "--requests", "2", "--output-tokens", "99", "-o", "json", "-q")
    assert json.loads(short.out)["received_tokens"]["output"]["max"] == 12  # the server's replies are 12 tokens: shown, not hidden


def test_ignore_eos_only_where_the_dialect_has_it_and_params_win(server):
    test_id = str(uuid.uuid4())
    args = ["bench", "--url", server.url + "/api/chat/stream", "--requests", "1", "--output-tokens", "5", "-H", f"X-Test-Id: {test_id}"]
    assert run_cli(*args, "-q").code == 0
    (seen,) = seen_by(server, test_id)
    body = json.loads(seen.body)
    assert body["max_tokens"] == 5 and "ignore_eos" not in body
    test_id = str(uuid.uuid4())
    args = ["bench", "--url", server.url + "/v1/chat/completions", "-m", "m", "--requests", "1", "--output-tokens", "5"]
    assert run_cli(*args, "-p", "ignore_eos=false", "-H", f"X-Test-Id: {test_id}", "-q").code == 0
    (seen,) = seen_by(server, test_id)
    assert json.loads(seen.body)["ignore_eos"] is False


def test_a_tokenizer_sizes_the_prompts_sent(server, tokenizer_dir):
    path, _ = tokenizer_dir
    test_id = str(uuid.uuid4())
    url = server.url + "/api/chat/stream"
    args = ["bench", "--url", url, "--requests", "2", "--prompt-tokens", "64", "--tokenizer", str(path), "-H", f"X-Test-Id: {test_id}"]
    r = run_cli(*args, "-o", "json", "-q")
    assert r.code == 0, r.stderr
    words = {len(json.loads(seen.body)["message"].split()) for seen in seen_by(server, test_id)}
    assert max(words) < 64  # 64 tokens of this tokenizer are fewer words
    assert json.loads(r.out)["requested_tokens"]["prompt"] == 64


def test_the_built_in_server_replies_as_long_as_asked():
    r = run_cli("bench", "--requests", "2", "--output-tokens", "80", "--server-itl-ms", "0", "--server-ttft-ms", "0", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    assert json.loads(r.out)["received_tokens"]["output"] == {"mean": 80.0, "min": 80, "max": 80}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt-tokens", "8", "--prompt", "hi"], "not both"),
        (["--output-tokens", "8", "--max-tokens", "8"], "not both"),
        (["--tokenizer", "."], "goes with --prompt-tokens"),
        (["--prompt-tokens", "8", "--tokenizer", "/nonexistent/tok"], "not a directory"),
        (["--prompt-tokens", "8", "--tokenizer", "EMPTY"], "--tokenizer"),  # no tokenizer.json, nothing loadable
    ],
)
def test_synthetic_usage_errors(args, message, tmp_path):
    args = [str(tmp_path) if arg == "EMPTY" else arg for arg in args]
    r = run_cli("bench", "--url", "http://127.0.0.1:1/api/chat/stream", *args)
    assert r.code == 2 and message in r.stderr and "Traceback" not in r.stderr
