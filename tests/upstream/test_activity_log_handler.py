"""pm-server's ``backend/crates/pm-ws/tests/activity_log_handler_tests.rs``: nothing to port.

Its only test, ``given_get_activity_log_when_dispatched_then_returns_list``, sends a
``GetActivityLogRequest`` (payload 140) and reads an ``ActivityLogList`` (141): payloads this project
does not model (the reference server answers them INVALID_MESSAGE). The activity entries it would
list are checked where they reach the wire, as ActivityLogCreated broadcasts, in
``test_activity_log_broadcast.py`` and ``test_pm_server_quirks.py``.
"""
