"""A FastAPI host application that embeds the pm-ws client through its own DI container.

``HostContainer`` (containers.py) includes ``PmContainer`` as a sub-container; the client starts
and stops in the app's lifespan (app.py); endpoints receive the resilient client and the work-item
store through ``@inject`` / ``Provide[...]`` (routes.py). Run it with
``python -m examples.fastapi_host --config examples/fastapi_host/appsettings.json``.
"""

from examples.fastapi_host.app import create_app
from examples.fastapi_host.containers import HostContainer

__all__ = ["HostContainer", "create_app"]
