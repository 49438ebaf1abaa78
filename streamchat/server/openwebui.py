"""An emulation of Open WebUI 0.12's Socket.IO chat channel, frame for frame as the captures show
(``shared/captures/open-webui``): python-socketio's ASGI app at ``/ws/socket.io`` (websocket
transport only, compact JSON), ``GET /api/config``, ``POST /api/v1/auths/signin``,
``POST /api/chat/completions`` (socket mode when ``session_id``, ``chat_id`` and ``id`` are all
present) and ``POST /api/tasks/chat/{chat_id}/stop``.

Socket-mode faults (``X-Streamchat-Fault``): ``error-after=N`` (``chat:completion {error}``
mid-reply, as capture 23), ``backend-error`` (``chat:message:error``, capture 22),
``stall-after=N``, ``foreign`` (events of another message id first), ``call=confirmation``
(a server call before the reply; the answer is recorded).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import socketio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from .app import ReferenceServer

DEMO_TOKEN = "streamchat-demo-jwt"
USER = {"id": "00000000-0000-4000-8000-000000000001", "name": "User", "email": "admin@localhost", "role": "admin"}


class _CompactJSON:
    """The JSON python-socketio writes: compact, as Open WebUI's server sends it."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(obj, **kwargs)

    loads = staticmethod(json.loads)


