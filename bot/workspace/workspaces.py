"""The settings-and-usage side of easel that adapters show and admins change.

Who may change settings is the adapters' business (platform roles); this checks every value
and combination, records each change with its audit, and reports usage and spend.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.clock import Clock
from bot.ports import SettingsStore, Usage
from bot.workspace.prices import PriceTable
from bot.workspace.quotas import Quotas, UsageReport
from bot.workspace.settings import WorkspaceSettings, change, sent_changes

log = logging.getLogger(__name__)


class Workspaces:
    def __init__(
        self,
        *,
        settings: SettingsStore,
        usage: Usage,
        defaults: WorkspaceSettings,
        prices: PriceTable,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._defaults = defaults
        self.quotas = Quotas(usage=usage, clock=clock, prices=prices)

    async def settings(self, platform: str, workspace: str) -> WorkspaceSettings:
        """The workspace's settings: the process defaults with its admins' changes on top."""
        overrides = await self._settings.overrides(platform, workspace)
        return self._defaults.with_overrides(overrides)

    async def change_settings(
        self,
        platform: str,
        workspace: str,
        *,
        user_id: str,
        texts: Mapping[str, str],
        opened: Mapping[str, str] | None = None,
    ) -> WorkspaceSettings:
        """Apply typed values (field -> text) after checking them all; record each change.

        With `opened` (a form's values when it was opened, field -> text) only the fields
        its sender changed are applied, and one that another admin changed meanwhile is
        refused (SettingsInvalid). The caller has already made sure that `user_id` may
        change settings here."""
        current = await self.settings(platform, workspace)
        if opened is not None:
            texts = sent_changes(current, texts, opened=opened)
        updated, changed = change(current, texts)
        if changed:
            await self._settings.save(
                platform,
                workspace,
                user_id=user_id,
                changes={k: (getattr(current, k), v) for k, v in changed.items()},
            )
            log.info(
                "settings of %s:%s changed by %s: %s", platform, workspace, user_id, sorted(changed)
            )
        return updated

    async def usage(
        self,
        platform: str,
        workspace: str,
        user_id: str,
        *,
        settings: WorkspaceSettings | None = None,
    ) -> UsageReport:
        settings = settings or await self.settings(platform, workspace)
        return await self.quotas.report(
            platform=platform, workspace=workspace, user_id=user_id, settings=settings
        )
