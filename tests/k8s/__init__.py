"""The Helm chart (infra/helm/pizza-platform), rendered and validated offline."""
