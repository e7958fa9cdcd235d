"""The model watch: every model easel is configured with (EASEL_MODEL, EASEL_IMAGE_MODEL and
each workspace's own choice) checked with the image service at start and once a day after.

At start a model set in the environment that is gone stops easel (the caller raises what
`start` returns); everything else is logged, a model shutting down within WARN_DAYS or gone
is shown to the admins of the workspaces that use it and in /healthz, and an admin's form
refuses a model that is gone (`vet`). Nothing is refused for what nobody could say.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date

from bot.clock import Clock, utc
from bot.models import Exists, ImageOptions, ModelStatus
from bot.ports import ModelCatalog, SettingsStore
from bot.workspace.fields import label
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.verdicts import MODEL_FIELDS, VARIABLES, Judgement, Verdict, judge, sentence

log = logging.getLogger(__name__)

DAY = 86_400.0
START_PATIENCE = 30.0  # seconds the check at start waits for the image service
CHECK_PATIENCE = 60.0  # ... and the daily one
FORM_PATIENCE = 0.8  # ... and an admin's form (Slack waits 3 s for its answer, in all)
PLACES_SHOWN = 5
Tick = Callable[[], Awaitable[None]]  # what the runtime waits for between two checks


@dataclass(frozen=True, slots=True)
class Use:
    """Where a model is set: an environment variable, or one workspace's setting."""

    field: str
    model: str
    platform: str = ""
    workspace: str = ""

    @property
    def where(self) -> str:
        if not self.platform:
            return VARIABLES[self.field]
        return f"{label(self.field)} of {self.platform}:{self.workspace}"


class ModelWatch:
    def __init__(
        self,
        *,
        catalog: ModelCatalog,
        settings: SettingsStore,
        defaults: ImageOptions,
        clock: Clock,
    ) -> None:
        self._catalog = catalog
        self._settings = settings
        self._defaults = defaults
        self._clock = clock
        self._known: dict[str, ModelStatus] = {}
        self.checks = 0  # checks completed: the one at start, then one a day

    def judgement(self, model: str) -> Judgement | None:
        """What is known of `model` today (None: it was never asked about)."""
        status = self._known.get(model)
        return None if status is None else judge(status, today=self._today())

    async def start(self, *, within: float = START_PATIENCE) -> list[str]:
        """Check every model easel is configured with. Returns what must stop easel: a
        sentence for each environment variable whose model is gone (the rest is logged)."""
        found = await self._check(fresh=False, within=within, starting=True)
        return [
            f"{use.where}: {sentence(use.field, j)}"
            for use, j in found
            if not use.platform and j.verdict is Verdict.GONE
        ]

    async def recheck(self, *, within: float = CHECK_PATIENCE) -> None:
        """Check every configured model again, asking afresh (the runtime does it daily)."""
        await self._check(fresh=True, within=within, starting=False)

    async def vet(self, model: str, *, within: float = FORM_PATIENCE) -> Judgement:
        """What is known of a model an admin is choosing, asked now unless known today."""
        self._remember(await self._ask(model, fresh=False, within=within))
        return judge(self._known[model], today=self._today())

    async def warnings(self) -> list[str]:
        """Every configured model that shuts down soon or is gone, and where it is set."""
        found = [(u, j) for u in await self._uses() if (j := self.judgement(u.model)) is not None]
        return [f"{j.words} ({_places(uses)})" for j, uses in _grouped(found) if j.warns]

    def warnings_for(self, settings: WorkspaceSettings) -> list[str]:
        """For a workspace's admins: its models that shut down soon or are gone, and those it
        chose itself that could not be checked."""
        lines = []
        for field in MODEL_FIELDS:
            model: str = getattr(settings, field)
            found = self.judgement(model)
            if found is None:
                continue
            own = model != getattr(self._defaults, field)
            unchecked = own and found.asked and found.verdict is Verdict.UNKNOWN
            if found.warns or unchecked:
                lines.append(f"{label(field)}: {sentence(field, found)}.")
        return lines

    async def _check(
        self, *, fresh: bool, within: float, starting: bool
    ) -> list[tuple[Use, Judgement]]:
        uses = await self._uses()
        models = sorted({use.model for use in uses})
        asked = await asyncio.gather(*(self._ask(m, fresh=fresh, within=within) for m in models))
        for status in asked:
            self._remember(status)
        found = [(use, j) for use in uses if (j := self.judgement(use.model)) is not None]
        _log(found, starting=starting)
        self.checks += 1
        return found

    async def _ask(self, model: str, *, fresh: bool, within: float) -> ModelStatus:
        try:
            async with asyncio.timeout(within):
                return await self._catalog.status(model, fresh=fresh)
        except TimeoutError:
            reason = f"no answer within {within:g} s"
            return ModelStatus(model=model, exists=Exists.UNKNOWN, reason=reason)

    def _remember(self, status: ModelStatus) -> None:
        """Keep the latest word on a model; nobody answering does not undo an answer."""
        if status.exists is not Exists.UNKNOWN or status.model not in self._known:
            self._known[status.model] = status

    async def _uses(self) -> list[Use]:
        uses = [Use(field, getattr(self._defaults, field)) for field in MODEL_FIELDS]
        for platform, workspace, field, value in await self._settings.chosen(MODEL_FIELDS):
            if isinstance(value, str) and value:
                uses.append(Use(field, value, platform, workspace))
        return uses

    def _today(self) -> date:
        return utc(self._clock).date()


def _grouped(found: Iterable[tuple[Use, Judgement]]) -> list[tuple[Judgement, list[Use]]]:
    """Each model once, with every place it is set."""
    groups: dict[str, tuple[Judgement, list[Use]]] = {}
    for use, judgement in found:
        groups.setdefault(use.model, (judgement, []))[1].append(use)
    return list(groups.values())


def _places(uses: list[Use]) -> str:
    shown = ", ".join(use.where for use in uses[:PLACES_SHOWN])
    more = len(uses) - PLACES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _log(found: list[tuple[Use, Judgement]], *, starting: bool) -> None:
    """One line per model that needs saying. At start, an environment variable's model that
    is gone is left to the caller, which stops easel with it."""
    for judgement, uses in _grouped(found):
        if judgement.verdict is Verdict.ACTIVE or not judgement.asked:
            continue
        if judgement.verdict is Verdict.UNKNOWN:
            log.warning("%s; going on without knowing (%s)", judgement.words, _places(uses))
            continue
        field = uses[0].field
        said = f"{sentence(field, judgement)} ({_places(uses)})"
        from_env = any(not use.platform for use in uses)
        if judgement.verdict is Verdict.GONE and from_env and starting:
            continue
        if judgement.verdict is Verdict.GONE and from_env:
            log.error("%s: drawings fail until easel runs with another model", said)
        else:
            log.warning("%s", said)
