"""Reading request bodies the way HMA does, with size limits HMA's clients can rely on.

JSON bodies and multipart uploads are read as a stream and refused with 413 ``Content too
large`` as soon as they pass their limit, so a huge upload never fills memory or disk. An upload
is one file whose form field name is its HMA content type (``photo`` or ``video``); it is saved
to a private temporary folder under the client's file name (which ``add_media`` records as
provenance) and deleted when the request ends.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from redline.web import Services, services
from redline.web.hma.errors import TOO_LARGE, abort

CONTENT_TYPES = ("photo", "video")
MISSING_UPLOAD = "Missing multipart/form-data file upload"
# Beside the file, a form carries part headers, boundaries and small fields (metadata, note).
FORM_OVERHEAD = 1 << 20
# A vPDQ hash of a three-hour video is about a megabyte of JSON; nothing HMA takes is larger.
JSON_LIMIT = 16 << 20
MAX_FORM_FILES = 8  # more than one is refused anyway; this bounds the work before saying so
MAX_FORM_FIELDS = 32
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_QUOTED_PATH = re.compile(r"""(['"])(?:[A-Za-z]:)?[/\\][^'"]*?([^/\\'"]*)\1""")


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body in chunks, refused with 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        abort(413, TOO_LARGE)  # said up front: refuse before reading a byte
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            abort(413, TOO_LARGE)
        yield chunk


async def read_json(request: Request) -> Any:
    """The request's JSON body (None when empty); 400 when it is not JSON, 413 when too large."""
    body = bytearray()
    async for chunk in _capped(request, JSON_LIMIT):
        body.extend(chunk)
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        abort(400, "Request body is not valid JSON")


JsonBody = Annotated[Any, Depends(read_json)]


@dataclass(slots=True)
class Form:
    """A parsed multipart form: its file parts by field name, and its text fields."""

    files: list[tuple[str, UploadFile]] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


async def read_form(
    request: Request, app: Annotated[Services, Depends(services)]
) -> AsyncIterator[Form]:
    """The multipart form of the request (empty when it is not multipart), files capped in size.

    Files are spooled by Starlette (memory, then a temporary file) and closed after the request.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        yield Form()
        return
    limit = app.settings.max_media_bytes
    parser = MultiPartParser(
        request.headers,
        _capped(request, limit + FORM_OVERHEAD),
        max_files=MAX_FORM_FILES,
        max_fields=MAX_FORM_FIELDS,
    )
    try:
        parsed = await parser.parse()
    except MultiPartException as error:
        abort(400, f"invalid multipart/form-data: {error.message}")
    try:
        form = Form()
        for name, value in parsed.multi_items():
            if isinstance(value, str):
                form.fields[name] = value
            else:
                if value.size is not None and value.size > limit:
                    abort(413, TOO_LARGE)
                form.files.append((name, value))
        yield form
    finally:
        await parsed.close()


FormBody = Annotated[Form, Depends(read_form)]


@dataclass(frozen=True, slots=True)
class Upload:
    """The one file of an HMA upload, saved to disk."""

    content_type: str  # photo | video
    path: Path


def _safe_name(filename: str | None) -> str:
    # Only the last path component, in characters every file system takes: the name is recorded
    # as provenance, never used to choose where anything is written outside the temporary folder.
    name = _UNSAFE.sub("_", Path((filename or "").replace("\\", "/")).name).strip("._")
    return name[:120] or "upload"


@contextmanager
def saved_upload(form: Form, missing: str = MISSING_UPLOAD) -> Iterator[Upload]:
    """The form's single file, checked as HMA checks it and saved in a temporary folder."""
    if not form.files:
        abort(400, missing)
    if len(form.files) > 1:
        abort(400, "Only one file allowed per request")
    content_type, upload = form.files[0]
    if content_type not in CONTENT_TYPES:
        abort(400, f"no such content_type: '{content_type}'")
    with tempfile.TemporaryDirectory(prefix="redline-upload-") as folder:
        path = Path(folder) / _safe_name(upload.filename)
        with path.open("wb") as out:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, out)
        yield Upload(content_type, path)


def without_paths(message: str) -> str:
    """An error message with quoted file paths cut to their names.

    Decoders name the file they failed on by its full path; the server's temporary and data
    folders are none of the client's business.
    """
    return _QUOTED_PATH.sub(r"\1\2\1", message)
