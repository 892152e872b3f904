"""The raw HTTP floor: one litestar endpoint that validates the order body with pydantic
and answers 201, served like the services (uvicorn, one worker) and nothing else.

The platform's figures are given as a share of this floor: what a Python HTTP service on
this machine can do at all before it touches a database, a broker or another service.
``python -m pizza_infra.scenarios.bench.floor PORT`` serves it on loopback.
"""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import uvicorn
from litestar import Litestar, post
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from pizza_infra.config import HOST


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class Customer(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()/.-]{6,30}$")]
    email: Annotated[str | None, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] = None


class Address(_Strict):
    street: Annotated[str, Field(min_length=1, max_length=200)]
    postal_code: Annotated[str, Field(pattern=r"^[0-9A-Za-z -]{3,12}$")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    instructions: Annotated[str | None, Field(max_length=300)] = None


class Item(_Strict):
    pizza_id: Annotated[str, Field(min_length=1, max_length=50)]
    size: str = "MEDIUM"
    quantity: Annotated[StrictInt, Field(ge=1, le=20)] = 1


class Payment(_Strict):
    card_number: Annotated[str, Field(pattern=r"^[0-9 ]{12,23}$")]


class OrderIn(_Strict):
    customer: Customer
    delivery_address: Address
    items: Annotated[list[Item], Field(min_length=1, max_length=20)]
    payment: Payment


class Accepted(BaseModel):
    order_id: str
    status: str


@post("/orders", sync_to_thread=False)
def accept(data: OrderIn) -> Accepted:
    return Accepted(order_id=str(uuid.uuid4()), status="accepted")


def app() -> Litestar:
    return Litestar([accept], debug=False)


def main() -> None:
    uvicorn.run(app(), host=HOST, port=int(sys.argv[1]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
