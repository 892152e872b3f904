"""The Helm chart's Python side: its generated topics file (``chart.py``) and the offline
validators the tests run it through (``tools.py`` builds them, ``kube_schemas.py``
prepares the JSON schemas they check against)."""
