"""What bench sends: the user's prompts, or synthetic prompts of a given size in tokens.

Synthetic load (``--prompt-tokens N``) is made of common English words chosen at random, a
different sequence for each prompt (so no server can answer them all from one prefix cache). With
``--tokenizer DIR`` (a local Hugging Face tokenizer: ``tokenizer.json``, or anything
``transformers`` loads from a directory, never downloaded) the text is cut to exactly N tokens of
that tokenizer. Without one, N tokens are N of these words: each is a single token in the GPT and
Llama vocabularies, which is about 4 characters a token, OpenAI's rule of thumb for English.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from ..errors import UsageError

# Short, common words: one token each (with their leading space) in the usual BPE vocabularies.
WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all "
    "were we when your can said there use an each which she do how their if will up other about out many then them these so some "
    "her would make like him into time has look two more write go see number no way could people my than first water been call "
    "who oil its now find long down day did get come made may part over new sound take only little work know place year live me "
    "back give most very after thing our just name good sentence man think say great where help through much before line right "
    "too mean old any same tell boy follow came want show also around form three small set put end does another well large must"
).split()
SYNTHETIC_PROMPTS = 256  # distinct prompts at most; requests take them in turn
# Dialects whose servers take ``ignore_eos`` (vLLM's and SGLang's OpenAI-compatible servers, llama.cpp's):
# with --output-tokens the reply runs to max_tokens instead of stopping early.
IGNORE_EOS_DIALECTS = ("openai",)


def stdin_options(args: Any) -> list[str]:
    """The options that read standard input (at most one may: then no prompts come from it)."""
    users = ["--image -"] * (args.image or []).count("-")
    users += [f"{option} -" for option, value in (("--system-file", args.system_file), ("--token-file", args.token_file)) if value == "-"]
    if len(users) > 1:
        raise UsageError(f"{users[0]} and {users[1]} both read standard input: give one of them a file")
    return users


def request_fields(args: Any, stdin: Any) -> dict[str, Any]:
    """chat's request options as fields of every prompt: the system prompt, images and sampling (a JSONL
    prompt's own fields win). The provider is each prompt's own: see ``build_prompts``."""
    from ..protocol.strict_json import clean
    from ..session.inputs import decode_text, load_image, parse_size, read_file_bytes, strip_newlines

    system = args.system
    if args.system_file is not None:
        if system is not None:
            raise UsageError("give --system or --system-file, not both")
        system = strip_newlines(decode_text(read_file_bytes(args.system_file, "system prompt file", stdin), "system prompt file"))
    max_image = parse_size(args.max_image_size, "--max-image-size")
    fields = {
        "system_prompt": clean(system) if system is not None else None,
        "images": [load_image(src, stdin, max_image) for src in args.image or []] or None,
        **{name: getattr(args, name) for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty")},
    }
    return {name: value for name, value in fields.items() if value is not None}


def user_prompts(texts: list[str], path: str | None, stdin: Any) -> list[Any]:
    """``--prompt`` items, then ``--prompts FILE`` lines (text, or a JSON request a line), else stdin lines."""
    from ..session.inputs import json_object, read_file_bytes, stdin_has_data

    items: list[Any] = list(texts)
    if path:
        for number, line in enumerate(read_file_bytes(path, "prompts file").decode("utf-8", "replace").split("\n"), 1):
            if not line.strip():
                continue
            if line.lstrip().startswith("{"):
                obj = json_object(line, f"{path}:{number}")
                obj.pop("type", None)
                items.append(obj)
            else:
                items.append(line)
    if not items and stdin_has_data(stdin):
        items = [line for line in stdin.read().decode("utf-8", "replace").split("\n") if line.strip()]
    return items


def load_tokenizer(path: str) -> tuple[Callable[[str], list[int]], Callable[[list[int]], str]]:
    """(encode, decode) from a local tokenizer directory; the libraries are imported only here."""
    if not os.path.isdir(path):
        raise UsageError(f"--tokenizer {path!r} is not a directory")
    tokenizer_json = os.path.join(path, "tokenizer.json")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        Tokenizer = None  # noqa: N806 - the class, when the package is there
    if Tokenizer is not None and os.path.isfile(tokenizer_json):
        try:
            fast = Tokenizer.from_file(tokenizer_json)
        except Exception as exc:  # noqa: BLE001 - the library's own error types: a file it cannot read
            raise UsageError(f"--tokenizer {path!r}: cannot load tokenizer.json: {exc}") from None
        return (lambda text: fast.encode(text, add_special_tokens=False).ids), fast.decode
    os.environ["HF_HUB_OFFLINE"] = "1"  # a directory, never the network
    try:
        from transformers import AutoTokenizer
    except ImportError:
        if Tokenizer is not None:
            raise UsageError(f"--tokenizer {path!r}: no tokenizer.json there (other forms need transformers)") from None
        raise UsageError(
            f"--tokenizer {path!r}: needs the tokenizers package", hint="python3 -m pip install 'streamchat[tokenizer]'"
        ) from None
    try:
        slow = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever transformers raises for a directory it cannot use
        raise UsageError(f"--tokenizer {path!r}: cannot load a tokenizer from it: {exc}") from None
    return (lambda text: slow.encode(text, add_special_tokens=False)), slow.decode


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _fit(rng: random.Random, tokens: int, encode: Callable[[str], list[int]], decode: Callable[[list[int]], str]) -> str:
    """Text the tokenizer counts as ``tokens``: words enough, cut at that many tokens.

    Decoding a cut and encoding it again can merge or split at the cut, so the cut moves until the
    count is right (a few steps at most; the nearest count when a tokenizer never gives it exactly).
    """
    text = _words(rng, tokens)
    ids = encode(text)
    while len(ids) < tokens:
        text += " " + _words(rng, tokens)
        ids = encode(text)
    cut = tokens
    for _ in range(8):
        text = decode(ids[:cut])
        counted = len(encode(text))
        if counted == tokens:
            break
        cut += tokens - counted
    return text


def synthetic_texts(tokens: int, count: int, tokenizer: str | None = None, seed: int = 0) -> list[str]:
    """``count`` distinct prompts of ``tokens`` tokens each (by ``tokenizer`` when given, else one word a token)."""
    codec = load_tokenizer(tokenizer) if tokenizer else None
    texts = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        texts.append(_words(rng, tokens) if codec is None else _fit(rng, tokens, *codec))
    return texts


def build_prompts(
    *,
    items: list[Any],
    model: str,
    max_tokens: int | None,
    dialect: str,
    params: dict[str, Any],
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
    tokenizer: str | None = None,
    distinct: int = SYNTHETIC_PROMPTS,
    request: dict[str, Any] | None = None,
    provider: str | None = None,
) -> list[Any]:
    """The requests bench sends, checked before anything is sent.

    ``provider`` is --provider (``""``: leave the key out); without it each request's provider is the
    prefix of its own model id, the dialect's default model included, as chat sends it."""
    from ..protocol.validation import chat_request
    from ..session.settings import provider_slug

    if prompt_tokens is not None:
        if items:
            raise UsageError("--prompt-tokens makes the prompts: give it, or --prompt/--prompts, not both")
        items = synthetic_texts(prompt_tokens, distinct, tokenizer)
    elif tokenizer is not None:
        raise UsageError("--tokenizer goes with --prompt-tokens")
    if output_tokens is not None and max_tokens is not None:
        raise UsageError("give --output-tokens or --max-tokens, not both")
    built: dict[str, Any] = {}
    if output_tokens is not None:
        max_tokens = output_tokens
        if dialect in IGNORE_EOS_DIALECTS:
            built["ignore_eos"] = True
    if params and dialect == "query":
        raise UsageError("--param sets a field of the request body, and the query dialect (GET) sends none")
    base = {**(request or {}), "model_id": model, "max_tokens": max_tokens}
    out = []
    for item in items or ["Tell me about streaming."]:
        fields = {**base, **(item if isinstance(item, dict) else {"message": item})}
        own_provider = isinstance(item, dict) and "provider_slug" in item
        if isinstance(fields["model_id"], str) and not own_provider:  # (an id that is no string: chat_request says so)
            fields["provider_slug"] = provider_slug(fields["model_id"], provider)
        merged = {**built, **params, **(fields.get("params") or {})}
        fields["params"] = merged or None
        out.append(chat_request({k: v for k, v in fields.items() if v is not None}, f"bad prompt {str(item)[:40]!r}"))
    return out
