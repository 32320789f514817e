"""``redline check-urls`` and ``redline worker``: liveness checks and the scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from redline.cli.common import JsonFlag, _print_json, _store, err, out
from redline.cli.root import app
from redline.config import get_settings

AllowHost = Annotated[
    list[str] | None,
    typer.Option("--allow-host", help="host:port that may be private (a test server; repeat)."),
]


@app.command("check-urls")
def check_urls(allow_host: AllowHost = None, as_json: JsonFlag = False) -> None:
    """Re-check every referred URL now (SSRF-safe: private addresses are refused)."""
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.model.base import utcnow

    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (_settings, engine):
        statuses = scheduler.check_referrals(engine, utcnow(), check, timedelta(0))
    if as_json:
        _print_json({str(k): v for k, v in statuses.items()})
        return
    for referral_id, status in statuses.items():
        out.print(f"referral {referral_id}: {status}")
    out.print(f"{len(statuses)} URL(s) checked")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[int, typer.Option(min=5, help="Seconds between rounds.")] = 60,
    check_hours: Annotated[
        float, typer.Option(min=0.1, help="Re-check each referred URL this often.")
    ] = 6.0,
    allow_host: AllowHost = None,
) -> None:
    """The scheduler: removal-order and complaint alerts, preservation purges, liveness checks.
    In-process; with REDLINE_BROKER_URL set, a Celery worker with beat runs it instead."""
    import time
    from functools import partial

    from redline.actions import liveness, scheduler
    from redline.model.base import utcnow

    if get_settings().broker_url and not once:
        from redline.tasks import make_celery

        with _store():
            pass
        make_celery().worker_main(["worker", "--beat", "--concurrency=1", "--loglevel=INFO"])
        return
    check = partial(liveness.check_url, allow_hosts=allow_host or ())
    with _store() as (settings, engine):
        while True:
            done = scheduler.tick(
                engine,
                settings.data_dir,
                utcnow(),
                check,
                timedelta(hours=check_hours),
                scheduler.Delivery.from_settings(settings),
            )
            for alert in done.alerts:
                err.print(f"ALERT {escape(alert)}")
            if done.purged or done.checked or done.released or done.delivered:
                out.print(
                    f"purged {len(done.purged)}, checked {len(done.checked)}, notices "
                    f"released {len(done.released)}, delivered {done.delivered}"
                )
            if once:
                return
            time.sleep(interval)
