"""Query and path parameters are strict in every service's app: an integer is spelled as a
JSON integer, a number as a finite JSON number, a boolean as true or false."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from litestar import Litestar, get
from litestar.concurrency import sync_to_thread
from litestar.exceptions import ImproperlyConfiguredException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.testing import TestClient

from pizza_common.web import service_app


@get("/things", sync_to_thread=False)
def things(
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    page: FromQuery[int | None] = None,
    share: FromQuery[float] = 1.0,
    fresh: FromQuery[bool] = False,
    ids: Annotated[list[int] | None, QueryParameter(name="id")] = None,
    name: FromQuery[str] = "",
) -> dict[str, Any]:
    return {"limit": limit, "page": page, "share": share, "fresh": fresh, "ids": ids, "name": name}


@get("/things/{number:str}", sync_to_thread=False)
def thing(number: FromPath[int]) -> dict[str, int]:
    return {"number": number}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    app = service_app(title="t", description="d", route_handlers=[things, thing], ready_checks={})
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=2", {"limit": 2}),
        ("limit=1000&page=-7", {"limit": 1000, "page": -7}),
        ("page=0", {"page": 0}),
        ("share=0.5", {"share": 0.5}),
        ("share=1e-3", {"share": 0.001}),
        ("share=2", {"share": 2.0}),
        ("fresh=true", {"fresh": True}),
        ("fresh=false", {"fresh": False}),
        ("id=1&id=20", {"ids": [1, 20]}),
        ("name=2.0", {"name": "2.0"}),  # text stays text
    ],
)
def test_values_spelled_as_their_type_are_taken(
    client: TestClient[Litestar], query: str, expected: dict[str, Any]
) -> None:
    answer = client.get(f"/things?{query}")
    assert answer.status_code == 200, answer.text
    assert expected.items() <= answer.json().items()


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ("limit=2.0", "limit", "2.0"),
        ("limit=1e2", "limit", "1e2"),
        ("limit=%2B5", "limit", "+5"),
        ("limit=05", "limit", "05"),
        ("limit=1_000", "limit", "1_000"),
        ("limit=%D9%A3", "limit", "\u0663"),  # ARABIC-INDIC DIGIT THREE
        ("limit=", "limit", ""),
        ("page=3.0", "page", "3.0"),
        ("share=nan", "share", "nan"),
        ("share=inf", "share", "inf"),
        ("share=1e400", "share", "1e400"),
        ("share=.5", "share", ".5"),
        ("fresh=1", "fresh", "1"),
        ("fresh=True", "fresh", "True"),
        ("fresh=yes", "fresh", "yes"),
        ("id=1&id=2.0", "id", "2.0"),
    ],
)
def test_other_spellings_are_400_naming_the_parameter(
    client: TestClient[Litestar], query: str, field: str, text: str
) -> None:
    answer = client.get(f"/things?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["detail"].startswith(f"query parameter {field} must be")
    assert problem["errors"] == [{"field": field, "message": problem["errors"][0]["message"]}]
    assert problem["errors"][0]["message"].endswith(f"not {text!r}")


def test_every_bad_parameter_is_named() -> None:
    app = service_app(title="t", description="d", route_handlers=[things], ready_checks={})
    with TestClient(app) as test_client:
        problem = test_client.get("/things?limit=2.0&fresh=1").json()
    assert sorted(error["field"] for error in problem["errors"]) == ["fresh", "limit"]


def test_path_parameters_are_as_strict(client: TestClient[Litestar]) -> None:
    assert client.get("/things/42").json() == {"number": 42}
    for text in ("42.0", "4e1", "042"):
        answer = client.get(f"/things/{text}")
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] == (
            f"path parameter number must be an integer, written in digits (such as 100), "
            f"not {text!r}"
        )


def test_a_typed_path_template_is_refused_when_the_app_is_built() -> None:
    @get("/lenient/{number:int}", sync_to_thread=False)
    def lenient(number: FromPath[int]) -> int:
        return number

    with pytest.raises(ImproperlyConfiguredException, match=r"declare \{number:str\}"):
        service_app(title="t", description="d", route_handlers=[lenient], ready_checks={})


def test_checking_a_request_does_not_cross_to_a_worker_thread(
    client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Litestar runs a plain function guard in a worker thread: a crossing on every request.
    crossings: list[str] = []

    def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append(getattr(fn, "__qualname__", repr(fn)))
        return sync_to_thread(fn, *args, **kwargs)

    # Where Litestar's wrapper of plain functions looks the name up.
    monkeypatch.setattr("litestar.utils.sync.sync_to_thread", counted)
    assert client.get("/things?limit=2").status_code == 200
    assert client.get("/things?limit=2.0").status_code == 400
    assert crossings == []
