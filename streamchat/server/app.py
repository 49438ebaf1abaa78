"""The reference server's Starlette app: the SSE endpoints of SPEC §10."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from ..errors import UsageError
from .camera import CameraEndpoints
from .config import ServerConfig
from .faults import DropConnection, Fault, FaultCounter, parse_fault
from .formats import AnthropicFormat, OpenAIFormat, PromptFormat, QueryFormat, StreamchatFormat
from .openwebui import OpenWebUIEmulator
from .pacing import Pacer
from .replies import ReplyPlan, count_tokens, plan_reply
from .streaming import EventStream
from .ws import WebSocketEndpoints

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
GARBAGE = b"data: \x00\xff\xfe not json {{{\n\n"
# What a hostile server might send to take over a terminal: clear screen, set title, bell.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\r"


def _error(status: int, message: str, code: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": code if code is not None else status}}, status, headers=headers)


def _text_of(content: Any) -> str:
    """A message's text, whether it is a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass(frozen=True)
class SeenRequest:
    """What a test may ask the server about a request it answered (kept in memory only)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client: tuple[str, int] | None = None  # the peer address: which connection carried it


class ReferenceServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.faults = FaultCounter()
        self.seen: deque[SeenRequest] = deque(maxlen=256)
        self.app_state: Any = None  # the Starlette app's state: how endpoint groups find each other

    # -- shared machinery -----------------------------------------------------------------------

    async def _check(self, request: Request) -> tuple[Fault, Response | None]:
        """Auth and injected status: a response to send instead of the reply, if any."""
        body = await request.body()
        self.seen.append(
            SeenRequest(request.method, request.url.path, dict(request.headers), body, request.client and tuple(request.client))
        )
        try:
            fault = parse_fault(request.headers.get("x-streamchat-fault") or request.query_params.get("fault"))
        except UsageError as exc:
            return Fault(), _error(400, str(exc), "bad_fault")
        token = self.config.token
        if token:
            auth = request.headers.get("authorization", "")
            given = (
                auth[7:] if auth.lower().startswith("bearer ") else request.headers.get("x-api-key") or request.query_params.get("token")
            )
            if given != token:
                return fault, _error(401, "invalid or missing token", "unauthorized")
        if fault.count is not None and not self.faults.take(fault):
            return Fault(), None  # the first `count` requests had this fault
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            return fault, _error(fault.status or 500, f"injected status {fault.status}", fault.status, headers)
        return fault, None

    def _plan(self, message: str, model: str, max_tokens: Any = None, prompt_tokens: int | None = None) -> ReplyPlan:
        cfg = self.config
        return plan_reply(
            message,
            model,
            seed=cfg.seed,
            reply_tokens=cfg.reply_tokens,
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
            reasoning=cfg.reasoning,
            prompt_tokens=prompt_tokens,
        )

    def _stream(self, request: Request, fmt: StreamchatFormat, plan: ReplyPlan, fault: Fault) -> Response:
        if fault.content_type:
            return Response("<html><body>not a stream</body></html>", media_type=fault.content_type)
        if fault.empty:
            return Response(b"", media_type="text/event-stream", headers=SSE_HEADERS)
        return EventStream(self._events(fmt, plan, fault, getattr(request.state, "arrival", None)), SSE_HEADERS)

    async def _events(self, fmt: StreamchatFormat, plan: ReplyPlan, fault: Fault, arrival: float | None) -> AsyncIterator[bytes]:
        cfg = self.config
        pacer = Pacer(cfg.ttft_ms, cfg.itl_ms, arrival)
        await pacer.before(0)
        start = time.perf_counter()
        head = fmt.start()
        if fault.garbage:
            head = GARBAGE + head
        if head:
            yield head
        if fault.escape:
            yield fmt.content(ESCAPES)
        if fault.oversize:
            block = "x" * 65536
            for _ in range(fault.oversize // len(block) + 1):
                yield fmt.content(block)
        sent = 0
        tokens = [(True, t) for t in plan.reasoning] + [(False, t) for t in plan.content]
        for is_reasoning, text in tokens:
            if fault.drop_after is not None and sent >= fault.drop_after:
                raise DropConnection
            if fault.stall_after is not None and sent >= fault.stall_after:
                await asyncio.sleep(3600)
            if fault.error_after is not None and sent >= fault.error_after:
                yield fmt.error(f"injected error after {sent} tokens", "injected")
                return
            if sent:
                await pacer.before(sent)
            yield fmt.reasoning(text) if is_reasoning else fmt.content(text)
            sent += 1
        if fault.drop_after is not None and sent >= fault.drop_after:
            raise DropConnection
        if fault.stall_after is not None:
            await asyncio.sleep(3600)
        if fault.error_after is not None:
            yield fmt.error(f"injected error after {sent} tokens", "injected")
            return
        elapsed = time.perf_counter() - start
        tail = fmt.finish(plan.finish_reason)
        if elapsed > 0 and plan.output_tokens:
            tail += fmt.tps(round(plan.output_tokens / elapsed, 1))
        tail += fmt.usage(plan.input_tokens, plan.output_tokens, len(plan.reasoning))
        tail += fmt.done(plan.finish_reason)
        yield tail

    async def _json(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return None, _error(400, "request body is not JSON", "bad_request")
        if not isinstance(body, dict):
            return None, _error(400, "request body must be a JSON object", "bad_request")
        return body, None

    # -- endpoints ------------------------------------------------------------------------------

    async def streamchat(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        body, bad = await self._json(request)
        if bad or body is None:
            return bad  # type: ignore[return-value]
        message = body.get("message")
        if not isinstance(message, str):
            return _error(422, "'message' (a string) is required", "bad_request")
        model = str(body.get("model_id") or "deepseek/deepseek-chat")
        history = body.get("history") if isinstance(body.get("history"), list) else []
        prompt = count_tokens(message) + sum(count_tokens(_text_of(m.get("content"))) for m in history if isinstance(m, dict))
        prompt += count_tokens(body.get("system_prompt") or "")
        plan = self._plan(message, model, body.get("max_tokens"), prompt)
        return self._stream(request, StreamchatFormat(model), plan, fault)

    async def openai(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        body, bad = await self._json(request)
        if bad or body is None:
            return bad  # type: ignore[return-value]
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty list", "invalid_request_error")
        model = str(body.get("model") or "deepseek/deepseek-chat")
        last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), messages[-1])
        message = _text_of(last.get("content") if isinstance(last, dict) else "")
        prompt = sum(count_tokens(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        plan = self._plan(message, model, body.get("max_tokens") or body.get("max_completion_tokens"), prompt)
        if body.get("stream") is not True or fault.json:
            return JSONResponse(self._completion(model, plan))
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return self._stream(request, OpenAIFormat(model, include_usage), plan, fault)

    def _completion(self, model: str, plan: ReplyPlan) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.content)}
        if plan.reasoning:
            message["reasoning_content"] = "".join(plan.reasoning)
        fmt = OpenAIFormat(model)
        return {
            "id": fmt.id,
            "object": "chat.completion",
            "created": fmt.created,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": plan.finish_reason}],
            "usage": {
                "prompt_tokens": plan.input_tokens,
                "completion_tokens": plan.output_tokens,
                "total_tokens": plan.input_tokens + plan.output_tokens,
            },
        }

    async def prompt(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        body, bad = await self._json(request)
        if bad or body is None:
            return bad  # type: ignore[return-value]
        message = body.get("prompt")
        if not isinstance(message, str):
            return _error(422, "'prompt' (a string) is required", "bad_request")
        return self._stream(request, PromptFormat("default"), self._plan(message, "default"), fault)

    async def query(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        message = request.query_params.get("message")
        if message is None:
            return _error(422, "the 'message' query parameter is required", "bad_request")
        return self._stream(request, QueryFormat("default"), self._plan(message, "default"), fault)

    async def anthropic(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        body, bad = await self._json(request)
        if bad or body is None:
            return bad  # type: ignore[return-value]
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return JSONResponse({"type": "error", "error": {"type": "invalid_request_error", "message": "messages: field required"}}, 400)
        model = str(body.get("model") or "claude-demo")
        last = messages[-1] if isinstance(messages[-1], dict) else {}
        message = _text_of(last.get("content"))
        prompt = sum(count_tokens(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        plan = self._plan(message, model, body.get("max_tokens"), prompt)
        return self._stream(request, AnthropicFormat(model, plan.input_tokens), plan, fault)

    async def models(self, request: Request) -> Response:
        fault, early = await self._check(request)
        if early:
            return early
        ids = ["deepseek/deepseek-chat", "demo-reasoner", "streamchat-demo"]
        return JSONResponse({"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "streamchat"} for i in ids]})

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def create_app(config: ServerConfig | None = None) -> Starlette:
    server = ReferenceServer(config or ServerConfig())
    ws = WebSocketEndpoints(server)
    owui = OpenWebUIEmulator(server)
    cfg = server.config
    camera = CameraEndpoints(server, cfg.fps, cfg.width, cfg.height)
    routes = [
        WebSocketRoute("/ws/stream/{camera_id}", camera.stream),
        Route("/api/v1/actions/actions/send", camera.sink, methods=["POST"]),
        Route("/api/config", owui.config, methods=["GET"]),
        Route("/api/v1/auths/signin", owui.signin, methods=["POST"]),
        Route("/api/chat/completions", owui.completions, methods=["POST"]),
        Route("/api/tasks/chat/{chat_id}/stop", owui.stop, methods=["POST"]),
        WebSocketRoute("/api/chat/ws", ws.chat),
        WebSocketRoute("/ws/chat", ws.chat),
        WebSocketRoute("/api/v1/ws/chat/{user_id}", ws.control),
        Route("/api/chat/stream", server.streamchat, methods=["POST"]),
        Route("/v1/chat/completions", server.openai, methods=["POST"]),
        Route("/v1/models", server.models, methods=["GET"]),
        Route("/api/v1/actions/chats/{chat_id}/messages", server.prompt, methods=["POST"]),
        Route("/api/v1/chat/stream", server.query, methods=["GET"]),
        Route("/v1/messages", server.anthropic, methods=["POST"]),
        Route("/api/v1/messages", server.anthropic, methods=["POST"]),
        Route("/healthz", server.healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.reference = server
    app.state.ws = ws
    app.state.openwebui = owui
    app.state.camera = camera
    server.app_state = app.state
    # what uvicorn runs: Socket.IO at /ws/socket.io, everything else to Starlette
    app.state.asgi = _stamp_arrival(socketio.ASGIApp(owui.sio, other_asgi_app=app, socketio_path="ws/socket.io"))
    return app


def _stamp_arrival(asgi: Any) -> Any:
    """Note when each HTTP request reached the application: the configured TTFT counts from there,
    before routing and reading the body, so the server's own overhead stays out of bench's self-check."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["arrival"] = time.perf_counter()
        await asgi(scope, receive, send)

    return app
