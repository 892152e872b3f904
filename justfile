# Distributed Pizza Platform: every task of the project. `./pizza <recipe>` runs these
# without any set-up; with the virtualenv active, plain `just <recipe>` does too.

set dotenv-load := false

# Run a command of the project's environment.
run := "uv run --frozen --no-sync"

# List the recipes.
default:
    @just --list --unsorted

# Start the whole platform: Kafka, schema registry, schemas, then every service (KITCHENS=n).
up:
    {{run}} pizza-ctl up

# Stop every service, then Kafka and the registry.
down:
    {{run}} pizza-ctl down

# Every process: service, instance, pid, port, health.
ps:
    {{run}} pizza-ctl ps

# The services' logs merged, each line prefixed by its instance (just logs kitchen -f).
logs *ARGS:
    {{run}} pizza-ctl logs {{ARGS}}

# Stop one service (order, payment, kitchen, delivery) while the rest runs.
stop service:
    {{run}} pizza-ctl stop {{service}}

# Start one service again.
start service:
    {{run}} pizza-ctl start {{service}}

# Set the number of kitchen instances: just scale kitchen=3
scale spec:
    {{run}} pizza-ctl scale {{spec}}

# Demo: stop the kitchen, place 5 orders, start it: all are cooked and delivered.
demo-buffering:
    {{run}} pizza-ctl demo buffering

# Demo: 3 kitchens share 30 orders, visibly in their logs.
demo-scaling:
    {{run}} pizza-ctl demo scaling

# Demo: payment offline gives a friendly 503 at once; orders succeed again when it returns.
demo-payment-outage:
    {{run}} pizza-ctl demo payment-outage

# Demo: delivery offline misses nothing; it catches up when it returns.
demo-delivery-offline:
    {{run}} pizza-ctl demo delivery-offline

# Benchmark: hey against POST /orders on a separate platform, beside the HTTP floor and
# Kafka's ceiling; JSON + PNG in var/bench (docs/performance.md).
bench *ARGS:
    {{run}} pizza-ctl bench {{ARGS}}

# Chaos soak on a separate platform: orders under random faults, then every invariant checked.
chaos *ARGS:
    {{run}} pizza-ctl chaos {{ARGS}}

# Consumer lag per group and partition (the platform's lag monitoring).
lag *ARGS:
    {{run}} pizza-ctl lag {{ARGS}}

# Start Kafka (KRaft), the schema registry, Zipkin and Keycloak, fetching them on first use; apply topics.
infra-up:
    {{run}} pizza-ctl infra up

# Stop Kafka, the schema registry, Zipkin and Keycloak.
infra-down:
    {{run}} pizza-ctl infra down

# Say whether Kafka, the schema registry, Zipkin and Keycloak answer.
infra-status:
    {{run}} pizza-ctl infra status

# Stop, kill or start one Kafka node while the others run: just broker stop 2 --kill
broker action node *ARGS:
    {{run}} pizza-ctl broker {{action}} {{node}} {{ARGS}}

# List the platform's topics with partitions and end offsets.
topics:
    {{run}} pizza-ctl topics

# Dead letters of a DLQ topic; replay chosen ones to their source: just dlq-replay order.placed.dlq --offset 0:3
dlq-replay topic *ARGS:
    {{run}} pizza-ctl dlq-replay {{topic}} {{ARGS}}

# Create or update the platform's topics (declared in pizza_common.contracts).
topics-apply:
    {{run}} pizza-ctl topics-apply

# Register the Avro contracts in schemas/ (BACKWARD_TRANSITIVE).
schemas-register *ARGS:
    {{run}} pizza-ctl schemas-register {{ARGS}}

# Fail when a schema in schemas/ is incompatible with what is registered.
schemas-check *ARGS:
    {{run}} pizza-ctl schemas-check {{ARGS}}

# Rewrite the Helm chart's topics.yaml from the topics of pizza_common.contracts.
chart-topics:
    {{run}} pizza-ctl chart-topics

# Check the Helm chart offline: helm lint/template, kubeconform on Kubernetes', Strimzi's and KEDA's schemas.
k8s-check *ARGS:
    {{run}} pytest -m k8s tests/k8s {{ARGS}}

# Lint and check formatting.
lint:
    {{run}} ruff check .
    {{run}} ruff format --check .

# Format the code.
fmt:
    {{run}} ruff format .
    {{run}} ruff check --fix .

# Type-check everything strictly.
typecheck:
    {{run}} mypy

# Lint, type-check, then run every test (starts its own Kafka and registry on other ports).
test *ARGS: lint typecheck
    {{run}} pytest {{ARGS}}

# Rewrite docs/screenshots/*.png: the web board's pages in Chromium, on a platform of its own.
screenshots:
    PIZZA_SCREENSHOTS=docs/screenshots {{run}} pytest tests/e2e/test_board.py

# Rewrite docs/openapi/*.json from what the services serve (after a deliberate API change).
openapi:
    {{run}} python -m tests.openapi_snapshots

# Place the sample order (docs/examples/order.json) with order_svc and print the answer.
order:
    {{run}} pizza-ctl order

# Rewrite .env.example from the settings classes (after adding or changing a setting).
env-example:
    {{run}} python -m tests.env_example
