"""docs/security.md shows the Kafka ACLs the code declares, row for row."""

from __future__ import annotations

from pizza_common.contracts import ACLS, Grant
from tests import REPO_ROOT

SECURITY_DOC = REPO_ROOT / "docs" / "security.md"


def acl_row(grant: Grant) -> str:
    if grant.name == "*":
        name = "every"
    else:
        name = f"`{grant.name}`" + (" (prefix)" if grant.prefixed else "")
    resource = grant.resource.lower().replace("_", " ")
    return f"| `{grant.principal}` | {grant.operation} | {resource} | {name} |"


def test_the_documented_acls_are_the_declared_ones() -> None:
    documented = [
        line
        for line in SECURITY_DOC.read_text().splitlines()
        if line.startswith("| `") and line.count("|") == 5 and line.split("|")[2].strip().isupper()
    ]
    assert documented == [acl_row(grant) for grant in ACLS]
