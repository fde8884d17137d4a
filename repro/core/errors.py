"""The one exception type a user sees: a message naming the problem and the fix."""


class ReproError(Exception):
    """Bad input or a missing prerequisite. Entry points print it and exit 2."""
