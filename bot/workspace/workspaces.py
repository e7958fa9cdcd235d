"""The settings-and-usage side of easel that adapters show and admins change.

Who may change settings is the adapters' business (platform roles); this checks every value
and combination, records each change with its audit, and reports usage and spend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from bot.clock import Clock
from bot.ports import SettingsStore, Usage
from bot.workspace.prices import PriceTable
from bot.workspace.quotas import Quotas, UsageReport
from bot.workspace.settings import SettingsInvalid, WorkspaceSettings, change, sent_changes
from bot.workspace.verdicts import MODEL_FIELDS, Verdict, sentence
from bot.workspace.watch import ModelWatch

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
        models: ModelWatch | None = None,
    ) -> None:
        self._settings = settings
        self._defaults = defaults
        self._models = models
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
        await self._vet_models(changed)
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

    def model_warnings(self, settings: WorkspaceSettings) -> list[str]:
        """For its admins: the workspace's models that shut down soon, are gone, or (chosen
        here) could not be checked."""
        return self._models.warnings_for(settings) if self._models is not None else []

    async def _vet_models(self, changed: Mapping[str, Any]) -> None:
        """Refuse a newly chosen model that the image service says is gone."""
        fields = [name for name in MODEL_FIELDS if name in changed]
        if self._models is None or not fields:
            return
        found = await asyncio.gather(*(self._models.vet(changed[name]) for name in fields))
        problems = {
            name: sentence(name, judgement)
            for name, judgement in zip(fields, found, strict=True)
            if judgement.verdict is Verdict.GONE
        }
        if problems:
            raise SettingsInvalid(problems)

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
