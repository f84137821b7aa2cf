"""Failures that retrying cannot fix, by exit code: unusable input (2) and other non-retryable failures (3)."""


class JobInputError(ValueError):
    """The job's input cannot be used (an unreadable or invalid split, a model that cannot be found): exit 2."""


class NonRetryableError(RuntimeError):
    """A failure that the same job would hit again (the export parity gate, say): exit 3."""


class Interrupted(BaseException):
    """The job was told to stop (SIGTERM, SIGINT): not a failure. A BaseException, so no `except Exception` swallows it."""
