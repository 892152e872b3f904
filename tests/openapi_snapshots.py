"""The OpenAPI documents the services serve, kept equal to committed copies in docs/openapi/.

``just openapi`` rewrites the copies after a deliberate API change; a test fails while
a served document differs from its copy, so no contract changes by accident.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from litestar import Litestar
from litestar.serialization import encode_json

from tests import REPO_ROOT

SERVICES_WITH_REST = ("order_svc", "payment_svc", "delivery_svc")
SNAPSHOT_DIR = REPO_ROOT / "docs" / "openapi"


def served_document(service: str) -> str | None:
    """The document ``<service>.app:create_app()`` serves, or None if it has no app yet."""
    try:
        module = importlib.import_module(f"{service}.app")
    except ModuleNotFoundError:
        return None
    app: Litestar = module.create_app()
    # Through litestar's own encoder, which knows the models used in examples.
    document = json.loads(encode_json(app.openapi_schema.to_schema()))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def snapshot_path(service: str) -> Path:
    return SNAPSHOT_DIR / f"{service}.json"


def main() -> int:
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for service in SERVICES_WITH_REST:
        document = served_document(service)
        if document is None:
            print(f"{service}: no app yet")
            continue
        snapshot_path(service).write_text(document)
        print(f"{service}: wrote {snapshot_path(service).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
