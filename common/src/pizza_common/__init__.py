"""What the pizza services share, in a few parts; import from the part, never a module in it.

- :mod:`pizza_common.contracts`: what services agree on: events, topics, consumer groups,
  Avro schemas (shipped as package data), shared limits and formats, the clock. No I/O.
- :mod:`pizza_common.runtime`: what every process needs: settings, structured logging,
  tracing, the database engine and migrations, the watchdog.
- :mod:`pizza_common.web`: the HTTP service shell: one strict edge for every API.
- :mod:`pizza_common.kafka`: Kafka clients and the Avro codec through the schema registry
  (install ``pizza-common[kafka]``).
- :mod:`pizza_common.oauth`: the access tokens a service sends to another's API, client
  credentials cached and refreshed ahead (install ``pizza-common[oauth]``).
- :mod:`pizza_common.testing`: fakes the tests share.
"""
