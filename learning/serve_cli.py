"""``hooklake serve`` and ``hooklake report ab``: registration only; heavy imports in the handlers."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve",
        help="run the resident match/route/advice service (unix socket by default, or loopback TCP)",
        description="Keep the embedding model and the pattern index warm and answer POST /match, /route "
        "and /advice in milliseconds; reload when `hooklake learn` publishes a new index; accept events "
        "on POST /api/traces/{start,hook,routing,endpoint}. GET /health and /metrics. A unix socket "
        "(default: <state>/serve.sock, mode 0600) needs no auth; TCP requires a bearer token.",
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help="unix socket path (default: <state>/serve.sock)")
    where.add_argument("--port", type=int, metavar="N", help="listen on TCP port N instead (0 = any free port)")
    serve.add_argument("--host", default=None, metavar="ADDR",
                       help="TCP address to bind with --port (default 127.0.0.1)")
    serve.add_argument("--token", default=None, metavar="T",
                       help="bearer token for TCP (default: read or create <state>/serve-token, mode 0600)")
    serve.add_argument("--max-body-bytes", type=int, default=None, metavar="N",
                       help="refuse request bodies larger than N bytes with 413 (default 1 MiB)")
    serve.add_argument("--cache-size", type=int, default=None, metavar="N",
                       help="answers kept in the LRU cache (default 4096; 0 disables it)")
    serve.add_argument("--reload-interval", type=float, default=None, metavar="S",
                       help="seconds between checks for a new index version (default 1.0)")
    serve.add_argument("--threads", type=int, default=None, metavar="N",
                       help="model threads per request (default 1: fastest on a shared machine)")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    serve.set_defaults(func=_cmd_serve)

    report = subparsers.add_parser("report", help="reports over the lake (report ab: advice A/B comparison)")
    report_sub = report.add_subparsers(dest="report", metavar="REPORT", title="reports")
    ab = report_sub.add_parser(
        "ab",
        help="compare outcomes of advised prompts against the holdout / shadow group",
        description="Success rate (Wilson interval), mean duration and tool failures per trace (bootstrap "
        "intervals) for each advice group, and the treatment-minus-control difference.",
    )
    ab.add_argument("--json", action="store_true", help="print one JSON object")
    ab.add_argument("--confidence", type=float, default=0.95, metavar="C", help="interval level (default 0.95)")
    ab.add_argument("--since", default=None, metavar="DATE", help="only advice given on or after DATE (ISO)")
    ab.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default 0)")
    ab.set_defaults(func=_cmd_report_ab)
    report.set_defaults(func=lambda args: (report.print_help(), 0)[1])


def _cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from hooklake.errors import HooklakeError
    from hooklake.paths import Paths
    from learning import serve

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    if args.host is not None and args.port is None:
        raise HooklakeError("--host needs --port (the unix socket is the default transport)")
    config = serve.ServiceConfig(token=args.token)
    if args.max_body_bytes is not None:
        config.max_body_bytes = args.max_body_bytes
    if args.cache_size is not None:
        config.cache_size = args.cache_size
    if args.reload_interval is not None:
        config.reload_interval_s = args.reload_interval
    if args.threads is not None:
        config.compute_threads = args.threads
    paths = Paths.resolve()
    running = serve.start_server(paths, socket_path=args.socket, host=args.host, port=args.port,
                                 config=config, background=False)
    where = running.address if isinstance(running.address, str) else f"http://{running.address[0]}:{running.address[1]}"
    auth = "bearer token required" if config.token else "no auth (socket mode 0600)"
    print(f"hooklake serve: listening on {where} ({auth}); index version {running.service.holder.version}",
          file=sys.stderr, flush=True)
    serve.serve_forever(running)
    return 0


def _cmd_report_ab(args: argparse.Namespace) -> int:
    from learning import ab

    report = ab.report_from_lake(confidence=args.confidence, since=args.since, seed=args.seed)
    if args.json:
        print(json.dumps(report.as_dict(), default=str))
    else:
        print(ab.format_report(report))
    return 0
