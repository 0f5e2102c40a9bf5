"""What the reference server received and did, so tests can prove "exactly once"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ServerCounters"]


@dataclass
class ServerCounters:
    """Plain counters, mutated by the server as it works.

    A test asserts on them after the fact: for example a create retried with the same message_id shows
    ``requests_by_message_id[mid] == 2`` but ``creates_applied == 1`` and ``replays_served == 1``.
    """

    #: Payload field name of every decoded request -> count, e.g. ``"create_work_item_request"``.
    requests_by_type: Counter[str] = field(default_factory=Counter)
    #: message_id of every decoded request -> count.
    requests_by_message_id: Counter[str] = field(default_factory=Counter)
    #: Creates (work items, sprints, projects) that inserted a new row.
    creates_applied: int = 0
    #: Creates answered from the idempotency store instead of being applied again.
    replays_served: int = 0
    handshakes_accepted: int = 0
    #: Handshakes answered with an HTTP error (401, 404, or a refusal fault).
    handshakes_refused: int = 0
    #: Binary frames that did not decode; each one cost its sender the connection.
    undecodable_frames: int = 0
    #: Messages rejected by the rate limiter (no answer, a text warning instead).
    rate_limited: int = 0
    #: Connections closed with 1008 for five refusals in a row (pm-server's rate-limit kick).
    rate_limit_closes: int = 0
    #: Answers withheld by the ``swallow_answers`` fault.
    answers_swallowed: int = 0
    #: Requests answered TIMEOUT because their handling outlasted the handler timeout.
    handler_timeouts: int = 0
    #: Requests answered SERVICE_UNAVAILABLE by the server's own open circuit breaker.
    breaker_rejections: int = 0
    #: Handshakes refused with 503 because the server was at ``max_connections``.
    connection_limit_refusals: int = 0
    #: Requests that raised inside the server (a bug): answered INTERNAL_ERROR. Tests expect 0.
    internal_errors: int = 0

    def reset(self) -> None:
        """Zero everything, e.g. between the phases of one test."""
        self.requests_by_type.clear()
        self.requests_by_message_id.clear()
        self.creates_applied = 0
        self.replays_served = 0
        self.handshakes_accepted = 0
        self.handshakes_refused = 0
        self.undecodable_frames = 0
        self.rate_limited = 0
        self.rate_limit_closes = 0
        self.answers_swallowed = 0
        self.handler_timeouts = 0
        self.breaker_rejections = 0
        self.connection_limit_refusals = 0
        self.internal_errors = 0
