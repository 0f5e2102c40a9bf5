"""``python -m projectmanagement_services.demo --control-server DB``: the child side of ``ServerProcess``."""

import asyncio
import sys

from projectmanagement_services.demo.server_process import control_server

if __name__ == "__main__" and sys.argv[1:2] == ["--control-server"]:
    asyncio.run(control_server(sys.argv[2], rate_limited="--no-rate-limit" not in sys.argv[3:]))
