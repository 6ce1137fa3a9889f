"""Errors a user can act on: the CLI prints them as one line, never a stack trace."""


class SkewlessError(Exception):
    """A problem with the user's input or environment, stated with what to do about it."""
