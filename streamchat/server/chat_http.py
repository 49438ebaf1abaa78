"""The HTTP chat endpoints: one handler for every dialect (admit, read the request, plan, answer).

Which dialect a path speaks is the route table's business (``app.py``); what a dialect looks like on
the wire is its module's (``formats/``). The Open WebUI emulator hands its plain-mode requests here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .admission import Admission, Admitted, error
from .config import ServerConfig
from .formats import BadRequest, Dialect
from .formats.ollama import tags
from .pacing import Pacer
from .replies import plan_for
from .streaming import stream_reply

MODEL_IDS = ["deepseek/deepseek-chat", "demo-reasoner", "streamchat-demo"]


class ChatEndpoints:
    def __init__(self, config: ServerConfig, admission: Admission) -> None:
        self.config = config
        self.admission = admission

    def endpoint(self, dialect: Dialect) -> Any:
        """The Starlette endpoint for a path that speaks ``dialect``."""

        async def handle(request: Request) -> Response:
            admitted = await self.admission.http(request)
            if isinstance(admitted, Response):
                return admitted
            return await self.answer(request, admitted, dialect)

        return handle

    async def answer(self, request: Request, admitted: Admitted, dialect: Dialect) -> Response:
        """The reply to an admitted request in ``dialect``: streamed, or one JSON body once the whole
        reply would have been generated (TTFT and every ITL: a non-streamed answer takes as long)."""
        body: Any = None
        if dialect.has_body:
            body = admitted.json()
            if body is None:
                return error(400, "request body is not JSON", "bad_request")
            if not isinstance(body, dict):
                return error(400, "request body must be a JSON object", "bad_request")
        try:
            ask = dialect.read(body, request.query_params)
        except BadRequest as bad:
            return JSONResponse(bad.body, bad.status)
        plan = plan_for(self.config, ask)
        fmt = dialect.format(ask, plan)
        arrival = getattr(request.state, "arrival", None)
        if fmt.answers_whole and (not ask.stream or admitted.fault.json):
            pacer = Pacer(self.config.ttft_ms, self.config.itl_ms, arrival)
            await pacer.before(0)
            fmt.start()  # (its bytes are not sent: a dialect notes when generation began)
            await pacer.before(max(0, len(plan.items()) - 1))
            return JSONResponse(fmt.whole())
        return stream_reply(fmt, admitted.fault, arrival, paced=(self.config.ttft_ms, self.config.itl_ms))

    async def models(self, request: Request) -> Response:
        admitted = await self.admission.http(request)
        if isinstance(admitted, Response):
            return admitted
        listed = [{"id": i, "object": "model", "created": 0, "owned_by": "streamchat"} for i in MODEL_IDS]
        return JSONResponse({"object": "list", "data": listed})

    async def ollama_tags(self, request: Request) -> Response:
        admitted = await self.admission.http(request)
        if isinstance(admitted, Response):
            return admitted
        return JSONResponse(tags(MODEL_IDS))

    @staticmethod
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})
