"""Models in the admins' hands, at the wire: a model that shuts down soon is shown to Slack's
admins on the Home tab and to Discord's managers in /draw-settings show (and to no one else);
the settings form and /draw-settings set refuse a model that OpenAI says is gone and take one
that cannot be checked with a warning; a drawing with a model retired since says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, settle
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.faults import answer
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import ADMIN, block_text, open_modal, root_message, submit
from tests.test_discord_settings import (
    MANAGER_ID,
    MANAGER_PERMISSIONS,
    WORKSPACE,
    set_setting,
)
from tests.test_discord_settings import answer as discord_answer

TODAY = datetime.now(UTC).date()  # easel's own clock: the real one here
SOON = TODAY + timedelta(days=10)
GONE = TODAY - timedelta(days=39)
RETIRED = (
    "The model `gpt-image-0` has been deprecated, learn more here: "
    "https://platform.openai.com/docs/deprecations"
)


@pytest.fixture
def soon_env(env: dict[str, str], openai_fake: FakeOpenAI) -> dict[str, str]:
    openai_fake.shutdown_dates["gpt-image-1.5"] = SOON
    return {**env, "EASEL_IMAGE_MODEL": "gpt-image-1.5"}


def arrange(openai_fake: FakeOpenAI, model: str, how: str) -> None:
    if how == "shut down":
        openai_fake.shutdown_dates[model] = GONE
    elif how == "unknown":
        openai_fake.unknown_models.add(model)
    else:
        assert how == "retired", how
        error = {"message": RETIRED, "type": "invalid_request_error", "param": None}
        retired = answer(404, {"error": {**error, "code": "model_not_found"}})
        openai_fake.faults.set(
            "models.retrieve", retired, where=lambda r: r.path.endswith(f"/{model}")
        )


REFUSALS = {
    "shut down": f"OpenAI says gpt-image-0 shut down on {GONE}",
    "unknown": "OpenAI says gpt-image-0 does not exist (or easel may not use it)",
    "retired": "OpenAI says gpt-image-0 has been retired",
}
ADVICE = "; choose an active model, for example gpt-image-2"


# -- Slack ----------------------------------------------------------------------------------


async def open_home(slack: SlackSender, easel: Runtime, slack_fake: FakeSlack, user: str) -> str:
    await slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    await settle(easel)
    return json.dumps(slack_fake.views[user]["blocks"])


async def test_admins_see_a_model_shutting_down_soon_on_the_home_tab_and_others_do_not(
    soon_env: dict[str, str], slack_fake: FakeSlack
) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    async with running(load_config(soon_env)) as easel:
        slack = SlackSender(port=easel.port)
        admin = await open_home(slack, easel, slack_fake, ADMIN)
        person = await open_home(slack, easel, slack_fake, USER)
        await slack.aclose()
    warning = (
        f":warning: Image model: OpenAI says gpt-image-1.5 shuts down on {SOON}, in 10 days"
        f"{ADVICE}.\\nChange it with *Edit settings* below."
    )
    assert warning in admin
    assert "gpt-image-1.5" in person and "shuts down" not in person and ":warning:" not in person


@pytest.mark.parametrize("how", list(REFUSALS))
async def test_the_settings_form_refuses_a_model_that_is_gone(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    openai_fake: FakeOpenAI,
    how: str,
) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    arrange(openai_fake, "gpt-image-0", how)
    modal = await open_modal(slack, easel, slack_fake)
    response = await submit(slack, ADMIN, modal, image_model="gpt-image-0", quality="high")
    assert response.json() == {
        "response_action": "errors",
        "errors": {"image_model": REFUSALS[how] + ADVICE},
    }
    assert await easel.store.settings.audit("slack", TEAM) == []  # nothing saved, not even high
    assert "gpt-image-0" in [r.model for r in openai_fake.model_requests]


@pytest.mark.parametrize("how", ["soon", "no /models"])
async def test_the_settings_form_saves_a_model_with_a_word_about_it(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    openai_fake: FakeOpenAI,
    how: str,
) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    if how == "soon":
        openai_fake.shutdown_dates["gpt-image-1.5"] = SOON
        said = f"OpenAI says gpt-image-1.5 shuts down on {SOON}, in 10 days{ADVICE}."
    else:
        openai_fake.models_gateway = "html"
        said = (
            "easel could not check gpt-image-1.5 with OpenAI (OPENAI_BASE_URL does not serve "
            "OpenAI's /models (404 without OpenAI's model_not_found)); make sure the name is right."
        )
    modal = await open_modal(slack, easel, slack_fake)
    response = await submit(slack, ADMIN, modal, image_model="gpt-image-1.5")
    body = response.json()
    assert body["response_action"] == "update"
    assert block_text(body["view"]["blocks"]) == f"Saved.\n:warning: Image model: {said}"
    audit = await easel.store.settings.audit("slack", TEAM)
    assert [(a["field"], a["new"]) for a in audit] == [("image_model", "gpt-image-1.5")]
    await settle(easel)
    assert f"Image model: {said}" in block_text(slack_fake.views[ADMIN]["blocks"])


async def test_a_drawing_with_a_model_retired_since_asks_an_admin_to_choose_another(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    # Chosen while it was alive; OpenAI has retired it since.
    changes: dict[str, tuple[Any, Any]] = {"image_model": ("gpt-image-2", "gpt-image-0")}
    await easel.store.settings.save("slack", TEAM, user_id=ADMIN, changes=changes)
    openai_fake.push(Script(http_error=(404, "model_not_found", RETIRED)))
    await slack.command("a lighthouse")
    await settle(easel)
    assert openai_fake.requests[0]["tools"][0]["model"] == "gpt-image-0"
    shown = block_text(root_message(slack_fake)["blocks"])
    assert "The model gpt-image-0 that easel is set to use is not available any more" in shown
    assert "An admin must choose another one in easel's settings" in shown
    assert root_message(slack_fake)["channel"] == CHANNEL


# -- Discord --------------------------------------------------------------------------------


@pytest.fixture
def discord_soon(discord_env: dict[str, str], openai_fake: FakeOpenAI) -> None:
    openai_fake.shutdown_dates["gpt-5-mini"] = SOON
    discord_env["EASEL_MODEL"] = "gpt-5-mini"


async def test_managers_see_a_model_shutting_down_soon_in_show_and_members_do_not(
    discord_soon: None, easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    member = await discord_answer(discord_fake, discord_fake.command("draw-settings", "show"))
    manager = await discord_answer(
        discord_fake,
        discord_fake.command(
            "draw-settings", "show", permissions=MANAGER_PERMISSIONS, member=MANAGER_ID
        ),
    )
    warning = (
        f"⚠️ Mainline model: OpenAI says gpt-5-mini shuts down on {SOON}, in 10 days; "
        "choose an active model, for example gpt-6.1-terra.\n"
        "Change it with `/draw-settings set`.\n\n"
    )
    assert manager.startswith(warning) and manager.endswith(member)
    assert "**Mainline model:** gpt-5-mini" in member and "shuts down" not in member


@pytest.mark.parametrize("how", list(REFUSALS))
async def test_draw_settings_set_refuses_a_model_that_is_gone(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, how: str
) -> None:
    arrange(openai_fake, "gpt-image-0", how)
    text = await set_setting(discord_fake, "image_model", "gpt-image-0")
    assert text == f"Not changed: Image model: {REFUSALS[how]}{ADVICE}."
    assert await easel_discord.store.settings.audit("discord", WORKSPACE) == []


async def test_draw_settings_set_takes_a_model_that_cannot_be_checked_with_a_warning(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.models_gateway = "text"
    text = await set_setting(discord_fake, "image_model", "gpt-image-2.6-flare")
    assert text.startswith("Image model is now gpt-image-2.6-flare.\n⚠️ Image model: ")
    assert "easel could not check gpt-image-2.6-flare with OpenAI" in text
    assert text.endswith("make sure the name is right.")
    audit = await easel_discord.store.settings.audit("discord", WORKSPACE)
    assert [(a["field"], a["new"]) for a in audit] == [("image_model", "gpt-image-2.6-flare")]
    plain = await set_setting(discord_fake, "size", "square")
    assert plain == "Default size is now square."  # the word comes with the model's change
