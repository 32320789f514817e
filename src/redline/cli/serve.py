"""The ``redline serve`` command: the review console and the APIs."""

from __future__ import annotations

from typing import Annotated

import typer

from redline.cli.common import _store, err
from redline.cli.root import app


@app.command(
    epilog="Example: redline serve --port 8000, then open http://127.0.0.1:8000/;"
    " redline serve --workers 4 behind a reverse proxy"
)
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Web processes sharing the port; each loads the bank indexes itself and reloads"
            " them on a change after its own random delay (REDLINE_INDEX_RELOAD_JITTER).",
        ),
    ] = 1,
) -> None:
    """Run the review console and the APIs (/api/v1, /hma) until interrupted."""
    import uvicorn

    from redline.web.app import served_app

    with _store():
        pass
    err.print(
        f"redline console on http://{host}:{port}/"
        + (f" ({workers} processes)" if workers > 1 else "")
        + " (Ctrl-C stops it)"
    )
    # uvicorn's own proxy handling believes X-Forwarded-For from 127.0.0.1 by default; the app
    # decides instead, from REDLINE_TRUSTED_PROXIES only (redline.web.auth.client_address).
    if workers == 1:
        web = served_app()
        uvicorn.run(web, host=host, port=port, log_level="warning", proxy_headers=False)
        return
    # Each worker process builds its own app (settings from REDLINE_*), so its own indexes.
    uvicorn.run(
        "redline.web.app:served_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
    )
