"""``POST /topics/{topic}/replay``: one dead letter (partition and offset) or all of a
dead-letter topic's sent back to their source topic (see :mod:`board_svc.replay`).

The body is a form (the topic page's Replay buttons, or ``curl -d``): ``partition`` and
``offset`` (or ``position=<partition>:<offset>``), or ``all=true``; the operator's token
in ``Authorization: Bearer`` or, from the page, in the form's ``token`` field. A browser
gets a page saying what happened, anything else JSON (``application/problem+json`` when
refused); bad input is a clear 4xx, never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from board_svc.i18n import texts
from board_svc.pages import language_of
from board_svc.rendering import render
from board_svc.replay import READ_ONLY, is_dead_letter_topic
from board_svc.runtime import Board
from pizza_common.kafka import DeadLetter, NoSuchDeadLetter, ReplayError, dlq_topics
from pizza_common.web import problem

log = structlog.get_logger(__name__)

AnyRequest = Request[Any, Any, Any]
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024


class Refused(Exception):
    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


@post("/topics/{topic:str}/replay", include_in_schema=False, request_max_body_size=MAX_FORM_BYTES)
async def replay_dead_letters(
    request: AnyRequest, board: NamedDependency[Board], topic: FromPath[str]
) -> Response[Any]:
    try:
        replayed = await _replay(request, board, topic)
    except Refused as refused:
        return _refusal(request, topic, refused)
    where = [{"from": d.position, "to": d.source_topic} for d in replayed]
    log.info("dead letters replayed", topic=topic, count=len(replayed))
    if _wants_html(request):
        return _page(request, 200, topic, replayed=where)
    return Response({"replayed": where}, status_code=200)


async def _replay(request: AnyRequest, board: Board, topic: str) -> list[DeadLetter]:
    replayer = board.replayer
    if not replayer.access.enabled:
        raise Refused(403, "Replay is off", READ_ONLY)
    _same_origin(request)
    form = await _form(request)
    authorization = request.headers.get("Authorization")
    if authorization is None and form.get("token"):
        authorization = f"Bearer {form['token']}"
    try:
        await replayer.authorize(authorization)
    except HTTPException as exc:  # 401, 403, or 503 while the issuer cannot be reached
        raise Refused(exc.status_code, "Not allowed", exc.detail, exc.headers) from exc
    if not is_dead_letter_topic(topic):
        raise Refused(
            404,
            "Not a dead-letter topic",
            f"{topic} is not a dead-letter topic; these are: {', '.join(dlq_topics())}",
        )
    position = _position(form)
    try:
        return await board.replayer.replay(topic, position)
    except NoSuchDeadLetter as exc:
        raise Refused(404, "No such dead letter", f"no dead letter at {exc} in {topic}") from exc
    except ReplayError as exc:
        raise Refused(503, "Kafka did not take the replay", str(exc)) from exc


def _same_origin(request: AnyRequest) -> None:
    """A page of another site must not make an operator's browser replay (a form posts
    across sites): a browser names the page's origin, which must be the board's own."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser's cross-site post (curl, the command line)
        return
    # The host alone: behind a proxy that ends TLS the scheme seen here is not the page's.
    own = request.headers.get("Host", "")
    if urlsplit(origin).netloc != own:
        raise Refused(403, "Cross-site request", f"a replay is taken from pages of {own} only")


async def _form(request: AnyRequest) -> dict[str, str]:
    body = await request.body()
    if not body:
        return {}
    media_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise Refused(415, "Unsupported media type", f"the body must be {FORM}")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "Bad form", "the body is not a well-formed UTF-8 form") from exc
    if any(len(values) > 1 for values in fields.values()):
        raise Refused(400, "Bad form", "each field may be given once")
    return {name: values[0] for name, values in fields.items()}


def _position(form: dict[str, str]) -> tuple[int, int] | None:
    """(partition, offset), or None for all of the topic's dead letters."""
    if form.get("all") == "true":
        return None
    if "position" in form:  # the page's buttons: "partition:offset"
        partition, _, offset = form["position"].partition(":")
    else:
        partition, offset = form.get("partition", ""), form.get("offset", "")
    partition, offset = partition.strip(), offset.strip()
    if not (partition.isdigit() and offset.isdigit() and len(partition + offset) <= 30):
        raise Refused(
            422,
            "Which dead letter?",
            "give partition and offset (whole numbers), or all=true for every dead letter",
        )
    return int(partition), int(offset)


def _wants_html(request: AnyRequest) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _refusal(request: AnyRequest, topic: str, refused: Refused) -> Response[Any]:
    log.info("replay refused", topic=topic, status=refused.status, reason=refused.detail)
    if _wants_html(request):
        return _page(request, refused.status, topic, refused=refused, headers=refused.headers)
    return problem(refused.status, refused.title, refused.detail, headers=refused.headers)


def _page(
    request: AnyRequest,
    status: int,
    topic: str,
    *,
    replayed: list[dict[str, str]] | None = None,
    refused: Refused | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    language = language_of(request)
    html = render(
        "replayed.html",
        t=texts(language),
        lang=language,
        path=request.url.path,
        topic=topic,
        replayed=replayed,
        refused=refused,
    )
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Content-Language": language, **(headers or {})},
    )
