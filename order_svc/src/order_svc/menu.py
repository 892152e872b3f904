"""The menu: what can be ordered, in which sizes, at which price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pizza_common.contracts import PizzaSize


@dataclass(frozen=True, slots=True)
class Pizza:
    pizza_id: str
    name: str
    description: str
    prices: dict[PizzaSize, Decimal]


def _pizza(pizza_id: str, name: str, description: str, prices: str) -> Pizza:
    """``prices``: small, medium and large, separated by spaces."""
    small, medium, large = (Decimal(price) for price in prices.split())
    sizes = {PizzaSize.SMALL: small, PizzaSize.MEDIUM: medium, PizzaSize.LARGE: large}
    return Pizza(pizza_id, name, description, sizes)


MENU: dict[str, Pizza] = {
    pizza.pizza_id: pizza
    for pizza in (
        _pizza("margherita", "Margherita", "Tomato, mozzarella, basil", "12.00 15.50 18.50"),
        _pizza("funghi", "Funghi", "Tomato, mozzarella, mushrooms", "13.00 16.50 19.50"),
        _pizza("salame", "Salame", "Tomato, mozzarella, salami", "14.00 17.50 20.50"),
        _pizza("quattro_formaggi", "Quattro Formaggi", "Four cheeses", "15.00 18.50 21.50"),
        _pizza("diavola", "Diavola", "Tomato, mozzarella, hot salami", "14.50 18.00 21.00"),
        _pizza("verdure", "Verdure", "Tomato, mozzarella, vegetables", "14.00 17.50 20.50"),
    )
}
