"""``python -m examples.fastapi_host --config examples/fastapi_host/appsettings.json [--port 8080]``."""

from __future__ import annotations

import argparse

import uvicorn

from examples.fastapi_host.app import create_app
from examples.fastapi_host.containers import HostContainer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.fastapi_host", description=__doc__)
    parser.add_argument("--config", default="examples/fastapi_host/appsettings.json", help="settings file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args()
    container = HostContainer()
    container.config.from_dict({"appsettings": arguments.config})
    uvicorn.run(create_app(container), host=arguments.host, port=arguments.port)


if __name__ == "__main__":
    main()
