"""The board_svc application: pages, live updates, static files, and the clients opened in
the lifespan. Creating the app connects to nothing."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from board_svc.live import board_events, board_json, order_events, place_order
from board_svc.pages import (
    board_page,
    follow_page,
    order_page,
    records_page,
    topics_page,
    track_page,
)
from board_svc.replay_route import replay_dead_letters
from board_svc.runtime import Runtime
from board_svc.settings import BoardSettings
from pizza_common.web import service_app

STATIC = Path(__file__).parent / "static"


def create_app(settings: BoardSettings | None = None) -> Litestar:
    runtime = Runtime(settings or BoardSettings())
    return service_app(
        title="board_svc",
        description="The platform's web board: order, track, watch, browse topics.",
        route_handlers=[
            order_page,
            track_page,
            board_page,
            topics_page,
            records_page,
            replay_dead_letters,
            follow_page,
            place_order,
            order_events,
            board_events,
            board_json,
            create_static_files_router(path="/static", directories=[STATIC]),
        ],
        ready_checks={"kafka": runtime.cluster_ready},
        dependencies={"board": Provide(runtime.board, sync_to_thread=False)},
        lifespan=[runtime.lifespan],
    )
