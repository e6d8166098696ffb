"""One sentence for the user from an exception: where the app layer meets the front-ends.

The command line prints it after `resnet-studio <command>: error:`; the window shows it in the
tab that ran the job. Expected errors (a bad model name, a missing file, an impossible spec)
are their message alone; anything else keeps its type name so a bug report says what broke.
"""

from __future__ import annotations

from resnet_studio.core.common.progress import Cancelled

EXPECTED = (KeyError, ValueError, OSError)


def is_expected(exc: BaseException) -> bool:
    """A user error (one line, exit code 2) rather than a bug."""
    return isinstance(exc, EXPECTED)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])  # str(KeyError) would add quotes around the message
    text = str(exc)
    if is_expected(exc) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
