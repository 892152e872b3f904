"""circus hooks of a watcher whose instances share a listening socket (payment).

circus binds its sockets once, when it starts, and holds them until it quits. A stopped
payment would then still accept connections that no process ever answers, and serve the
queued requests much later, when it is started again. These hooks close the watcher's
sockets when it stops and bind them again before it starts, so a stopped payment refuses
connections at once, as any stopped service does. Instances that die while the watcher
runs change nothing: the socket stays open and the others take its connections.
"""

from __future__ import annotations

from typing import Any

from circus.sockets import CircusSocket


def _own_sockets(watcher: Any) -> list[str]:
    return [name for name in watcher.sockets or {} if f"circus.sockets.{name}" in watcher.cmd]


def listen(watcher: Any, arbiter: Any, hook_name: str, **_: Any) -> bool:
    """before_start: bind again what ``close`` closed (circusd itself binds at its start)."""
    for name in _own_sockets(watcher):
        if watcher.sockets[name].fileno() == -1:
            fresh = CircusSocket.load_from_config(watcher.sockets[name]._cfg)
            fresh.bind_and_listen()
            watcher.sockets[name] = fresh  # the arbiter's own mapping: one for all watchers
    return True


def close(watcher: Any, arbiter: Any, hook_name: str, **_: Any) -> bool:
    """after_stop: no process left to accept, so no socket to queue connections either."""
    for name in _own_sockets(watcher):
        watcher.sockets[name].close()
    return True
