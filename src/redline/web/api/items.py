"""/api/v1/items: content in from a platform as it is posted, and what became of it.

``POST /items`` takes a batch of up to 1,000 records in the JSON Lines ingest schema (see
``redline.ingest.jsonl``), either as JSON, ``{"source": ..., "records": [{...}, ...]}``, or as
multipart/form-data with the fields ``source`` and ``records`` (JSON Lines text) and the media
files as file parts, which records name in ``media`` by their file names. A media entry may
instead be an object of the hashes the platform computed itself (``pdq``, ``md5``, ``sha256``,
``vpdq``). The records go through the ingest run's own validation, storage, deduplication and
revisions (``ingest.run.ingest_records``), so a record gives the same result by file or by API;
the answer (202) has one status per record, and a bad record never fails the batch. Stored items
are then processed: on the workers when a broker is set, otherwise in this process after the
answer is sent.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from redline import jsontext
from redline.errors import Forbidden, Invalid
from redline.ingest.jsonl import BadRecord, json_error, record_from_object
from redline.ingest.records import Record, Rejection
from redline.ingest.run import RecordOutcome, ingest_records
from redline.pipeline.work import Carried
from redline.review.accounts import Reviewer
from redline.review.item_record import item_record
from redline.tasks.work import submit
from redline.web import App, RowId
from redline.web.auth import Bearer, api_user, token_reviewer
from redline.web.security import body_limit

router = APIRouter(tags=["items"])

MAX_RECORDS: Final = 1000
API_FORMAT: Final = "api"
DEFAULT_SOURCE: Final = "api"
_SOURCE_NAME = re.compile(r"^[^\x00-\x1f]{1,200}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$")


class TooMany(Invalid):
    """More records than one request may carry."""

    status = 413


ItemsWrite = Annotated[Reviewer, api_user("items:write")]


def _reader(app: App, credentials: Bearer) -> Reviewer:
    """An items:read token, or a cases:read one (which read items before they had a scope)."""
    try:
        return token_reviewer(app, credentials, "items:read")
    except Forbidden:
        pass
    try:
        return token_reviewer(app, credentials, "cases:read")
    except Forbidden:
        raise Forbidden("this token lacks the items:read (or cases:read) scope") from None


def _source(value: Any) -> str:
    source = DEFAULT_SOURCE if value is None else value
    if not isinstance(source, str) or not _SOURCE_NAME.match(source):
        raise Invalid("source: 1-200 characters, no control characters")
    return source


def _count(records: int) -> None:
    if records > MAX_RECORDS:
        raise TooMany(f"{records:,} records: at most {MAX_RECORDS:,} per request")
    if records == 0:
        raise Invalid("records: no records")


def _record(obj: Any, folder: Path, location: str, raw: bytes) -> Record:
    return record_from_object(obj, base_dir=folder, file=API_FORMAT, location=location, raw=raw)


def _from_objects(objects: list[Any], folder: Path) -> list[Record | Rejection]:
    reads: list[Record | Rejection] = []
    for number, obj in enumerate(objects, start=1):
        location = f"record {number}"
        raw = json.dumps(obj, ensure_ascii=False).encode()
        try:
            reads.append(
                record_from_object(
                    obj, base_dir=folder, file=API_FORMAT, location=location, raw=raw
                )
            )
        except BadRecord as error:
            reads.append(Rejection(API_FORMAT, location, str(error), raw))
    return reads


def _from_lines(text: str, folder: Path) -> list[Record | Rejection]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    _count(len(lines))
    reads: list[Record | Rejection] = []
    for number, line in lines:
        location = f"line {number}"
        raw = line.encode()
        try:
            obj = jsontext.loads(line)
            reads.append(
                record_from_object(
                    obj, base_dir=folder, file=API_FORMAT, location=location, raw=raw
                )
            )
        except json.JSONDecodeError as error:
            reads.append(Rejection(API_FORMAT, location, json_error(error), raw))
        except BadRecord as error:
            reads.append(Rejection(API_FORMAT, location, str(error), raw))
    return reads


async def _read_batch(request: Request, folder: Path) -> tuple[str, list[Record | Rejection]]:
    """The source and the records of the request; uploaded files saved into ``folder``."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(
                max_files=MAX_RECORDS * 4, max_fields=8, max_part_size=64 << 20
            )
        except MultiPartException as error:
            raise Invalid(f"invalid multipart/form-data: {error.message}") from None
        try:
            names: set[str] = set()
            for key, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    continue
                name = value.filename or ""
                if not _FILE_NAME.match(name) or name in names:
                    raise Invalid(
                        f"file part {key!r}: its file name must be unique, a plain name (letters,"
                        f" digits, '.', '_', '-', spaces), got {name[:100]!r}"
                    )
                names.add(name)
                with (folder / name).open("wb") as out:
                    await value.seek(0)
                    shutil.copyfileobj(value.file, out)
            records = form.get("records")
            if not isinstance(records, str):
                raise Invalid("records: a form field of JSON Lines, one record a line")
            return _source(form.get("source")), _from_lines(records, folder)
        finally:
            await form.close()
    body = await request.body()
    try:
        document = jsontext.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Invalid("the body is not JSON (or send multipart/form-data)") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise Invalid('the body must be {"source": ..., "records": [{...}, ...]}')
    objects: list[Any] = document["records"]
    _count(len(objects))
    return _source(document.get("source")), _from_objects(objects, folder)


@router.post(
    "/items",
    status_code=202,
    summary="Submit items (a batch of up to 1,000 records)",
    openapi_extra=body_limit("items"),
)
async def post_items(
    me: ItemsWrite, app: App, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    """Store the records as ``redline ingest`` would and queue the stored ones for processing;
    one status per record: stored, revision, duplicate (with the item it repeats) or
    quarantined (with the reason)."""
    with tempfile.TemporaryDirectory(prefix="redline-items-") as temporary:
        folder = Path(temporary)
        source, reads = await _read_batch(request, folder)
        outcomes: list[RecordOutcome] = await run_in_threadpool(
            ingest_records,
            reads,
            source,
            engine=app.engine,
            settings=app.settings,
            actor=me.actor,
            format_name=API_FORMAT,
        )
    kept = [(o.item_id, o) for o in outcomes if o.item_id and o.status in {"stored", "revision"}]
    if kept:
        stored = [item_id for item_id, _ in kept]
        carrying = Carried(
            media=frozenset(item_id for item_id, o in kept if o.media),
            text=frozenset(item_id for item_id, o in kept if o.text),
        )
        # After the answer: on the workers with a broker, else here (the laptop's one process).
        background.add_task(submit, app.settings, stored, site=app.worksite, carrying=carrying)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return {
        "source": source,
        "counts": counts,
        "records": [o.as_dict() for o in outcomes],
        "processing": "queued" if app.settings.broker_url else "in-process",
    }


@router.get("/items/{item_id}", summary="One item with its signals, matches, case and decisions")
def get_item(app: App, credentials: Bearer, item_id: RowId) -> dict[str, Any]:
    """An item as stored, with what redline found and decided about it (``items:read``, or
    ``cases:read``)."""
    me = _reader(app, credentials)
    me.require("case.view")
    with app.engine.connect() as connection:
        record = item_record(connection, item_id, me)
    if record["account"]:
        # The console's page of every item this account posted in the source.
        where = urlencode({"source": record["source"], "account": record["account"]})
        record["account_page"] = f"/posting-accounts?{where}"
    return record
