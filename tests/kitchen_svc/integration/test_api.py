"""The app over HTTP before its lifespan ran: nothing connected, and it says so."""

from __future__ import annotations

from litestar.testing import TestClient

from kitchen_svc.app import create_app
from kitchen_svc.settings import KitchenSettings


def test_before_start_up_status_says_starting_and_ready_says_why_not() -> None:
    client = TestClient(create_app(KitchenSettings(instance="kitchen-5")))  # no lifespan

    assert client.get("/status").json() == {"instance": "kitchen-5", "state": "starting"}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "consumer": "consumer not started",
        "database": "not started",
    }


def test_the_status_route_is_the_only_route_of_its_own() -> None:
    paths = create_app().openapi_schema.to_schema()["paths"]
    assert sorted(paths) == ["/health", "/ready", "/status"]
    assert paths["/status"]["get"]["operationId"] == "StatusStatus"
