"""The error a user can cause, said as a sentence."""


class LappanaError(Exception):
    """An error caused by the input or the environment, not by a bug.

    The message is a full sentence that says what is wrong and, where it can,
    what to change. Commands print it without a traceback and exit with 2.
    """
