"""``python -m apiframe_magic.sandbox``: run the offline Apiframe sandbox until Ctrl+C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._faults import FAULT_KINDS, Faults
from ._server import (
    CREDITS_ENV,
    MAX_CONCURRENT_JOBS,
    OVER_LIMIT_MODES,
    SANDBOX_API_KEY,
    SandboxServer,
    credits_from_env,
)

EPILOG = f"""\
fault injection:
  --fault KIND[:TIMES] arms a fault before the first request (repeatable; route "any").
  Kinds:
    rate_limit   answer 429 with Retry-After: 1 instead of handling the request
    unavailable  answer 503 instead of handling the request
    not_json     answer 200 with an HTML page instead of JSON (API routes, not downloads)
    drop         handle the request, then close the connection without a response
                 (a submit still creates and charges its job: retry with the same
                 Idempotency-Key and you get the same job, not a second charge)
    fail_job     the next job(s) end FAILED: "Provider returned an error: content
                 policy violation"; credits are refunded
    truncate     a download sends the full Content-Length but half the body
    slow_job     the next job(s) take 30 s
  At run time, on the API origin:
    curl -X POST $APIFRAME_BASE_URL/_sandbox/faults -H 'Content-Type: application/json' \\
         -d '{{"kind": "rate_limit", "times": 2, "route": "poll", "retry_after": 1}}'
    curl $APIFRAME_BASE_URL/_sandbox/faults            # list armed faults
    curl -X DELETE $APIFRAME_BASE_URL/_sandbox/faults  # clear them
  Routes: submit (POST /v2/music/generate), poll (GET /v2/jobs/ID), download (the CDN), any.

credits:
  Each account starts with --credits N (default: ${CREDITS_ENV}, else 1,000,000).
  Set balances at run time (0 makes the next submit a 402 "Insufficient credits"):
    curl -X POST $APIFRAME_BASE_URL/_sandbox/credits -H 'Content-Type: application/json' \\
         -d '{{"credits": 0}}'                                  # every account
    curl -X POST $APIFRAME_BASE_URL/_sandbox/credits -H 'Content-Type: application/json' \\
         -H 'X-API-Key: afk_...' -d '{{"credits": 25}}'         # that key's account
    curl $APIFRAME_BASE_URL/_sandbox/credits -H 'X-API-Key: afk_...'        # one balance

concurrency:
  Each account runs at most --max-concurrent-jobs N jobs at once (default {MAX_CONCURRENT_JOBS}, reported
  by GET /v2/me as team.maxConcurrentJobs); a job holds its slot from submit until it ends.
  Over the limit, --over-limit queue keeps a new job QUEUED until a slot frees, and
  --over-limit reject answers 429 "Too many concurrent jobs" with Retry-After (no charge).
  Change both at run time:
    curl -X POST $APIFRAME_BASE_URL/_sandbox/limits -H 'Content-Type: application/json' \\
         -d '{{"maxConcurrentJobs": 3, "overLimit": "reject"}}'
    curl $APIFRAME_BASE_URL/_sandbox/limits

Any key starting with afk_ works (e.g. {SANDBOX_API_KEY}) unless --api-key is given.
"""


def _fault(text: str) -> tuple[str, int]:
    kind, _, times = text.partition(":")
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    try:
        count = int(times) if times else 1
    except ValueError:
        raise argparse.ArgumentTypeError(f"TIMES must be a whole number, got {times!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError("TIMES must be at least 1")
    return kind, count


def _credits(text: str) -> int:
    try:
        credits = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"N must be a whole number, got {text!r}") from None
    if credits < 0:
        raise argparse.ArgumentTypeError("N must be 0 or more")
    return credits


def _limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"N must be a whole number, got {text!r}") from None
    if limit < 1:
        raise argparse.ArgumentTypeError("N must be 1 or more")
    return limit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m apiframe_magic.sandbox",
        description="Run an offline emulation of Apiframe's v2 music API (and its CDN) on "
                    "loopback. Audio is synthesised locally; nothing leaves this machine.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="API port (default 8787; 0 = any)")
    parser.add_argument("--cdn-port", type=int, default=0,
                        help="port of the CDN origin serving audio (default: any free port)")
    parser.add_argument("--job-seconds", type=float, default=3.0, metavar="S",
                        help="how long each job runs before completing (default 3)")
    parser.add_argument("--credits", type=_credits, default=None, metavar="N",
                        help=f"credits each API key's account starts with (default: "
                             f"${CREDITS_ENV}, else 1,000,000)")
    parser.add_argument("--max-concurrent-jobs", type=_limit, default=MAX_CONCURRENT_JOBS,
                        metavar="N", help=f"jobs an account may run at once (default "
                                          f"{MAX_CONCURRENT_JOBS})")
    parser.add_argument("--over-limit", choices=OVER_LIMIT_MODES, default="queue",
                        help="what a submit over that limit gets: queue (wait QUEUED for a "
                             "slot, the default) or reject (429 with Retry-After)")
    parser.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                        help="accept only this key (repeatable); default: any afk_... key")
    parser.add_argument("--files-dir", metavar="DIR",
                        help="keep rendered audio here (default: a temp dir removed on exit)")
    parser.add_argument("--state", metavar="PATH",
                        help="keep credits, jobs and idempotency keys in this SQLite file, so a "
                             "sandbox started again on it serves the same jobs (default: in "
                             "memory, gone on exit)")
    parser.add_argument("--fault", action="append", type=_fault, default=[],
                        metavar="KIND[:TIMES]", help="arm a fault at start (see below)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    faults = Faults()
    for kind, times in args.fault:
        faults.inject(kind, times=times)
    server = SandboxServer(
        host=args.host, port=args.port, cdn_port=args.cdn_port, job_seconds=args.job_seconds,
        credits=credits_from_env() if args.credits is None else args.credits,
        api_keys=args.api_keys, files_dir=args.files_dir, faults=faults, verbose=args.verbose,
        max_concurrent_jobs=args.max_concurrent_jobs, over_limit=args.over_limit,
        state_path=args.state,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    # Installed before the banner is printed, so whoever reads it can stop us cleanly.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except OSError as exc:
        print(f"cannot start the sandbox on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if server.notice is not None:
        print(server.notice, file=sys.stderr, flush=True)
    key = args.api_keys[0] if args.api_keys else SANDBOX_API_KEY
    print(f"Apiframe sandbox running at {server.url} (audio CDN at {server.cdn_url}); "
          "Ctrl+C to stop", flush=True)
    print(f"export APIFRAME_BASE_URL={server.url} APIFRAME_API_KEY={key}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
