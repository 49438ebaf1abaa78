"""An emulation of Open WebUI 0.12's Socket.IO chat channel, frame for frame as captured from a live
Open WebUI server: python-socketio's ASGI app at ``/ws/socket.io`` (websocket
transport only, compact JSON), ``GET /api/config``, ``POST /api/v1/auths/signin``,
``POST /api/chat/completions`` (socket mode when ``session_id``, ``chat_id`` and ``id`` are all
present) and ``POST /api/tasks/chat/{chat_id}/stop``.

Socket-mode faults (``X-Streamchat-Fault``): ``error-after=N`` (``chat:completion {error}``
mid-reply), ``backend-error`` (``chat:message:error``),
``stall-after=N``, ``foreign`` (events of another message id first), ``call=confirmation``
(a server call before the reply; the answer is recorded).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import socketio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .admission import Admission
from .chat_http import ChatEndpoints
from .config import ServerConfig
from .faults import DropConnection, Fault
from .formats import OPENAI
from .pacing import Pacer
from .replies import Ask, ReplyPlan, plan_for
from .steps import reply_steps

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
    def __init__(self, config: ServerConfig, admission: Admission, chat: ChatEndpoints) -> None:
        self.config = config
        self.admission = admission
        self.chat = chat  # plain mode is the OpenAI endpoint's answer
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
        return self.config.token or DEMO_TOKEN

    def _token_of(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    # -- Socket.IO ------------------------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        """Open WebUI lets anyone connect (user-join is where its token counts); a server started with
        a token wants it here too, in the CONNECT packet's ``auth``, where Socket.IO clients carry it."""
        token = self.config.token
        return not token or (isinstance(auth, dict) and auth.get("token") == token)

    async def _user_join(self, sid: str, data: Any) -> Any:
        token = data.get("auth", {}).get("token") if isinstance(data, dict) and isinstance(data.get("auth"), dict) else None
        if token != self.valid_token:
            return None
        await self.sio.enter_room(sid, f"user:{USER['id']}")
        return {"id": USER["id"], "name": USER["name"]}

    # -- HTTP -----------------------------------------------------------------------------------

    async def api_config(self, request: Request) -> Response:
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
        admitted = await self.admission.http(request)
        if isinstance(admitted, Response):
            return admitted
        body = admitted.json()
        if not (isinstance(body, dict) and body.get("session_id") and body.get("chat_id") and body.get("id")):
            return await self.chat.answer(request, admitted, OPENAI)
        if self._token_of(request) != self.valid_token:
            return JSONResponse({"detail": "Not authenticated"}, 401)
        ask = OPENAI.read(body, request.query_params) if isinstance(body.get("messages"), list) and body["messages"] else None
        if ask is None:
            ask = Ask("", str(body.get("model") or "deepseek/deepseek-chat"))
        ask.prompt_tokens, ask.tools = None, []  # Open WebUI counts only the last message; no tools on the socket
        plan = plan_for(self.config, ask)
        pacer = Pacer(self.config.ttft_ms, self.config.itl_ms, getattr(request.state, "arrival", None))
        chat_id = str(body["chat_id"])
        reply = SocketReply(self.sio, chat_id, str(body["id"]), str(body["session_id"]), ask.model)
        task = asyncio.ensure_future(reply.run(plan, admitted.fault, pacer, self.call_answers))
        self.tasks.setdefault(chat_id, set()).add(task)
        task.add_done_callback(lambda t: self.tasks.get(chat_id, set()).discard(t))
        return JSONResponse({"status": True, "task_ids": [str(uuid.uuid4())], "chat_id": chat_id})


