"""What the business does. Functions take a session and plain values, flush, never commit."""


class ServiceError(Exception):
    """A business rule refused the request. ``message`` is a translatable sentence for the user.

    ``field`` names the form field the message belongs to, if any.
    """

    def __init__(self, message, field: str | None = None, **details) -> None:
        super().__init__(message)
        self.message = message  # a lazy string: translated when shown
        self.field = field
        self.details = details  # machine-readable extras (counts, ids) for callers and tests

    @property
    def text(self) -> str:
        """The message in the current language."""
        return str(self.message)
