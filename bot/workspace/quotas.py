"""Quotas and spend: who may draw now, and what drawing has cost, by UTC day and month.

Only delivered drawings count. A drawing still running counts against the daily limit
while it runs (so two at once cannot both squeeze under it) and stops counting if it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, utc
from bot.errors import NotAllowed
from bot.ports import Usage
from bot.workspace.prices import PriceTable
from bot.workspace.settings import WorkspaceSettings


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1)


def until(now: datetime, when: datetime) -> str:
    minutes = max(1, int((when - now).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


@dataclass(frozen=True, slots=True)
class Spend:
    drawings: int
    usd: float


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What `/draw usage` shows: the person's own counts, and for admins the workspace's."""

    today: int
    month: int
    daily_limit: int | None
    month_spend: Spend  # the whole workspace
    monthly_cap_usd: float | None
    by_user: dict[str, Spend]
    by_channel: dict[str, Spend]
    prices_as_of: str
    prices_source: str
    price_notes: tuple[str, ...]  # unknown or retired models among the settings' models
    day_resets_in: str
    month_resets_on: str


class Quotas:
    def __init__(self, *, usage: Usage, clock: Clock, prices: PriceTable) -> None:
        self._usage = usage
        self._clock = clock
        self.prices = prices

    async def check(
        self,
        *,
        platform: str,
        workspace: str,
        user_id: str,
        settings: WorkspaceSettings,
        running: int,
    ) -> None:
        """NotAllowed, saying when it resets, if this person or workspace is at a limit."""
        now = utc(self._clock)
        if settings.daily_limit == 0:
            raise NotAllowed("Drawing is paused here: the admins set the daily limit to 0.")
        if settings.daily_limit is not None:
            done = await self._usage.delivered_count(
                platform, workspace, user_id, since=day_start(now).timestamp()
            )
            if done + running >= settings.daily_limit:
                reset = day_start(now) + timedelta(days=1)
                plural = "drawing" if settings.daily_limit == 1 else "drawings"
                raise NotAllowed(
                    f"You have used today's {settings.daily_limit} {plural}"
                    f"{' (some still drawing)' if running else ''}. The limit resets at "
                    f"midnight UTC, in {until(now, reset)}."
                )
        if settings.monthly_cap_usd is not None:
            spent = await self.month_spend(platform, workspace)
            if spent.usd >= settings.monthly_cap_usd:
                raise NotAllowed(
                    f"This workspace has reached its monthly spend cap of "
                    f"${settings.monthly_cap_usd:,.2f} (estimated ${spent.usd:,.2f} so far, "
                    f"{self.prices.provenance}). It resets on "
                    f"{next_month(now):%-d %B} (UTC)."
                )

    async def month_spend(self, platform: str, workspace: str) -> Spend:
        since = month_start(utc(self._clock)).timestamp()
        rows = await self._usage.spend(platform, workspace, since=since)
        drawings, usd = rows.get("", (0, 0.0))
        return Spend(drawings, usd)

    async def report(
        self, *, platform: str, workspace: str, user_id: str, settings: WorkspaceSettings
    ) -> UsageReport:
        now = utc(self._clock)
        since_day, since_month = day_start(now).timestamp(), month_start(now).timestamp()
        today = await self._usage.delivered_count(platform, workspace, user_id, since=since_day)
        month = await self._usage.delivered_count(platform, workspace, user_id, since=since_month)
        by_user = await self._usage.spend(platform, workspace, since=since_month, by="user_id")
        by_channel = await self._usage.spend(platform, workspace, since=since_month, by="channel")
        return UsageReport(
            today=today,
            month=month,
            daily_limit=settings.daily_limit,
            month_spend=Spend(
                sum(n for n, _ in by_user.values()), sum(usd for _, usd in by_user.values())
            ),
            monthly_cap_usd=settings.monthly_cap_usd,
            by_user={k: Spend(*v) for k, v in by_user.items()},
            by_channel={k: Spend(*v) for k, v in by_channel.items()},
            prices_as_of=self.prices.as_of,
            prices_source=self.prices.source,
            price_notes=self.prices.notes(
                image_model=settings.image_model, model=settings.model, today=f"{now:%Y-%m-%d}"
            ),
            day_resets_in=until(now, day_start(now) + timedelta(days=1)),
            month_resets_on=f"{next_month(now):%-d %B}",
        )
