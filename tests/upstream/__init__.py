"""pm-server's own wire-level tests (TonyMarkham/blazor-agile-board v0.1.4, ``backend/crates/pm-ws/tests``),
ported to Python against :class:`~projectmanagement_services.testing.PmTestServer`, plus the pm-server
quirks the reference server reproduces. Each module names the upstream file it ports; each test is
named after the upstream test and says so in its docstring.
"""
