"""Statements of reasons: the database's rules, the terrorist-content helper, batches, and the
client against a stand-in of the DSA Transparency Database served over real HTTP.

The stand-in re-implements the parts of the database's behaviour the client depends on (bearer
token, the batch endpoint's all-or-nothing 422s keyed ``statement_N``, PUIDs already used, 201
with a uuid per statement, existing-puid answering 302/404) from the API documentation, without
importing anything from ``redline.actions.sor``.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from redline.actions.sor import (
    InvalidStatement,
    SorClient,
    SorUnavailable,
    StatementOfReasons,
    batches,
    problems,
    terrorist_content_statement,
    validate,
)
from redline.review import Invalid

TOKEN = "X|test-token-0123456789"
FACTS = "Post shared the official propaganda video of a listed terrorist organisation"
LEGAL_GROUND = (
    "Regulation (EU) 2021/784, Article 2(7); national criminal code on terrorist offences"
)
EXPLANATION = "The video is official media of an organisation on the EU terrorist list; sharing it disseminates terrorist content."
DROP = object()  # valid(field=DROP) leaves the field out


def valid(**changes: Any) -> dict[str, Any]:
    """A complete statement in the API's JSON form: removal of a video post under law."""
    data: dict[str, Any] = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_facts": FACTS,
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": LEGAL_GROUND,
        "illegal_content_explanation": EXPLANATION,
        "content_type": ["CONTENT_TYPE_VIDEO", "CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
        "territorial_scope": ["DE", "FR", "NL"],
        "content_language": "AR",
        "content_date": "2025-03-01",
        "application_date": "2025-03-02",
        "source_type": "SOURCE_TRUSTED_FLAGGER",
        "source_identity": "Example internet referral unit",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "redline-case-1042",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not DROP}


def fields_of(error: pytest.ExceptionInfo[InvalidStatement]) -> list[str]:
    return [problem.field for problem in error.value.problems]


# --- The database's rules ------------------------------------------------------------------------


def test_a_valid_statement_passes_and_gives_back_the_same_json() -> None:
    statement = validate(valid())
    assert statement.content_date == date(2025, 3, 1) and statement.automated_detection is True
    assert statement.category_specification == ("KEYWORD_TERRORIST_CONTENT",)
    assert statement.payload() == valid()  # what goes to the API is what was checked
    assert problems(valid()) == []


def test_an_empty_statement_names_every_required_field_at_once() -> None:
    with pytest.raises(InvalidStatement) as error:
        validate({})
    required = {
        "decision_facts",
        "decision_ground",
        "content_type",
        "category",
        "territorial_scope",
        "content_date",
        "application_date",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    }
    assert set(fields_of(error)) == required | {"decision_visibility"}  # no restriction at all
    assert len(error.value.problems) == len(required) + 1
    assert isinstance(error.value, Invalid) and error.value.status == 422  # the web shell's 422
    for name in required:
        assert f"{name}: required" in str(error.value)


