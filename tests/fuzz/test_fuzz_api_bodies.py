"""Fuzzing the request bodies the HMA API and /api/v1 parse themselves: JSON of any shape (and
bytes that are not JSON), multipart forms with odd files, fields and metadata, odd query strings.
Every answer must be a refusal the API document declares, in ``{"message": ...}``, or a success;
never a 5xx.

(The schemathesis run in tests/web/test_schemathesis.py covers what the document describes;
the HMA routes read their bodies themselves, so the document cannot describe them.)
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine

from redline.banks import add_entry, create_bank
from redline.config import Settings
from redline.model.base import utcnow
from redline.review.accounts import add_user
from redline.review.tokens import SCOPES, create_token
from redline.web.app import create_app
from tests.fuzz.budget import executions, fuzz_settings
from tests.fuzz.hostile import (
    deeply_nested,
    json_values,
    mutated,
    nasty_text,
    numbers,
    scalars,
    to_json,
)

BANK = "FUZZ_BANK"
PDQ = "f" * 64
JSON_ROUTES = [
    ("POST", "/hma/c/banks"),
    ("PUT", f"/hma/c/bank/{BANK}"),
    ("POST", f"/hma/c/bank/{BANK}/signal"),
    ("PUT", f"/hma/c/bank/{BANK}/content/1"),
    ("POST", "/hma/m/compare"),
    ("POST", "/api/v1/banks"),
    ("POST", "/api/v1/cases/1/decisions"),
    ("POST", "/api/v1/orders"),
    ("POST", "/api/v1/complaints"),
    ("POST", "/api/v1/samples"),
]
UPLOAD_ROUTES = ["/hma/h/hash", "/hma/m/lookup", f"/hma/c/bank/{BANK}/content"]


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The app as a server runs it (errors answered, not raised), a lead's token with every
    scope, a bank with entries; and the API document."""
    with engine.begin() as connection:
        add_user(connection, "fuzz-lead", "lead", "a generic long passphrase 8317 quartz", "test")
        secret = create_token(connection, "fuzz-lead", "fuzz", list(SCOPES), "test")
    with engine.begin() as connection:
        create_bank(connection, BANK, actor="test", now=utcnow())
    with engine.begin() as connection:
        add_entry(connection, BANK, {"pdq": PDQ}, actor="test", note="generic", now=utcnow())
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client, app.openapi()


def answered(api: tuple[TestClient, dict[str, Any]], method: str, path: str, **kwargs: Any) -> int:
    """Send the request; check the answer is no server error, is declared, and a refusal says
    why in ``{"message": ...}``."""
    client, document = api
    executions[f"api body {method} {path.split('/')[1]}"] += 1
    response = client.request(method, path, **kwargs)
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
    template = _template(document, path)
    declared = set(document["paths"][template][method.lower()]["responses"])
    assert str(response.status_code) in declared, (method, path, response.status_code)
    if response.status_code >= 400:
        assert isinstance(response.json().get("message"), str), response.text[:300]
    return response.status_code


def _template(document: dict[str, Any], path: str) -> str:
    path = path.split("?", 1)[0]
    parts = path.split("/")
    for template in document["paths"]:
        pieces = template.split("/")
        if len(pieces) == len(parts) and all(
            p == q or q.startswith("{") for p, q in zip(parts, pieces, strict=True)
        ):
            return template
    raise AssertionError(f"{path} is not in the API document")


json_bodies = st.one_of(
    json_values.map(lambda v: to_json(v).encode("utf-8", "surrogatepass")),
    st.fixed_dictionaries(
        {},
        optional={
            key: st.one_of(scalars, json_values)
            for key in (
                "name",
                "enabled",
                "enabled_ratio",
                "note",
                "pdq",
                "vpdq",
                "video_md5",
                "disable_until_ts",
                "verdict",
                "category",
                "reason",
                "cluster",
                "description",
                "confirmed",
                "size",
                "seed",
                "decision_id",
                "text",
                "urls",
                "authority",
            )
        },
    ).map(lambda v: to_json(v).encode("utf-8", "surrogatepass")),
    st.integers(1, 5000).map(lambda depth: deeply_nested(depth).encode()),
    st.binary(max_size=200),
)


@given(route=st.sampled_from(JSON_ROUTES), body=json_bodies, data=st.data())
@fuzz_settings()
def test_json_bodies(
    api: tuple[TestClient, dict[str, Any]], route: tuple[str, str], body: bytes, data: st.DataObject
) -> None:
    method, path = route
    if data.draw(st.booleans()):
        body = data.draw(mutated(body))
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "", "x/y"]))
    answered(api, method, path, content=body, headers={"content-type": content_type})


def sendable(text: str) -> str:
    """``text`` as an HTTP client can send it (a lone surrogate has no UTF-8 form: U+FFFD)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((64, 64), 40 + seed).convert("RGB").save(out, "PNG")
    return out.getvalue()


@given(
    path=st.sampled_from(UPLOAD_ROUTES),
    parts=st.lists(
        st.tuples(
            st.sampled_from(["photo", "video", "file", "photo "]) | nasty_text,
            st.sampled_from([_png(1), b"", b"\x00" * 10]).flatmap(mutated),
        ),
        max_size=2,
    ),
    fields=st.dictionaries(
        st.sampled_from(["metadata", "note", "csrf"]) | nasty_text,
        st.one_of(nasty_text, json_values.map(to_json)),
        max_size=3,
    ),
    query=st.dictionaries(
        st.sampled_from(["types", "seed", "banks", "bypass_coinflip", "url"]),
        nasty_text,
        max_size=2,
    ),
    filename=nasty_text,
)
@fuzz_settings()
def test_uploads(
    api: tuple[TestClient, dict[str, Any]],
    path: str,
    parts: list[tuple[str, bytes]],
    fields: dict[str, str],
    query: dict[str, str],
    filename: str,
) -> None:
    files = [
        (sendable(name), (sendable(filename), content, "application/octet-stream"))
        for name, content in parts
    ]
    data = {sendable(k): sendable(v) for k, v in fields.items() if "\x00" not in k}
    params = {k: sendable(v) for k, v in query.items()}
    answered(api, "POST", path, files=files or None, data=data, params=params)


@given(
    path=st.sampled_from(
        [
            "/hma/m/lookup",
            "/hma/m/raw_lookup",
            "/hma/m/index/status",
            f"/hma/c/bank/{BANK}/content/1",
            "/hma/c/bank/X",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(
            [
                "signal",
                "signal_type",
                "banks",
                "seed",
                "bypass_coinflip",
                "include_distance",
                "include_signals",
                "url",
            ]
        ),
        st.one_of(nasty_text, st.sampled_from(["pdq", "vpdq", "video_md5", PDQ]), numbers.map(str)),
        max_size=4,
    ),
)
@fuzz_settings()
def test_queries(api: tuple[TestClient, dict[str, Any]], path: str, query: dict[str, str]) -> None:
    answered(api, "GET", path, params={k: sendable(v) for k, v in query.items()})


def test_vpdq_hash_of_a_huge_number_is_refused(api: tuple[TestClient, dict[str, Any]]) -> None:
    """A crasher: a vPDQ "hash" that is a 5000-digit number was a ValueError past the parser."""
    query = {"signal_type": "vpdq", "signal": "9" * 5000}
    assert answered(api, "GET", "/hma/m/lookup", params=query) == 400
    body = ('{"vpdq": ["' + "9" * 5000 + '", "[]"]}').encode()
    assert answered(api, "POST", "/hma/m/compare", content=body) == 400