class OpenWebUIEmulator:
    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.sio = socketio.AsyncServer(
            async_mode="asgi", transports=["websocket"], cors_allowed_origins="*", json=_CompactJSON, logger=False, engineio_logger=False
        )
        self.tasks: dict[str, set[asyncio.Task[None]]] = {}
        self.stopped: list[str] = []
        self.call_answers: list[Any] = []
        self.sio.on("connect", self._connect)
        self.sio.on("user-join", self._user_join)

    @property
    def valid_token(self) -> str:
        return self.server.config.token or DEMO_TOKEN

    def _token_of(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    # -- Socket.IO ------------------------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True  # Open WebUI lets anyone connect; user-join is where the token counts

    async def _user_join(self, sid: str, data: Any) -> Any:
        token = data.get("auth", {}).get("token") if isinstance(data, dict) and isinstance(data.get("auth"), dict) else None
        if token != self.valid_token:
            return None
        await self.sio.enter_room(sid, f"user:{USER['id']}")
        return {"id": USER["id"], "name": USER["name"]}

    # -- HTTP -----------------------------------------------------------------------------------

    async def config(self, request: Request) -> Response:
        return JSONResponse(
            {
                "name": "streamchat reference (Open WebUI emulation)",
                "version": "0.12.4",
                "features": {"auth": False, "enable_websocket": True, "enable_api_keys": False},
            }
        )

    async def signin(self, request: Request) -> Response:
        return JSONResponse(
            {**USER, "token": self.valid_token, "token_type": "Bearer", "expires_at": None, "permissions": {}, "profile_image_url": ""}
        )

    async def stop(self, request: Request) -> Response:
        if self._token_of(request) != self.valid_token:
            return JSONResponse({"detail": "Not authenticated"}, 401)
        chat_id = request.path_params["chat_id"]
        self.stopped.append(chat_id)
        for task in self.tasks.pop(chat_id, set()):
            task.cancel()
        return JSONResponse({"status": True, "message": f"All tasks for item {chat_id} stopped."})

    async def completions(self, request: Request) -> Response:
        """Socket mode when session_id, chat_id and id are all given; the OpenAI SSE stream otherwise."""
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not (isinstance(body, dict) and body.get("session_id") and body.get("chat_id") and body.get("id")):
            return await self.server.openai(request)
        fault, early = await self.server._check(request)
        if early:
            return early
        if self._token_of(request) != self.valid_token:
            return JSONResponse({"detail": "Not authenticated"}, 401)
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), {})
        content = last.get("content") if isinstance(last, dict) else ""
        message = content if isinstance(content, str) else ""
        model = str(body.get("model") or "deepseek/deepseek-chat")
        plan = self.server._plan(message, model, body.get("max_tokens"))
        chat_id = str(body["chat_id"])
        task = asyncio.ensure_future(self._reply(chat_id, str(body["id"]), str(body["session_id"]), plan, fault, model))
        self.tasks.setdefault(chat_id, set()).add(task)
        task.add_done_callback(lambda t: self.tasks.get(chat_id, set()).discard(t))
        return JSONResponse({"status": True, "task_ids": [str(uuid.uuid4())], "chat_id": chat_id})

    async def _reply(self, chat_id: str, message_id: str, session_id: str, plan: Any, fault: Any, model: str) -> None:
        cfg = self.server.config
        room = f"user:{USER['id']}"  # every socket of the user gets the events, as in Open WebUI

        async def emit(kind: str, data: Any, mid: str = message_id) -> None:
            await self.sio.emit("events", {"chat_id": chat_id, "message_id": mid, "data": {"type": kind, "data": data}}, room=room)

        chunk = {"id": "chatcmpl-" + message_id[:12], "object": "chat.completion.chunk", "created": 0, "model": model}
        item_id = "msg_" + uuid.uuid4().hex[:24]
        text = ""
        try:
            await emit("chat:active", {"active": True, "folder_id": None})
            if fault.foreign:
                for word in ("not", " yours"):
                    await emit(
                        "response:completion",
                        {"type": "response.output_text.delta", "item_id": "msg_x", "output_index": 0, "content_index": 0, "delta": word},
                        str(uuid.uuid4()),
                    )
            if fault.call:
                try:
                    answer = await self.sio.call(
                        "events",
                        {
                            "chat_id": chat_id,
                            "message_id": message_id,
                            "data": {"type": fault.call, "data": {"title": "Proceed?", "message": "May I?"}},
                        },
                        to=session_id,
                        timeout=5,
                    )
                except socketio.exceptions.TimeoutError:
                    answer = "no answer"
                self.call_answers.append(answer)
            if fault.backend_error:
                await emit("chat:message:error", {"error": {"content": "injected backend failure"}, "done": True})
                await emit("chat:active", {"active": False, "folder_id": None})
                return
            if cfg.ttft_ms > 0:
                await asyncio.sleep(cfg.ttft_ms / 1000.0)
            await emit(
                "response:completion",
                {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
            )
            sent = 0
            if plan.reasoning:
                reasoning_id = "r_" + uuid.uuid4().hex[:24]
                item = {
                    "type": "reasoning",
                    "id": reasoning_id,
                    "status": "in_progress",
                    "start_tag": "<think>",
                    "end_tag": "</think>",
                    "attributes": {"type": "reasoning_content"},
                    "content": [],
                    "summary": None,
                }
                await emit("response:completion", {"type": "response.output_item.added", "output_index": 0, "item": item})
                for token in plan.reasoning:
                    await self._pace(sent)
                    await emit(
                        "response:completion",
                        {
                            "type": "response.reasoning_text.delta",
                            "item_id": reasoning_id,
                            "output_index": 0,
                            "content_index": 0,
                            "delta": token,
                        },
                    )
                    sent += 1
                done_item = {**item, "status": "completed", "content": [{"type": "reasoning_text", "text": "".join(plan.reasoning)}]}
                await emit("response:completion", {"type": "response.output_item.done", "output_index": 0, "item": done_item})
            index = 1 if plan.reasoning else 0
            for token in plan.content:
                if fault.stall_after is not None and sent >= fault.stall_after:
                    await asyncio.sleep(3600)
                if fault.error_after is not None and sent >= fault.error_after:
                    await emit("chat:completion", {"error": {"message": f"injected error after {sent} tokens", "type": "server_error"}})
                    await emit("chat:completion", {"done": True, "output": [_output(item_id, text, "completed")], "title": ""})
                    await emit("chat:active", {"active": False, "folder_id": None})
                    return
                await self._pace(sent)
                await emit(
                    "response:completion",
                    {"type": "response.output_text.delta", "item_id": item_id, "output_index": index, "content_index": 0, "delta": token},
                )
                text += token
                sent += 1
            await emit("chat:completion", {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": plan.finish_reason}]})
            inp, out = plan.input_tokens, plan.output_tokens
            await emit(
                "chat:completion",
                {
                    "usage": {
                        "prompt_tokens": inp,
                        "completion_tokens": out,
                        "total_tokens": inp + out,
                        "input_tokens": inp,
                        "output_tokens": out,
                    }
                },
            )
            await emit("chat:completion", {"done": True, "output": [_output(item_id, text, "completed")], "title": ""})
            await emit("chat:active", {"active": False, "folder_id": None})
        except asyncio.CancelledError:
            await emit("chat:tasks:cancel", {"output": [_output(item_id, text, "incomplete")]})
            await emit("chat:tasks:cancel", None)
            await emit("chat:active", {"active": False, "folder_id": None})

    async def _pace(self, sent: int) -> None:
        itl = self.server.config.itl_ms
        if sent and itl > 0:
            await asyncio.sleep(itl / 1000.0)


def _output(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": [{"type": "output_text", "text": text}]}
