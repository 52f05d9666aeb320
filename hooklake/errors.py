"""Errors a user can act on: the CLI prints their message (no traceback) and exits non-zero."""


class HooklakeError(Exception):
    """A problem with the user's input, files or environment; the message names what and where."""

    exit_code = 1
