"""typing.Protocol interfaces, one-to-one with the .NET design's interfaces."""

from projectmanagement_core.interfaces.connection_health import IConnectionHealth
from projectmanagement_core.interfaces.event import EventHandler, IEvent
from projectmanagement_core.interfaces.stores import ISprintStore, IWorkItemStore
from projectmanagement_core.interfaces.websocket_client import IWebSocketClient

__all__ = [
    "EventHandler",
    "IConnectionHealth",
    "IEvent",
    "ISprintStore",
    "IWebSocketClient",
    "IWorkItemStore",
]
