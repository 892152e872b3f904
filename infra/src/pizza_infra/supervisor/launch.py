"""Starts one instance of a scalable service under circus.

circus numbers the processes of a watcher (``$(circus.wid)``: 1, 2, ...); this turns that
number into the instance's id and port, passes on the listening socket the instances
share (``--fd``, payment), then becomes the service (exec), so signals from circus reach
the service itself.
"""

from __future__ import annotations

import argparse
import os
import sys

from pizza_infra.supervisor.services import SERVICES, PlatformSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="pizza-launch")
    parser.add_argument("service", choices=[s.name for s in SERVICES.values() if s.scalable])
    parser.add_argument("--wid", type=int, required=True, help="circus worker id, from 1")
    parser.add_argument("--fd", type=int, help="a listening socket shared by the instances")
    args = parser.parse_args()
    service = SERVICES[args.service]
    settings = PlatformSettings()
    os.environ[f"{service.env_prefix}INSTANCE"] = f"{service.name}-{args.wid}"
    os.environ[f"{service.env_prefix}PORT"] = str(settings.port(service.name, args.wid))
    if args.fd is not None:
        os.environ[f"{service.env_prefix}LISTEN_FD"] = str(args.fd)
    os.execv(sys.executable, [sys.executable, "-m", service.module])  # noqa: S606


if __name__ == "__main__":
    main()
