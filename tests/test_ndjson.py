"""protocol/ndjson.py at every split point: the same lines whatever the reads."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streamchat.protocol.ndjson import NDJSONDecoder

OLLAMA = (
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"H\xc3\xa9"},"done":false}\n'
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":" \xe2\x80\xa8 there"},"done":false}\r\n'
    b"\n"
    b'{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":2}'
)


def decode(pieces: list[bytes]) -> list[bytes]:
    decoder = NDJSONDecoder()
    lines = []
    for piece in pieces:
        lines += decoder.feed(piece)
    return lines + decoder.close()


def test_every_split_gives_the_same_lines():
    whole = decode([OLLAMA])
    assert [json.loads(line)["done"] for line in whole] == [False, False, True]
    assert json.loads(whole[1])["message"]["content"] == " \u2028 there"  # a Unicode line break inside a string stays
    for i in range(len(OLLAMA) + 1):
        for j in range(i, len(OLLAMA) + 1):
            assert decode([OLLAMA[:i], OLLAMA[i:j], OLLAMA[j:]]) == whole


@given(
    st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3), max_size=5), st.lists(st.integers(0, 400), max_size=6)
)
def test_any_objects_split_anywhere(objects, cuts):
    body = b"".join(json.dumps(o).encode() + b"\n" for o in objects)
    cuts = sorted(c % (len(body) + 1) for c in cuts)
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert [json.loads(line) for line in decode(pieces)] == [o for o in objects]
