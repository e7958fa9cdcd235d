"""What OpenAI says of a model, at the wire: the real OpenAIModelCatalog over the real SDK over
the SDK's aiohttp transport (as easel runs it) against the fake's `GET /v1/models/{id}` in
every shape it can answer; and what each answer means for easel (bot.workspace.verdicts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import openai
import pytest

from bot.models import Exists, ModelStatus
from bot.offline import OfflineModelCatalog
from bot.openai.models import DAY, OpenAIModelCatalog
from bot.workspace.verdicts import Judgement, Verdict, advice, judge
from tests.clock import ManualClock
from tests.fakes.faults import RESET, Fault, answer, status
from tests.fakes.openai_server import FakeOpenAI

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RETIRED = (
    "The model `gpt-image-0` has been deprecated, learn more here: "
    "https://platform.openai.com/docs/deprecations"
)


def not_found(message: str) -> Fault:
    body = {"message": message, "type": "invalid_request_error", "param": None}
    return answer(404, {"error": {**body, "code": "model_not_found"}})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def catalog(openai_fake: FakeOpenAI, clock: ManualClock) -> AsyncIterator[OpenAIModelCatalog]:
    async with openai.DefaultAioHttpClient() as http:
        client = openai.AsyncOpenAI(
            base_url=openai_fake.base_url, api_key="sk-test", max_retries=0, http_client=http
        )
        yield OpenAIModelCatalog(client=client, clock=clock, timeout=2)


async def test_the_defaults_are_active(
    openai_fake: FakeOpenAI, catalog: OpenAIModelCatalog
) -> None:
    for model in ("gpt-6.1-terra", "gpt-image-2"):
        found = await catalog.status(model)
        assert found == ModelStatus(model=model, exists=Exists.YES)
        assert judge(found, today=TODAY).verdict is Verdict.ACTIVE
    assert [r.model for r in openai_fake.model_requests] == ["gpt-6.1-terra", "gpt-image-2"]
    assert openai_fake.model_requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    ("arrange", "exists", "verdict", "words"),
    [
        ("in 10 days", Exists.YES, Verdict.RETIRING, "shuts down on 2026-12-11, in 10 days"),
        ("tomorrow", Exists.YES, Verdict.RETIRING, "shuts down on 2026-12-02, tomorrow"),
        ("in 30 days", Exists.YES, Verdict.RETIRING, "shuts down on 2026-12-31, in 30 days"),
        ("in 31 days", Exists.YES, Verdict.ACTIVE, "is active until 2027-01-01"),
        ("today", Exists.YES, Verdict.GONE, "shut down on 2026-12-01"),
        ("in the past", Exists.YES, Verdict.GONE, "shut down on 2026-10-23"),
        ("unknown", Exists.NO, Verdict.GONE, "does not exist (or easel may not use it)"),
        ("retired", Exists.NO, Verdict.GONE, "has been retired"),
        ("gateway html", Exists.UNKNOWN, Verdict.UNKNOWN, "does not serve OpenAI's /models"),
        ("gateway text", Exists.UNKNOWN, Verdict.UNKNOWN, "does not serve OpenAI's /models"),
        ("not a model", Exists.UNKNOWN, Verdict.UNKNOWN, "its answer is not a model"),
        ("503", Exists.UNKNOWN, Verdict.UNKNOWN, "OpenAI answered 503"),
        ("502 html", Exists.UNKNOWN, Verdict.UNKNOWN, "OpenAI answered 502"),
        ("401", Exists.UNKNOWN, Verdict.UNKNOWN, "OpenAI answered 401"),
        ("reset", Exists.UNKNOWN, Verdict.UNKNOWN, "OpenAI could not be reached"),
    ],
)
async def test_what_each_answer_means(
    openai_fake: FakeOpenAI,
    catalog: OpenAIModelCatalog,
    arrange: str,
    exists: Exists,
    verdict: Verdict,
    words: str,
) -> None:
    model = "gpt-x"
    arrange_answer(openai_fake, model, arrange)
    found = await catalog.status(model)
    assert found.model == model and found.exists is exists
    judged = judge(found, today=TODAY)
    assert judged.verdict is verdict and words in judged.words, judged
    assert judged.words.startswith(("OpenAI says gpt-x ", "easel could not check gpt-x "))


def arrange_answer(fake: FakeOpenAI, model: str, how: str) -> None:
    days = {"in 10 days": 10, "tomorrow": 1, "in 30 days": 30, "in 31 days": 31, "today": 0}
    if how in days:
        fake.shutdown_dates[model] = TODAY + timedelta(days=days[how])
    elif how == "in the past":
        fake.shutdown_dates[model] = date(2026, 10, 23)
    elif how == "unknown":
        fake.unknown_models.add(model)
    elif how.startswith("gateway"):
        fake.models_gateway = "html" if how.endswith("html") else "text"
    else:
        faults = {
            "retired": not_found(RETIRED),
            "not a model": answer(200, {"object": "list", "data": []}),
            "503": status(503),
            "502 html": status(502, body="html"),
            "401": answer(401, {"error": {"message": "Incorrect API key", "code": None}}),
            "reset": RESET,
        }
        fake.faults.set("models.retrieve", faults[how], times=None)


async def test_an_answer_is_kept_for_a_day_unless_asked_afresh(
    openai_fake: FakeOpenAI, catalog: OpenAIModelCatalog, clock: ManualClock
) -> None:
    openai_fake.shutdown_dates["gpt-x"] = TODAY + timedelta(days=10)
    first = await catalog.status("gpt-x")
    assert await catalog.status("gpt-x") == first
    assert len(openai_fake.model_requests) == 1
    assert await catalog.status("gpt-x", fresh=True) == first
    assert len(openai_fake.model_requests) == 2

    clock.advance(DAY - 1)
    await catalog.status("gpt-x")
    assert len(openai_fake.model_requests) == 2
    openai_fake.shutdown_dates["gpt-x"] = TODAY + timedelta(days=40)  # OpenAI moved the date
    clock.advance(2)
    later = await catalog.status("gpt-x")
    assert len(openai_fake.model_requests) == 3
    assert later.shutdown_date == TODAY + timedelta(days=40)


async def test_a_failure_is_not_kept_and_does_not_undo_an_answer(
    openai_fake: FakeOpenAI, catalog: OpenAIModelCatalog
) -> None:
    openai_fake.faults.set("models.retrieve", status(503), times=2)
    assert (await catalog.status("gpt-a")).exists is Exists.UNKNOWN
    assert (await catalog.status("gpt-a")).exists is Exists.UNKNOWN
    assert (await catalog.status("gpt-a")).exists is Exists.YES  # asked each time
    assert len(openai_fake.model_requests) == 3

    openai_fake.unknown_models.add("gpt-b")
    assert (await catalog.status("gpt-b")).exists is Exists.NO
    openai_fake.faults.set("models.retrieve", status(503))
    again = await catalog.status("gpt-b", fresh=True)  # asked, failed: the answer stands
    assert again.exists is Exists.NO and len(openai_fake.model_requests) == 5


async def test_the_gateway_answer_is_kept_like_an_answer(
    openai_fake: FakeOpenAI, catalog: OpenAIModelCatalog
) -> None:
    openai_fake.models_gateway = "html"
    for _ in range(3):
        assert (await catalog.status("gpt-x")).exists is Exists.UNKNOWN
    assert len(openai_fake.model_requests) == 1


async def test_the_offline_catalog_knows_nothing_and_asks_no_one(openai_fake: FakeOpenAI) -> None:
    found = await OfflineModelCatalog().status("gpt-6.1-terra")
    assert found == ModelStatus(model="gpt-6.1-terra", exists=Exists.UNKNOWN, reason=None)
    judged = judge(found, today=TODAY)
    assert judged.verdict is Verdict.UNKNOWN and not judged.asked and not judged.warns
    assert openai_fake.model_requests == []


@pytest.mark.parametrize(
    ("field", "model", "verdict", "said"),
    [
        (
            "image_model",
            "gpt-image-1",
            Verdict.GONE,
            "choose an active model, for example gpt-image-2",
        ),
        ("model", "gpt-5-mini", Verdict.RETIRING, "for example gpt-6.1-terra"),
        ("image_model", "gpt-image-2", Verdict.GONE, "OpenAI's deprecations page names"),
        ("model", "gpt-typo", Verdict.UNKNOWN, "make sure the name is right"),
    ],
)
def test_the_advice_names_a_live_model_for_the_field(
    field: str, model: str, verdict: Verdict, said: str
) -> None:
    assert said in advice(field, Judgement(model, verdict, "…"))
