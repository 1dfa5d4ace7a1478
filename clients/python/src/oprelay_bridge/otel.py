"""Nests the agent's own OpenTelemetry spans under a run's root span (needs ``opentelemetry-api``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

try:
    from opentelemetry import context as otel_context
    from opentelemetry.context import Context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError as missing:  # pragma: no cover - exercised only without the optional dependency
    raise ImportError(
        "oprelay_bridge.otel needs opentelemetry-api: pip install opentelemetry-api"
        " (or, from the repository, pip install './clients/python[otel]')"
    ) from missing


def context_of(traceparent: str) -> Context:
    """An OpenTelemetry context whose current span is the one ``traceparent`` names (the run's root span)."""
    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


@contextmanager
def run_context(traceparent: str) -> Iterator[Context]:
    """While the block runs, spans the agent starts are children of the run's root span.

    ``with run.otel_context():`` is the same for a started run.
    """
    if not traceparent:
        raise ValueError("traceparent is empty: start the run first")
    token = otel_context.attach(context_of(traceparent))
    try:
        yield otel_context.get_current()
    finally:
        otel_context.detach(token)