class SocketReply:
    """One reply on the socket, event for event as Open WebUI sends it: ``chat:active``, the role chunk,
    reasoning as a ``reasoning`` output item, text as ``response.output_text.delta``, then the finish
    chunk, usage, ``done`` and ``chat:active`` false; paced and faulted like every other transport."""

    def __init__(self, sio: socketio.AsyncServer, chat_id: str, message_id: str, session_id: str, model: str) -> None:
        self.sio = sio
        self.chat_id, self.message_id, self.session_id = chat_id, message_id, session_id
        self.chunk = {"id": "chatcmpl-" + message_id[:12], "object": "chat.completion.chunk", "created": 0, "model": model}
        self.item_id = "msg_" + uuid.uuid4().hex[:24]
        self.text = ""

    async def emit(self, kind: str, data: Any, message_id: str | None = None) -> None:
        payload = {"chat_id": self.chat_id, "message_id": message_id or self.message_id, "data": {"type": kind, "data": data}}
        await self.sio.emit("events", payload, room=f"user:{USER['id']}")  # every socket of the user, as in Open WebUI

    async def completion(self, data: Any) -> None:
        await self.emit("response:completion", data)

    async def inactive(self) -> None:
        await self.emit("chat:active", {"active": False, "folder_id": None})

    async def run(self, plan: ReplyPlan, fault: Fault, pacer: Pacer, call_answers: list[Any]) -> None:
        try:
            await self.emit("chat:active", {"active": True, "folder_id": None})
            if fault.foreign:
                for word in ("not", " yours"):
                    delta = {"type": "response.output_text.delta", "item_id": "msg_x", "output_index": 0, "content_index": 0, "delta": word}
                    await self.emit("response:completion", delta, str(uuid.uuid4()))
            if fault.call:
                call_answers.append(await self.ask_user(fault.call))
            if fault.backend_error:
                await self.emit("chat:message:error", {"error": {"content": "injected backend failure"}, "done": True})
                await self.inactive()
                return
            await self.stream(plan, fault, pacer)
        except DropConnection:  # drop-after=N: the socket goes mid-reply (the closest a Socket.IO server gets to an abort)
            await self.sio.disconnect(self.session_id)
        except asyncio.CancelledError:
            await self.emit("chat:tasks:cancel", {"output": [_output(self.item_id, self.text, "incomplete")]})
            await self.emit("chat:tasks:cancel", None)
            await self.inactive()

    async def ask_user(self, kind: str) -> Any:
        """A server call (user input, confirmation) before the reply; the client's answer is recorded."""
        data = {"type": kind, "data": {"title": "Proceed?", "message": "May I?"}}
        try:
            return await self.sio.call(
                "events", {"chat_id": self.chat_id, "message_id": self.message_id, "data": data}, to=self.session_id, timeout=5
            )
        except socketio.exceptions.TimeoutError:
            return "no answer"

    async def stream(self, plan: ReplyPlan, fault: Fault, pacer: Pacer) -> None:
        reasoning = {"type": "reasoning", "id": "r_" + uuid.uuid4().hex[:24], "status": "in_progress", "start_tag": "<think>"}
        reasoning |= {"end_tag": "</think>", "attributes": {"type": "reasoning_content"}, "content": [], "summary": None}
        where = {"output_index": 0, "content_index": 0}
        reasoned = 0
        async for kind, token in reply_steps(plan, fault, pacer):
            if kind == "reasoning":
                if not reasoned:
                    await self.completion({"type": "response.output_item.added", "output_index": 0, "item": reasoning})
                await self.completion({"type": "response.reasoning_text.delta", "item_id": reasoning["id"], **where, "delta": token})
                reasoned += 1
                if reasoned == len(plan.reasoning):
                    done = {**reasoning, "status": "completed", "content": [{"type": "reasoning_text", "text": "".join(plan.reasoning)}]}
                    await self.completion({"type": "response.output_item.done", "output_index": 0, "item": done})
            elif kind == "content":
                index = {"output_index": 1 if plan.reasoning else 0, "content_index": 0}
                await self.completion({"type": "response.output_text.delta", "item_id": self.item_id, **index, "delta": token})
                self.text += token
            elif kind == "start":
                delta = {"role": "assistant", "content": ""}
                await self.completion({**self.chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            elif kind == "error":
                await self.emit("chat:completion", {"error": {"message": token, "type": "server_error"}})
                await self.finish()
                return
            elif kind == "end":
                await self.emit(
                    "chat:completion", {**self.chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": plan.finish_reason}]}
                )
                inp, out = plan.input_tokens, plan.output_tokens
                usage = {
                    "prompt_tokens": inp,
                    "completion_tokens": out,
                    "total_tokens": inp + out,
                    "input_tokens": inp,
                    "output_tokens": out,
                }
                await self.emit("chat:completion", {"usage": usage})
                await self.finish()

    async def finish(self) -> None:
        await self.emit("chat:completion", {"done": True, "output": [_output(self.item_id, self.text, "completed")], "title": ""})
        await self.inactive()


def _output(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": [{"type": "output_text", "text": text}]}