@pytest.mark.parametrize("name", ["decision_facts", "puid", "content_type", "territorial_scope"])
def test_blank_counts_as_missing(name: str) -> None:
    blank = "   " if name in ("decision_facts", "puid") else []
    with pytest.raises(InvalidStatement) as error:
        validate(valid(**{name: blank}))
    assert fields_of(error) == [name]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("decision_visibility", ["DECISION_VISIBILITY_CONTENT_DELETED"], "DELETED"),
        ("decision_ground", "ILLEGAL", "not one of DECISION_GROUND_ILLEGAL_CONTENT"),
        ("category", "STATEMENT_CATEGORY_TERRORISM", "not one of the database's 16 values"),
        ("category_specification", ["KEYWORD_TERRORISM"], "KEYWORD_TERRORISM"),
        ("content_type", "CONTENT_TYPE_VIDEO", "must be a list"),
        ("territorial_scope", ["DE", "GB"], "'GB'"),
        ("content_language", "ara", "ISO 639-1"),
        ("content_language", "en", "ISO 639-1"),
        ("content_date", "01/03/2025", "YYYY-MM-DD"),
        ("content_date", "2025-3-1", "YYYY-MM-DD"),
        ("content_date", "2025-02-30", "YYYY-MM-DD"),
        ("content_date", "1999-12-31", "2000-01-01 or later"),
        ("application_date", "2019-12-31", "2020-01-01 or later"),
        ("application_date", "2038-01-02", "2038-01-01 or earlier"),
        ("automated_detection", "maybe", '"Yes" or "No"'),
        ("automated_decision", "AUTOMATED_DECISION_NONE", "AUTOMATED_DECISION_FULLY"),
        ("source_type", "SOURCE_POLICE", "SOURCE_TRUSTED_FLAGGER"),
        ("puid", "case 1042", "only letters"),
        ("puid", "case/1042", "only letters"),
        ("puid", "x" * 501, "at most 500 characters (has 501)"),
        ("decision_facts", "x" * 5001, "at most 5000"),
        ("illegal_content_legal_ground", "x" * 501, "at most 500"),
        ("illegal_content_explanation", "x" * 2001, "at most 2000"),
        ("decision_ground_reference_url", "ftp://example.org/terms", "not an http(s) URL"),
        ("decision_ground_reference_url", "terms of service", "not an http(s) URL"),
        ("content_id", {"ISBN": "9780000000000"}, '"EAN-13"'),
        ("content_id", {"EAN-13": "12345"}, "13 digits"),
        ("account_type", "ACCOUNT_TYPE_GROUP", "ACCOUNT_TYPE_BUSINESS"),
        ("decision_visiblity", ["DECISION_VISIBILITY_CONTENT_REMOVED"], "unknown field"),
    ],
)
def test_a_bad_value_is_reported_with_its_field(name: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidStatement) as error:
        validate(valid(**{name: value}))
    assert fields_of(error) == [name]
    assert message in error.value.problems[0].message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # illegal content needs its legal ground and explanation
        (
            dict(illegal_content_legal_ground=DROP, illegal_content_explanation=DROP),
            ["illegal_content_legal_ground", "illegal_content_explanation"],
        ),
        # terms and conditions need theirs, and the illegal-content texts would be dropped
        (
            dict(decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT"),
            [
                "illegal_content_legal_ground",
                "illegal_content_explanation",
                "incompatible_content_ground",
                "incompatible_content_explanation",
            ],
        ),
        (dict(decision_visibility=["DECISION_VISIBILITY_OTHER"]), ["decision_visibility_other"]),
        (dict(decision_visibility_other="Geo-blocked"), ["decision_visibility_other"]),
        (dict(decision_monetary="DECISION_MONETARY_OTHER"), ["decision_monetary_other"]),
        (dict(content_type=["CONTENT_TYPE_OTHER"]), ["content_type_other"]),
        (dict(category_specification_other="Recruitment"), ["category_specification_other"]),
        (dict(incompatible_content_illegal="Yes"), ["incompatible_content_illegal"]),
        (dict(source_type="SOURCE_VOLUNTARY"), ["source_identity"]),
        (dict(end_date_visibility_restriction="2025-03-01"), ["end_date_visibility_restriction"]),
        (dict(decision_visibility=DROP), ["decision_visibility"]),
    ],
)
def test_conditional_requirements(changes: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(InvalidStatement) as error:
        validate(valid(**changes))
    assert fields_of(error) == expected


@pytest.mark.parametrize(
    "changes",
    [
        dict(
            decision_visibility=["DECISION_VISIBILITY_OTHER"],
            decision_visibility_other="Geo-blocked in one member state",
        ),
        dict(content_type=["CONTENT_TYPE_OTHER"], content_type_other="Live stream"),
        dict(decision_visibility=DROP, decision_account="DECISION_ACCOUNT_TERMINATED"),
        dict(
            decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
            illegal_content_legal_ground=DROP,
            illegal_content_explanation=DROP,
            incompatible_content_ground="Community guidelines, section 4 (violent organisations)",
            incompatible_content_explanation=EXPLANATION,
            incompatible_content_illegal="Yes",
        ),
        dict(
            category_specification=["KEYWORD_TERRORIST_CONTENT", "KEYWORD_OTHER"],
            category_specification_other="Recruitment material",
        ),
        dict(end_date_visibility_restriction="2025-03-02", content_id={"EAN-13": "0123456789123"}),
        dict(source_type="SOURCE_VOLUNTARY", source_identity=DROP, automated_detection="No"),
    ],
)
def test_conditions_met_pass(changes: dict[str, Any]) -> None:
    assert validate(valid(**changes)).payload() == valid(**changes)


def test_all_problems_come_at_once_in_field_order() -> None:
    data = valid(
        puid="case 1042",
        content_date="2025-13-01",
        category="TERRORISM",
        illegal_content_explanation=DROP,
        territorial_scope=["DE", "US"],
    )
    with pytest.raises(InvalidStatement) as error:
        validate(data)
    assert fields_of(error) == [
        "illegal_content_explanation",
        "category",
        "territorial_scope",
        "content_date",
        "puid",
    ]
    assert str(error.value).startswith("statement of reasons has 5 problems: ")
    assert error.value.by_field()["territorial_scope"] == [
        "'US' is not one of the database's 30 values for territorial_scope"
    ]


def test_a_statement_object_is_never_invalid() -> None:
    statement = validate(valid())
    with pytest.raises(InvalidStatement, match="puid: only letters"):
        dataclasses.replace(statement, puid="case 1042")
    with pytest.raises(InvalidStatement, match="content_date: required"):
        dataclasses.replace(statement, content_date=None)  # type: ignore[arg-type]


def test_times_become_their_utc_day() -> None:
    evening_in_new_york = datetime(2025, 3, 1, 20, 30, tzinfo=ZoneInfo("America/New_York"))
    statement = validate(
        valid(content_date=evening_in_new_york, application_date=datetime(2025, 3, 2, 23, 59))
    )
    assert statement.payload()["content_date"] == "2025-03-02"  # 01:30 UTC
    assert statement.payload()["application_date"] == "2025-03-02"  # no zone: taken as UTC


# --- The terrorist-content helper --------------------------------------------------------------


def removal(**changes: Any) -> StatementOfReasons:
    arguments: dict[str, Any] = dict(
        puid="redline-case-7",
        content_type="CONTENT_TYPE_VIDEO",
        content_date=date(2025, 3, 1),
        application_date=date(2025, 3, 2),
        decision_facts=FACTS,
        legal_ground=LEGAL_GROUND,
        explanation=EXPLANATION,
        automated_detection=True,
    )
    arguments.update(changes)
    return terrorist_content_statement(**arguments)


def test_the_helper_builds_a_valid_removal_of_terrorist_content() -> None:
    statement = removal()
    body = statement.payload()
    assert body["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert body["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert body["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert body["illegal_content_legal_ground"] == LEGAL_GROUND
    assert body["illegal_content_explanation"] == EXPLANATION
    assert body["content_type"] == ["CONTENT_TYPE_VIDEO"]
    assert (body["content_date"], body["application_date"]) == ("2025-03-01", "2025-03-02")
    assert body["automated_detection"] == "Yes"
    assert body["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"  # humans decide
    assert body["source_type"] == "SOURCE_VOLUNTARY" and "source_identity" not in body
    assert len(body["territorial_scope"]) == 30 and {"DE", "NO", "IS", "LI"} <= set(
        body["territorial_scope"]
    )
    assert validate(body) == statement


def test_the_helper_under_terms_and_conditions_marks_the_content_illegal_too() -> None:
    body = removal(
        decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        source_type="SOURCE_TRUSTED_FLAGGER",
        source_identity="Example IRU",
        content_type=["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_TEXT"],
        decision_account="DECISION_ACCOUNT_SUSPENDED",
    ).payload()
    assert body["incompatible_content_ground"] == LEGAL_GROUND
    assert body["incompatible_content_explanation"] == EXPLANATION
    assert body["incompatible_content_illegal"] == "Yes"
    assert "illegal_content_legal_ground" not in body
    assert body["source_identity"] == "Example IRU"
    assert body["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"


def test_the_helper_reports_every_bad_argument() -> None:
    with pytest.raises(InvalidStatement) as error:
        removal(content_type="VIDEO", puid="case 7", legal_ground="", automated_decision="NO")
    assert fields_of(error) == [
        "illegal_content_legal_ground",
        "content_type",
        "automated_decision",
        "puid",
    ]


# --- Batches -------------------------------------------------------------------------------------


def test_250_statements_go_in_batches_of_100_100_50_in_order() -> None:
    parts = list(batches(range(250)))
    assert [len(part) for part in parts] == [100, 100, 50]
    assert [item for part in parts for item in part] == list(range(250))
    assert [len(part) for part in batches(range(7), size=3)] == [3, 3, 1]
    assert list(batches([])) == []
    with pytest.raises(ValueError, match=r"1\.\.100"):
        list(batches(range(5), size=101))


# --- A stand-in of the database, on a real local HTTP server -----------------------------------

PUID = re.compile(r"^[a-zA-Z0-9_-]+\Z")
REQUIRED_BY_API = [
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
]


@dataclass
class StandIn:
    """What the stand-in was sent, and knobs to make it answer as the real one can."""

    url: str = ""
    tries: int = 0  # every POST, authorised or not
    existing: set[str] = field(default_factory=set)  # PUIDs the platform has used already
    reject: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # server-side rules
    answer: dict[int, int] = field(default_factory=dict)  # POST number (1-based) -> status
    posts: list[list[dict[str, Any]]] = field(default_factory=list)  # every authorised POST
    headers: list[dict[str, str]] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # puid -> uuid

    def reset(self) -> None:
        fresh = StandIn(url=self.url)
        for name in (f.name for f in dataclasses.fields(self)):
            setattr(self, name, getattr(fresh, name))


def stand_in_app(state: StandIn) -> Starlette:
    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def store_many(request: Request) -> JSONResponse:
        state.tries += 1
        if not authorised(request):
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        body = await request.json()
        statements = body.get("statements") if isinstance(body, dict) else None
        state.posts.append(statements if isinstance(statements, list) else [])
        state.headers.append(dict(request.headers))
        forced = state.answer.get(len(state.posts))
        if forced is not None:
            headers = {"Retry-After": "60"} if forced == 429 else None
            return JSONResponse({"message": "Server Error"}, status_code=forced, headers=headers)
        if not isinstance(statements, list) or not 1 <= len(statements) <= 100:
            message = "The statements field must have between 1 and 100 items."
            return JSONResponse({"message": message, "errors": {"statements": [message]}}, 422)
        errors: dict[str, dict[str, list[str]]] = {}
        for position, statement in enumerate(statements):
            found = {
                name: [f"The {name.replace('_', ' ')} field is required."]
                for name in REQUIRED_BY_API
                if not statement.get(name)
            }
            if statement.get("puid") and not PUID.match(statement["puid"]):
                found["puid"] = ["The puid format is invalid."]
            found |= state.reject.get(statement.get("puid", ""), {})
            if found:
                errors[f"statement_{position}"] = found
        if errors:  # all or nothing: none of the request is created
            return JSONResponse({"errors": errors}, status_code=422)
        for statement in statements:
            if statement["puid"] in state.existing:
                message = "The platform identifier(s) are not all unique within this call."
                return JSONResponse(
                    {
                        "message": message,
                        "errors": {"puid": [message], "existing_puids": [statement["puid"]]},
                    },
                    422,
                )
        out = []
        for statement in statements:
            state.existing.add(statement["puid"])
            state.created[statement["puid"]] = made = str(uuid.uuid4())
            out.append(
                statement
                | {
                    "uuid": made,
                    "created_at": "2025-03-02 10:00:00",
                    "platform_name": "Test Platform",
                    "permalink": f"{state.url}/statement/{made}",
                    "self": f"{state.url}/api/v1/statement/{made}",
                }
            )
        return JSONResponse({"statements": out}, status_code=201)

    async def existing_puid(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        puid = request.path_params["puid"]
        if puid in state.existing:
            return JSONResponse({"message": "statement of reason found", "puid": puid}, 302)
        return JSONResponse({"message": "statement of reason not found", "puid": puid}, 404)

    return Starlette(
        routes=[
            Route("/api/v1/statements", store_many, methods=["POST"]),
            Route("/api/v1/statement/existing-puid/{puid}", existing_puid, methods=["GET"]),
        ]
    )


@pytest.fixture(scope="module")
def served() -> Iterator[StandIn]:
    state = StandIn()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = uvicorn.Config(stand_in_app(state), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the stand-in did not start"
        time.sleep(0.02)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def api(served: StandIn) -> StandIn:
    served.reset()
    return served


def many(count: int, start: int = 0) -> list[StatementOfReasons]:
    return [removal(puid=f"redline-case-{number}") for number in range(start, start + count)]


def test_250_statements_are_created_in_three_requests(api: StandIn) -> None:
    statements = many(250)
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(statements)
    assert result.ok and result.requests == 3
    assert [len(post) for post in api.posts] == [100, 100, 50]
    assert [outcome.puid for outcome in result.outcomes] == [s.puid for s in statements]
    assert {o.puid: o.uuid for o in result.outcomes} == api.created  # the server's own uuids
    assert result.outcomes[0].permalink == f"{api.url}/statement/{api.created['redline-case-0']}"
    assert api.posts[0][0] == statements[0].payload()  # the API's JSON, field for field
    assert api.headers[0]["authorization"] == f"Bearer {TOKEN}"
    assert api.headers[0]["content-type"] == "application/json"
    assert api.headers[0]["accept"] == "application/json"


def test_a_refused_token_fails_everything_and_stops_sending(api: StandIn) -> None:
    with SorClient(api.url, "X|wrong") as client:
        result = client.submit(many(250))
    assert api.tries == 1 and result.requests == 1  # only the first batch was tried
    assert [o.status for o in result.outcomes] == ["failed"] * 250
    assert "refused the token (HTTP 401)" in result.outcomes[0].message
    assert "not sent" in result.outcomes[-1].message
    assert all("X|wrong" not in o.message for o in result.outcomes)


def test_a_statement_the_server_refuses_costs_neither_its_batch_nor_the_others(
    api: StandIn,
) -> None:
    message = "The selected territorial scope is invalid."
    api.reject["redline-case-150"] = {"territorial_scope": [message]}
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(many(250))
    rejected = result.rejected
    assert [o.puid for o in rejected] == ["redline-case-150"]
    assert rejected[0].errors == {"territorial_scope": [message]}
    assert rejected[0].message == f"territorial_scope: {message}"
    assert len(result.created) == 249 and not result.failed
    assert "redline-case-150" not in api.created and len(api.created) == 249
    # batch 2 was refused whole, then sent again without its bad statement
    assert [len(post) for post in api.posts] == [100, 100, 99, 50]


def test_a_puid_already_used_is_rejected_and_the_rest_created(api: StandIn) -> None:
    api.existing.add("redline-case-3")
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(many(5))
    assert [o.status for o in result.outcomes] == ["created"] * 3 + ["rejected", "created"]
    assert "not all unique" in result.outcomes[3].errors["puid"][0]
    assert result.requests == 2


def test_a_puid_twice_in_one_submission_is_caught_before_sending(api: StandIn) -> None:
    twice = [*many(3), removal(puid="redline-case-1")]
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(twice)
    assert [o.status for o in result.outcomes] == ["created"] * 3 + ["rejected"]
    assert result.outcomes[3].errors == {"puid": ["used by statement 1 of this submission already"]}
    assert [len(post) for post in api.posts] == [3]


def test_a_server_error_fails_its_batch_only(api: StandIn) -> None:
    api.answer[2] = 500
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(many(250))
    statuses = [o.status for o in result.outcomes]
    assert statuses == ["created"] * 100 + ["failed"] * 100 + ["created"] * 50
    assert (
        "HTTP 500" in result.outcomes[100].message
        and "resend later" in result.outcomes[100].message
    )


def test_a_rate_limit_stops_sending(api: StandIn) -> None:
    api.answer[1] = 429
    with SorClient(api.url, TOKEN) as client:
        result = client.submit(many(150))
    assert result.requests == 1 and not result.created
    assert "retry after 60 s" in result.outcomes[0].message
    assert result.outcomes[149].message.startswith("not sent: rate limited")


def test_exists_asks_the_database_for_a_puid(api: StandIn) -> None:
    with SorClient(api.url, TOKEN) as client:
        client.submit(many(1))
        assert client.exists("redline-case-0") is True
        assert client.exists("redline-case-9") is False
    with SorClient(api.url, "X|wrong") as client, pytest.raises(SorUnavailable, match="HTTP 401"):
        client.exists("redline-case-0")


def test_no_server_is_reported_not_raised() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SorClient(f"http://127.0.0.1:{port}", TOKEN, timeout=2) as client:
        result = client.submit(many(3))
        with pytest.raises(SorUnavailable, match="network error"):
            client.exists("redline-case-0")
    assert [o.status for o in result.outcomes] == ["failed"] * 3
    assert result.outcomes[0].message.startswith("network error: ConnectError")


def test_a_timeout_says_the_statements_may_exist_and_later_batches_still_go() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        statements = json.loads(request.content)["statements"]
        sizes.append(len(statements))
        if len(sizes) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(
            201, json={"statements": [s | {"uuid": str(uuid.uuid4())} for s in statements]}
        )

    with SorClient("https://sandbox.example", TOKEN, transport=httpx.MockTransport(handler)) as c:
        result = c.submit(many(150))
    assert sizes == [100, 50]
    assert [o.status for o in result.outcomes] == ["failed"] * 100 + ["created"] * 50
    assert "may have been created" in result.outcomes[0].message
