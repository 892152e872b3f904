"""The platform's tests: unit, integration (real Kafka and registry) and end to end."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
