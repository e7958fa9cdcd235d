"""What the Discord handlers share: the core's services, attachments, and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.discord.files import DiscordFiles
from adapters.failures import Caller
from bot.clock import Clock, SystemClock
from bot.turns.service import DrawService
from bot.workspace.workspaces import Workspaces


@dataclass(frozen=True, slots=True)
class DiscordDeps:
    turns: DrawService
    workspaces: Workspaces
    files: DiscordFiles
    call: Caller
    preview_interval: float = 1.0
    clock: Clock = field(default_factory=SystemClock)
