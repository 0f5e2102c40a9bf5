"""How the ``pm`` command fails: one line on stderr and an exit code a script can branch on.

Every failure a user can cause or meet (bad settings, bad input, a refused request, an unreachable
server) becomes a ``CliError`` at the command's edge, so ``main`` prints one line and never a
traceback. This module holds only the exit codes and ``CliError``, so that building the parser
imports nothing else; ``failures`` translates library errors into it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CliError",
]

#: Success (for ``pm demo``: both checks held).
EXIT_OK: Final = 0
#: The request failed: invalid input, refused by the server, timed out, breaker open, check failed.
EXIT_FAILED: Final = 1
#: Bad command line or bad settings: nothing was attempted.
EXIT_USAGE: Final = 2
#: The server could not be reached, or the connection was lost for good.
EXIT_UNREACHABLE: Final = 3
#: Interrupted by Ctrl-C (128 + SIGINT), except ``pm watch`` and ``pm serve`` where Ctrl-C is the way out.
EXIT_INTERRUPTED: Final = 130


class CliError(Exception):
    """A failure already phrased for the user: ``main`` prints ``pm: <message>`` and exits."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        self.message = message
        self.exit_code = exit_code
        super().__init__(message)
