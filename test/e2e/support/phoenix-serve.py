"""Runs `phoenix serve` with its OTLP/gRPC receiver off.

Phoenix 20.26 has no setting for this: its gRPC receiver always listens on [::] (every interface),
and only read-only mode, which also refuses OTLP over HTTP, turns it off. The end-to-end suite
sends OTLP/HTTP to Phoenix's HTTP port on 127.0.0.1 and needs nothing on other interfaces, so
this starts Phoenix's own command with the receiver built as disabled.
"""

import sys

from phoenix.server import grpc_server

_build_receiver = grpc_server.GrpcServer.__init__


def _build_disabled_receiver(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    kwargs["disabled"] = True
    _build_receiver(self, *args, **kwargs)


grpc_server.GrpcServer.__init__ = _build_disabled_receiver  # type: ignore[method-assign]

from phoenix.server.main import main  # noqa: E402

sys.argv = ["phoenix", "serve"]
main()
