"""The floor: a bare Starlette endpoint returning a small JSON on Gatepass's server stack.

Same uvicorn, loop (uvloop), HTTP parser (httptools), worker count and server options as
``gatepass serve``, so every Gatepass figure can be given as a ratio to this one, measured in
the same run on the same machine.

    python bench/floor.py --port 8100 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def floor(request: Request) -> Response:
    return JSONResponse({"ok": True, "service": "floor"})


app = Starlette(routes=[Route("/floor", floor, methods=["GET"])])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # The options gatepass.cli.serve passes to uvicorn.run, so the two differ only in the app.
    uvicorn.run(
        "floor:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
