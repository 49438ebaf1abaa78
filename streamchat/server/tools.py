"""Tool calls: when a request offers tools, the reply is a deterministic call of the first one.

Every dialect spells its tools differently; ``tool_spec`` reads each spelling, so the same tool gets
the same call whichever API offered it. Its arguments fill the tool's JSON schema from the message,
and they stream as several pieces, as real servers stream them (a piece is what a model emits per token).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

PIECE = 8  # characters of argument text a streamed piece carries at most


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # the JSON text of the arguments object
    pieces: tuple[str, ...]  # ``arguments`` cut as it streams
    digest: str  # 24 hex digits, the same for the same request: ids are made from it

    def id(self, prefix: str) -> str:
        return prefix + self.digest

    @property
    def parsed(self) -> Any:
        return json.loads(self.arguments)


def tool_spec(tool: Any) -> tuple[str, dict[str, Any]] | None:
    """(name, JSON schema of the arguments) of a tool in the OpenAI chat and Ollama shape
    (``{"type": "function", "function": {"name", "parameters"}}``), the Responses shape
    (``{"type": "function", "name", "parameters"}``) or Anthropic's (``{"name", "input_schema"}``)."""
    if not isinstance(tool, dict):
        return None
    inner = tool.get("function") if isinstance(tool.get("function"), dict) else tool
    name = inner.get("name")
    if not isinstance(name, str) or not name:
        return None
    schema = inner.get("parameters", inner.get("input_schema"))
    return name, schema if isinstance(schema, dict) else {}


def value_for(schema: Any, text: str, depth: int = 0) -> Any:
    """A value that fits ``schema``: its first enum value, the message for strings, small numbers."""
    if not isinstance(schema, dict):
        return text
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return {key: value_for(sub, text, depth + 1) for key, sub in properties.items()} if depth < 4 else {}
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}.get(kind, text)


def call_first_tool(tools: list[Any], message: str, seed: int = 0) -> ToolCall | None:
    spec = next((found for found in map(tool_spec, tools) if found is not None), None)
    if spec is None:
        return None
    name, schema = spec
    text = " ".join(message.split())[:64] or "streamchat"
    arguments = value_for({**schema, "type": "object"} if "type" not in schema else schema, text)
    if not isinstance(arguments, dict):
        arguments = {"input": arguments}
    encoded = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    step = max(1, min(PIECE, -(-len(encoded) // 2)))  # at least two pieces, at most PIECE characters each
    pieces = tuple(encoded[i : i + step] for i in range(0, len(encoded), step))
    digest = hashlib.sha256(f"{seed}\x00{name}\x00{message}".encode("utf-8", "replace")).hexdigest()[:24]
    return ToolCall(name, encoded, pieces, digest)
