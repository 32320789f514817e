"""One error vocabulary: every package's refusals are the classes of ``redline.errors``, and the
web answers each with the status its class names."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from redline import banks, errors
from redline.config import Settings
from redline.index.store import IndexStore
from redline.ingest import UsageProblem
from redline.model.base import utcnow
from redline.pipeline.scan import scan
from redline.review import errors as review_errors
from redline.web.app import create_app


def test_each_package_refuses_in_the_one_vocabulary(engine: Engine, settings: Settings) -> None:
    assert review_errors.ReviewError is errors.Refused
    assert review_errors.NotFound is errors.NotFound and review_errors.Invalid is errors.Invalid
    assert issubclass(UsageProblem, errors.Invalid)
    with engine.begin() as connection:
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    with engine.begin() as connection, pytest.raises(errors.Conflict):
        banks.create_bank(connection, "known", actor="t", now=utcnow())
    with engine.connect() as connection:
        with pytest.raises(errors.NotFound, match="no bank called 'nope'"):
            banks.get_bank(connection, "nope")
        with pytest.raises(errors.NotFound, match="no bank entry 7"):
            banks.get_entry(connection, 7)
    with engine.begin() as connection, pytest.raises(errors.Invalid, match="bad bank name"):
        banks.create_bank(connection, "no spaces", actor="t", now=utcnow())
    with pytest.raises(errors.NotFound, match="no source called 'nowhere'"):
        scan(engine, settings, IndexStore(engine, settings.data_dir), actor="t", source="nowhere")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.Invalid("bad value"), 422),
        (errors.NotFound("no such thing"), 404),
        (errors.Conflict("moved on"), 409),
        (errors.Forbidden("not yours"), 403),
        (banks.UnknownBank("no bank called x"), 404),
        (banks.BankExists("a bank called x already exists"), 409),
    ],
)
def test_the_web_answers_every_refusal_with_its_class_status(
    settings: Settings, error: errors.Refused, status: int
) -> None:
    app = create_app(settings)
    router = APIRouter()

    @router.get("/refuse")
    def refuse() -> None:
        raise error

    app.include_router(router)
    answer = TestClient(app).get("/refuse", headers={"accept": "application/json"})
    assert answer.status_code == status and str(error) in answer.text
