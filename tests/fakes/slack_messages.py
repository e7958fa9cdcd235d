"""The fake Slack workspace's messages: posted, edited, deleted, listed by thread.

`slack_server.FakeSlack` holds one `Messages` and serves its methods (chat.postMessage,
chat.update, chat.postEphemeral, chat.delete, conversations.replies). As on Slack, a bot
token edits and deletes only the bot's own messages, and deleting a thread's first message
while replies remain leaves a tombstone in its place ("This message was deleted.").
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_state import (
    FakeFile,
    SlackError,
    check_block_id_reuse,
    check_blocks,
    require,
)

_Json = dict[str, Any]
BOT = "UBOT"
TOMBSTONE = "This message was deleted."


class Messages:
    def __init__(self, *, files: dict[str, FakeFile], violations: list[str], team_id: str) -> None:
        self.messages: dict[tuple[str, str], _Json] = {}
        self.ephemerals: list[_Json] = []
        self.deleted: list[_Json] = []  # every message chat.delete removed, as it last was
        self._files = files
        self._violations = violations
        self._team_id = team_id
        self._ts_counter = 0

    def next_ts(self) -> str:
        self._ts_counter += 1
        micros = self._ts_counter * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def store(self, channel: str, thread: Any, text: Any, blocks: Any, user: str) -> str:
        ts = self.next_ts()
        self.messages[(channel, ts)] = {
            "channel": channel,
            "ts": ts,
            "thread_ts": thread if isinstance(thread, str) and thread else None,
            "text": text if isinstance(text, str) else "",
            "blocks": blocks,
            "user": user,
            "history": [],
        }
        return ts

    def message_json(self, message: _Json) -> _Json:
        out: _Json = {"type": "message", "user": message["user"], "text": message["text"]}
        if message["user"] == BOT:
            out.update(bot_id="BBOT", app_id="A1")
        out.update(ts=message["ts"], team=self._team_id)
        for key in ("subtype", "hidden", "thread_ts", "blocks", "edited"):
            if message.get(key) is not None:
                out[key] = message[key]
        if message.get("files"):
            out["files"] = [self._files[i].to_dict() for i in message["files"]]
        return out

    def _check_blocks(self, args: _Json, channel: str, where: str) -> None:
        self._violations.extend(check_blocks(args.get("blocks"), channel, self._files, where))

    def _own(self, args: _Json, refused: str) -> tuple[str, str, _Json]:
        """(channel, ts, message) of the bot's own message that `args` names."""
        channel = require(args, "channel", "channel_not_found")
        ts = require(args, "ts", "message_not_found")
        message = self.messages.get((channel, ts))
        if message is None or message.get("subtype") == "tombstone":
            raise SlackError("message_not_found")
        if message["user"] != BOT:
            raise SlackError(refused)
        return channel, ts, message

    # ---- Web API methods

    def post_message(self, args: _Json) -> _Json:
        channel = require(args, "channel", "channel_not_found")
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            raise SlackError("no_text")
        self._check_blocks(args, channel, f"chat.postMessage {channel}")
        ts = self.store(channel, args.get("thread_ts"), args.get("text"), args.get("blocks"), BOT)
        return {
            "channel": channel,
            "ts": ts,
            "message": self.message_json(self.messages[channel, ts]),
        }

    def update(self, args: _Json) -> _Json:
        channel, ts, message = self._own(args, "cant_update_message")
        where = f"chat.update {channel} {ts}"
        self._check_blocks(args, channel, where)
        self._violations.extend(check_block_id_reuse(message, args.get("blocks"), where))
        message["history"].append({k: message.get(k) for k in ("text", "blocks")})
        for key in ("text", "blocks"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": BOT, "ts": self.next_ts()}
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": self.message_json(message),
        }

    def delete(self, args: _Json) -> _Json:
        """chat.delete: the bot's own message only. A thread's first message that still has
        replies becomes a tombstone, and the replies stay."""
        channel, ts, message = self._own(args, "cant_delete_message")
        self.deleted.append(dict(message))
        replies = any(
            m.get("thread_ts") == ts for (c, _), m in self.messages.items() if c == channel
        )
        if message.get("thread_ts") in (None, ts) and replies:
            self.messages[(channel, ts)] = {
                **message,
                "user": "USLACKBOT",
                "subtype": "tombstone",
                "hidden": True,
                "text": TOMBSTONE,
                "blocks": None,
                "files": None,
            }
        else:
            del self.messages[(channel, ts)]
        return {"channel": channel, "ts": ts}

    def post_ephemeral(self, args: _Json) -> _Json:
        channel = require(args, "channel", "channel_not_found")
        user = require(args, "user", "user_not_found")
        if not args.get("text") and not args.get("blocks"):
            raise SlackError("no_text")
        self._check_blocks(args, channel, f"chat.postEphemeral {channel}")
        message_ts = self.next_ts()
        self.ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": args.get("text", ""),
                "blocks": args.get("blocks"),
                "thread_ts": args.get("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"message_ts": message_ts}

    def replies(self, args: _Json) -> _Json:
        """A thread's messages, its root first, as conversations.replies lists them (one page:
        the fake's threads are short)."""
        channel = require(args, "channel", "channel_not_found")
        ts = require(args, "ts", "thread_not_found")
        if (channel, ts) not in self.messages:
            raise SlackError("thread_not_found")
        thread = [
            m
            for (c, _), m in sorted(self.messages.items(), key=lambda item: float(item[0][1]))
            if c == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        return {
            "messages": [self.message_json(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }
