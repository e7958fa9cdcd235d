"""The fake Discord's interactions: the payloads tests dispatch, and easel's answers to them.

Payloads: /draw (`interaction`), its size autocomplete, any slash command (`command`), a
button pressed on a message (`press`, type 3) and a form submitted (`submit_modal`, type 5,
built from the form easel opened, as Discord builds it). Answers, as Discord takes them:
each interaction is answered once (a second callback is 400 "already acknowledged", 40060);
a form (callback 9) is kept for `submit_modal`; an ephemeral message is seen by its presser
alone (never in a channel); follow-ups need an answer first (else 404 Unknown Webhook,
10015); `expire(token)` makes a token answer 401 (50027), as after 15 minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

_Json = dict[str, Any]
APP_ID = 1100
BOT_ID = 1200
GUILD_ID = 1300
USER_ID = 1500
COMMAND_ID = 1600
EPHEMERAL = 1 << 6
MANAGE_GUILD = 1 << 5
# What an ordinary member may do (send messages, attach files, use commands...): not Manage Server.
MEMBER_PERMISSIONS = 1071698660929 & ~MANAGE_GUILD
ALREADY_ACKNOWLEDGED = {"message": "Interaction has already been acknowledged.", "code": 40060}
UNKNOWN_WEBHOOK = {"message": "Unknown Webhook", "code": 10015}


def user(uid: int, name: str, *, bot: bool = False) -> _Json:
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "avatar": None,
        "global_name": name,
        "bot": bot,
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Server(Protocol):
    """What interactions read of the rest of the fake."""

    messages: dict[int, _Json]
    threads: dict[int, _Json]

    def new_id(self) -> int: ...

    def channel_of(self, guild_id: int) -> int: ...

    def guild_of(self, channel_id: int) -> int: ...

    def bot_message(self, channel: int, payload: _Json) -> _Json: ...


class Interactions:
    def __init__(self, server: Server) -> None:
        self._server = server
        self.callbacks: list[_Json] = []  # every answer easel made, in order
        self.originals: dict[str, int] = {}  # interaction token -> its response message id
        self.forms: dict[str, _Json] = {}  # interaction token -> the form easel opened
        self.followups: list[_Json] = []  # {"token", "content", "flags"}, in order
        self.expired: set[str] = set()
        self._answered: set[str] = set()  # tokens of the interactions answered
        self._pressed: dict[int, int] = {}  # component/form interaction id -> its message
        self._channels: dict[str, int] = {}  # interaction token -> its channel

    # -- payloads tests dispatch -----------------------------------------------------------

    def interaction(
        self,
        prompt: str,
        *,
        attachment: _Json | None = None,
        size: str | None = None,
        quality: str | None = None,
        limit: int = 10 * 1024 * 1024,
        guild: int | None = None,
    ) -> _Json:
        """/draw in `guild`'s channel."""
        options: list[_Json] = [{"name": "prompt", "type": 3, "value": prompt}]
        resolved: _Json = {}
        if attachment is not None:
            options.append({"name": "image", "type": 11, "value": attachment["id"]})
            resolved["attachments"] = {attachment["id"]: attachment}
        for name, value in (("size", size), ("quality", quality)):
            if value is not None:
                options.append({"name": name, "type": 3, "value": value})
        data = {
            "id": str(COMMAND_ID),
            "name": "draw",
            "type": 1,
            "options": options,
            "resolved": resolved,
        }
        return self._interaction(data, limit=limit, guild=guild)

    def autocomplete(self, prompt: str, *, size: str, guild: int | None = None) -> _Json:
        """A person typing `size` into /draw's size option (APPLICATION_COMMAND_AUTOCOMPLETE);
        easel answers with callback type 8 and its choices."""
        payload = self.interaction(prompt, size=size, guild=guild)
        payload["type"] = 4
        for option in payload["data"]["options"]:
            if option["name"] == "size":
                option["focused"] = True
        return payload

    def command(
        self,
        name: str,
        subcommand: str,
        *,
        permissions: int = MEMBER_PERMISSIONS,
        member: int = USER_ID,
        guild: int | None = None,
        **values: str,
    ) -> _Json:
        """A `/name subcommand key:value ...` interaction from a member with `permissions`."""
        options = [{"name": k, "type": 3, "value": v} for k, v in values.items()]
        data = {
            "id": str(COMMAND_ID + 1),
            "name": name,
            "type": 1,
            "options": [{"name": subcommand, "type": 1, "options": options}],
        }
        return self._interaction(data, permissions=permissions, member=member, guild=guild)

    def press(
        self,
        message_id: int,
        custom_id: str,
        *,
        member: int = USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
        guild: int | None = None,
    ) -> _Json:
        """A member with `permissions` pressing the button `custom_id` on a bot message, in
        the channel or thread the message is in (`guild`: said to come from another server)."""
        message = self._server.messages[message_id]
        data = {"custom_id": custom_id, "component_type": 2}
        return self._on_message(3, data, message, member, permissions, guild)

    def submit_modal(
        self,
        press: _Json,
        values: dict[str, str],
        *,
        member: int | None = None,
        permissions: int | None = None,
    ) -> _Json:
        """The person who pressed `press` submitting the form easel opened for it, with
        `values` typed into its text inputs (by custom id), as Discord sends it."""
        form = self.forms[press["token"]]  # KeyError: easel opened no form for that press
        data = {
            "custom_id": form["custom_id"],
            "components": [_submitted(c, values) for c in form["components"]],
        }
        message = self._server.messages[int(press["message"]["id"])]
        member = int(press["member"]["user"]["id"]) if member is None else member
        if permissions is None:
            permissions = int(press["member"]["permissions"])
        return self._on_message(5, data, message, member, permissions, int(press["guild_id"]))

    def _on_message(
        self,
        kind: int,
        data: _Json,
        message: _Json,
        member: int,
        permissions: int,
        guild: int | None,
    ) -> _Json:
        channel = int(message["channel_id"])
        guild = self._server.guild_of(channel) if guild is None else guild
        payload = self._interaction(
            data, member=member, permissions=permissions, guild=guild, channel=channel
        )
        payload["type"] = kind
        payload["message"] = {**message, "guild_id": str(guild)}
        self._pressed[int(payload["id"])] = int(message["id"])
        return payload

    def _interaction(
        self,
        data: _Json,
        *,
        permissions: int = MEMBER_PERMISSIONS,
        member: int = USER_ID,
        limit: int = 10 * 1024 * 1024,
        guild: int | None = None,
        channel: int | None = None,
    ) -> _Json:
        iid = self._server.new_id()
        guild = GUILD_ID if guild is None else guild
        channel = self._server.channel_of(guild) if channel is None else channel
        self._channels[f"itoken-{iid}"] = channel
        return {
            "id": str(iid),
            "application_id": str(APP_ID),
            "type": 2,
            "token": f"itoken-{iid}",
            "version": 1,
            "guild_id": str(guild),
            "channel_id": str(channel),
            "channel": self._channel(channel, guild),
            "member": {
                "user": user(member, "painter" if member == USER_ID else f"member{member}"),
                "roles": [],
                "joined_at": now_iso(),
                "permissions": str(permissions),
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "1071698660929",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild)},
            "context": 0,
            "attachment_size_limit": limit,
        }

    def _channel(self, channel: int, guild: int) -> _Json:
        if channel in self._server.threads:
            return dict(self._server.threads[channel])
        return {
            "id": str(channel),
            "type": 0,
            "guild_id": str(guild),
            "name": "art",
            "position": 0,
            "permission_overwrites": [],
        }

    # -- easel's answers -------------------------------------------------------------------

    def callback(self, iid: int, token: str, payload: _Json) -> tuple[int, Any]:
        """POST /interactions/{id}/{token}/callback."""
        if token in self._answered:
            return 400, ALREADY_ACKNOWLEDGED
        self._answered.add(token)
        self.callbacks.append({"id": iid, "token": token, **payload})
        kind = payload["type"]
        if kind == 8:  # autocomplete choices: no message
            return 204, None
        answer: _Json = {"id": str(iid), "type": 2}
        if kind == 9:  # a form: no message until it is submitted
            self.forms[token] = payload["data"]
            return 200, {"interaction": answer, "resource": {"type": 9}}
        if kind in (6, 7) and iid in self._pressed:  # (deferred) update of the message
            mid = self._pressed[iid]
            self.originals[token] = mid
            answer.update(type=3, response_message_id=str(mid))
            return 200, {"interaction": answer, "resource": {"type": kind}}
        data = payload.get("data") or {}
        message = self._server.bot_message(self._channels.get(token, 0), data)
        self.originals[token] = int(message["id"])
        answer.update(
            response_message_id=message["id"],
            response_message_loading=kind == 5,
            response_message_ephemeral=bool(data.get("flags", 0) & EPHEMERAL),
        )
        return 200, {"interaction": answer, "resource": {"type": kind, "message": message}}

    def followup(self, token: str, payload: _Json) -> tuple[int, Any]:
        """POST /webhooks/{application}/{token}: a message after the answer."""
        if token in self.expired:
            return 401, {"message": "Invalid Webhook Token", "code": 50027}
        if token not in self._answered:
            return 404, UNKNOWN_WEBHOOK
        message = self._server.bot_message(self._channels.get(token, 0), payload)
        self.followups.append(
            {
                "token": token,
                "id": message["id"],
                "content": payload.get("content", ""),
                "flags": message["flags"],
            }
        )
        return 200, message

    def told(self, token: str) -> list[str]:
        """What easel told the person behind `token` for their eyes only, in order."""
        answers = [
            c["data"]["content"]
            for c in self.callbacks
            if c["token"] == token and c["type"] == 4 and c["data"].get("flags", 0) & EPHEMERAL
        ]
        later = [
            f["content"] for f in self.followups if f["token"] == token and f["flags"] & EPHEMERAL
        ]
        return answers + later


def _submitted(component: _Json, values: dict[str, str]) -> _Json:
    """A form's component as its submission carries it: text inputs with what was typed."""
    kind = component["type"]
    if kind == 4:  # text input
        custom_id = component["custom_id"]
        return {"type": 4, "custom_id": custom_id, "value": values.get(custom_id, "")}
    if kind == 18:  # label
        return {"type": 18, "component": _submitted(component["component"], values)}
    return {"type": kind, "components": [_submitted(c, values) for c in component["components"]]}
