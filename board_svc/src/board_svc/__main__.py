"""``python -m board_svc``: the web board (``BOARD_PORT``, default 8000)."""

from __future__ import annotations

from board_svc.app import create_app
from board_svc.settings import BoardSettings
from pizza_common.web import run_service


def main() -> None:
    run_service(BoardSettings(), create_app)


if __name__ == "__main__":
    main()
