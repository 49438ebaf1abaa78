"""What the official OpenAI (or Anthropic) SDK receives from an endpoint, printed as one JSON object on stdout.

Run by scripts/interop.py with the Python of a third-party venv (where `openai` and `anthropic` are installed),
never imported by streamchat. It sends the request body streamchat sends, so the two clients can be compared:

    python sdk_reference.py chat --base-url http://127.0.0.1:4000/v1 --model m --message Hi [--max-tokens N] [--temperature X]
    python sdk_reference.py responses ...
    python sdk_reference.py models --base-url http://127.0.0.1:4000/v1
    python sdk_reference.py messages --base-url http://127.0.0.1:4000 --model m    # Anthropic, streamed
    python sdk_reference.py messages-json ...                                        # Anthropic, one JSON answer

The key comes from INTEROP_API_KEY (not argv, which `ps` shows).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from clients import chat_body, messages_body, responses_body  # the very bodies streamchat is compared with


def chat(client, args) -> dict:
    request = chat_body(args.model, args.message, args.max_tokens, args.temperature)
    text, usage, finish_reason, chunks = [], None, None, 0
    for chunk in client.chat.completions.create(**request):
        chunks += 1
        for choice in chunk.choices:
            if choice.delta is not None and choice.delta.content:
                text.append(choice.delta.content)
            if choice.finish_reason:
                finish_reason = choice.finish_reason
        if chunk.usage is not None:
            usage = {
                "input_tokens": chunk.usage.prompt_tokens,
                "output_tokens": chunk.usage.completion_tokens,
                "total_tokens": chunk.usage.total_tokens,
            }
    return {"text": "".join(text), "usage": usage, "finish_reason": finish_reason, "events": chunks}


def responses(client, args) -> dict:
    request = responses_body(args.model, args.message, args.max_tokens)
    text, usage, error, types = [], None, None, []
    for event in client.responses.create(**request):
        types.append(event.type)
        if event.type == "response.output_text.delta":
            text.append(event.delta)
        elif event.type in ("response.completed", "response.incomplete") and event.response.usage is not None:
            used = event.response.usage
            usage = {"input_tokens": used.input_tokens, "output_tokens": used.output_tokens, "total_tokens": used.total_tokens}
        elif event.type in ("response.failed", "error"):
            error = str(getattr(event, "message", None) or getattr(event.response, "error", None))
    return {"text": "".join(text), "usage": usage, "error": error, "event_types": sorted(set(types)), "events": len(types)}


def models(client, args) -> dict:
    return {"ids": [model.id for model in client.models.list().data]}


def anthropic_usage(used) -> dict:
    return {"input_tokens": used.input_tokens, "output_tokens": used.output_tokens, "total_tokens": used.input_tokens + used.output_tokens}


def messages(args, stream: bool) -> dict:
    import anthropic

    client = anthropic.Anthropic(base_url=args.base_url, api_key=os.environ.get("INTEROP_API_KEY") or "none", max_retries=0, timeout=120)
    request = messages_body(args.model, args.message)
    del request["stream"]  # the SDK's stream() and create() say it themselves
    if stream:
        with client.messages.stream(**request) as events:
            text = "".join(events.text_stream)
            message = events.get_final_message()
    else:
        message = client.messages.create(**request)
        text = "".join(block.text for block in message.content if block.type == "text")
    return {
        "text": text,
        "usage": anthropic_usage(message.usage),
        "finish_reason": message.stop_reason,
        "sdk": f"anthropic {anthropic.__version__}",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("api", choices=["chat", "responses", "models", "messages", "messages-json"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model")
    parser.add_argument("--message", default="Hello")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--temperature", type=float, help="chat only: 0 makes a sampling server deterministic")
    args = parser.parse_args()
    if not args.base_url.startswith("http://127.0.0.1:"):
        parser.error("only http://127.0.0.1 endpoints are allowed")
    if args.api.startswith("messages"):
        import anthropic  # only the LiteLLM venv has it

        try:
            result = messages(args, stream=args.api == "messages")
        except anthropic.APIError as error:
            result = {"sdk_error": f"{type(error).__name__}: {error}", "status": getattr(error, "status_code", None)}
        json.dump(result, sys.stdout, ensure_ascii=True)
        return 0
    import openai

    client = openai.OpenAI(base_url=args.base_url, api_key=os.environ.get("INTEROP_API_KEY") or "none", max_retries=0, timeout=120)
    try:
        result = {"chat": chat, "responses": responses, "models": models}[args.api](client, args)
    except openai.APIError as error:
        result = {"sdk_error": f"{type(error).__name__}: {error}", "status": getattr(error, "status_code", None)}
    result["sdk"] = f"openai {openai.__version__}"
    json.dump(result, sys.stdout, ensure_ascii=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
