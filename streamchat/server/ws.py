"""The reference server's WebSocket endpoints: chat (seed websocket-streaming) and the hybrid
control channel (seed hybrid-websocket-sse).

WebSocket faults are asked at the handshake (``X-Streamchat-Fault`` header or ``?fault=``) and
apply to every turn of the connection, or only to turn K with ``on-turn=K``:
``drop-after=N`` (TCP abort, no close frame: the client sees 1006), ``close-after=N;code=C``,
``error-after=N``, ``stall-after=N``, ``oversize[=BYTES]`` (one message that large),
``status=C`` (refuse the handshake with HTTP C).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from ..errors import UsageError
from .faults import Fault, parse_fault
from .pacing import Pacer
from .replies import count_tokens
from .wspeer import Peer, serve_peer

if TYPE_CHECKING:
    from .app import ReferenceServer


def _frame(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


class WebSocketEndpoints:
    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.accepted = 0  # connections accepted by the chat endpoint (tests count them)
        self.requests: list[tuple[int, dict[str, Any]]] = []  # (connection number, chat request)
        self.close_codes: list[int] = []  # close codes the clients sent
        self.users: dict[str, dict[str, list[Any]]] = {}

    async def _handshake(self, websocket: WebSocket) -> Fault | None:
        """Auth and handshake faults; None when the connection was refused."""
        try:
            fault = parse_fault(websocket.headers.get("x-streamchat-fault") or websocket.query_params.get("fault"))
        except UsageError as exc:
            await websocket.send_denial_response(JSONResponse({"error": {"message": str(exc)}}, 400))
            return None
        token = self.server.config.token
        if token:
            auth = websocket.headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else websocket.query_params.get("token")
            if given != token:
                await websocket.send_denial_response(JSONResponse({"error": {"message": "invalid or missing token", "code": 401}}, 401))
                return None
        if fault.count is not None and not self.server.faults.take(fault):
            return Fault()  # the first `count` connections had this fault
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            await websocket.send_denial_response(
                JSONResponse({"error": {"message": f"injected status {fault.status}"}}, fault.status, headers=headers)
            )
            return None
        return fault

    async def chat(self, websocket: WebSocket) -> None:
        fault = await self._handshake(websocket)
        if fault is None:
            return
        self.accepted += 1
        await serve_peer(websocket, lambda peer: self._turns(peer, fault, self.accepted), self.close_codes.append)

    async def _turns(self, peer: Peer, fault: Fault, connection: int) -> None:
        turn = 0
        while (text := await peer.receive_text()) is not None:
            try:
                request = json.loads(text)
            except ValueError:
                await peer.send_text(_frame({"type": "error", "message": "request is not JSON", "code": "bad_request"}))
                continue
            if not isinstance(request, dict) or request.get("type") != "chat" or not isinstance(request.get("message"), str):
                await peer.send_text(
                    _frame({"type": "error", "message": 'expected {"type": "chat", "message": ...}', "code": "bad_request"})
                )
                continue
            turn += 1
            self.requests.append((connection, request))
            active = fault if fault.on_turn in (None, turn) else Fault()
            if not await peer.until_gone(self._reply(peer, request, active)):
                return

    async def _reply(self, peer: Peer, request: dict[str, Any], fault: Fault) -> bool:
        """Stream one turn; False when a fault ended the connection."""
        cfg = self.server.config
        pacer = Pacer(cfg.ttft_ms, cfg.itl_ms)  # the turn's clock starts when its request arrived
        history = request.get("history") if isinstance(request.get("history"), list) else []
        prompt = count_tokens(request["message"]) + sum(count_tokens(str(m.get("content", ""))) for m in history if isinstance(m, dict))
        model = str(request.get("model_id") or "deepseek/deepseek-chat")
        plan = self.server._plan(request["message"], model, request.get("max_tokens"), prompt)
        await pacer.before(0)
        if fault.oversize:
            await peer.send_text(_frame({"type": "content", "text": "x" * fault.oversize}))
        loop = asyncio.get_running_loop()
        start = loop.time()
        tokens = [("reasoning", t) for t in plan.reasoning] + [("content", t) for t in plan.content]
        for sent in range(len(tokens) + 1):
            outcome = await self._fault_point(peer, fault, sent)
            if outcome is not _GO_ON:
                return outcome is _TURN_OVER
            if sent == len(tokens):
                break
            if sent:
                await pacer.before(sent)
            kind, text = tokens[sent]
            await peer.send_text(_frame({"type": kind, "text": text}))
        elapsed = loop.time() - start
        if elapsed > 0 and plan.output_tokens:
            await peer.send_text(_frame({"type": "tps", "tps": round(plan.output_tokens / elapsed, 1)}))
        usage = {
            "type": "usage",
            "input_tokens": plan.input_tokens,
            "output_tokens": plan.output_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
        }
        await peer.send_text(_frame(usage))
        await peer.send_text(_frame({"type": "done", "finish_reason": plan.finish_reason}))
        return True

    async def _fault_point(self, peer: Peer, fault: Fault, sent: int) -> object:
        """Before token ``sent``: go on, end the turn (error), or end the connection."""
        if fault.drop_after is not None and sent >= fault.drop_after:
            peer.drop()
        if fault.close_after is not None and sent >= fault.close_after:
            await peer.close(fault.close_code or 1000)
            return _CLOSED
        if fault.stall_after is not None and sent >= fault.stall_after:
            await asyncio.sleep(3600)
        if fault.error_after is not None and sent >= fault.error_after:
            await peer.send_text(_frame({"type": "error", "message": f"injected error after {sent} tokens", "code": "injected"}))
            return _TURN_OVER  # an error ends the turn, not the connection
        return _GO_ON

    # -- the hybrid control channel -------------------------------------------------------------

    async def control(self, websocket: WebSocket) -> None:
        fault = await self._handshake(websocket)
        if fault is None:
            return
        record = self.users.setdefault(websocket.path_params["user_id"], {"typing": [], "messages": []})
        await serve_peer(websocket, lambda peer: self._control(peer, record))

    @staticmethod
    async def _control(peer: Peer, record: dict[str, list[Any]]) -> None:
        while (text := await peer.receive_text()) is not None:
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            if kind == "typing":
                record["typing"].append(bool(event.get("typing")))
            elif kind == "message" and event.get("role") in ("user", "assistant") and isinstance(event.get("content"), str):
                record["messages"].append({"role": event["role"], "content": event["content"]})
                await peer.send_text(_frame({"type": "ack", "count": len(record["messages"])}))
            elif kind in ("sync", "history"):
                await peer.send_text(_frame({"type": "history", "messages": record["messages"]}))


_GO_ON, _TURN_OVER, _CLOSED = object(), object(), object()
