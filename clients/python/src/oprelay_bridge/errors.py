"""The one exception type the client raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class BridgeError(Exception):
    """A failed call: the bridge's error ``code``, its ``message``, ``details`` and the HTTP ``status``.

    ``status`` is 0 when no answer arrived (``connection_failed``). ``retry_after`` is the number of
    seconds the bridge asked to wait (429 and 503 answers), else None.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        details: Sequence[Mapping[str, object]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: list[dict[str, object]] = [dict(d) for d in details or ()]
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"BridgeError(code={self.code!r}, status={self.status}, message={self.message!r})"
