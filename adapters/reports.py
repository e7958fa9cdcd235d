"""Settings and usage as chat text, for both platforms (both write mentions as <@id>, <#id>)."""

from __future__ import annotations

from bot.workspace.fields import FIELDS, Field
from bot.workspace.quotas import Spend, UsageReport
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.sizes import STABLE, is_experimental


def settings_lines(settings: WorkspaceSettings, *, bold: str) -> str:
    """Every setting on its own line; `bold` is the platform's marker (Slack * / Discord **)."""
    b = bold
    return "\n".join(f"{b}{f.label}:{b} {shown(f, settings)}" for f in FIELDS.values())


def shown(field: Field, settings: WorkspaceSettings) -> str:
    """A setting's value as people name it (sizes by shape, channels as mentions)."""
    value = getattr(settings, field.name)
    if field.kind == "channels" and value:
        return ", ".join(f"<#{c}>" for c in value)
    if field.name == "allowed_sizes":
        return settings.sizes.describe()
    if field.kind in ("size", "largest") and is_experimental(value):
        return f"{field.show(value)} (OpenAI calls sizes above {STABLE} experimental)"
    return field.show(value)


def usage_text(report: UsageReport, *, admin: bool, bold: str) -> str:
    b = bold
    limit = f" of {report.daily_limit}" if report.daily_limit is not None else ""
    lines = [
        f"{b}Your drawings:{b} {report.today}{limit} today (resets in {report.day_resets_in}), "
        f"{report.month} this month."
    ]
    if admin:
        lines.extend(_spend_lines(report, bold=b))
    return "\n".join(lines)


def _spend_lines(report: UsageReport, *, bold: str) -> list[str]:
    """The workspace's spend for admins: every dollar figure with the price table's date (and
    source), then what is known to be wrong with the prices of the models in use."""
    b = bold
    cap = (
        f" of the ${report.monthly_cap_usd:,.2f} cap" if report.monthly_cap_usd is not None else ""
    )
    dated = f"prices as of {report.prices_as_of}"
    sourced = f"{dated} from {report.prices_source}" if report.prices_source else dated
    spend = report.month_spend
    lines = [
        f"{b}Workspace this month:{b} {_drawings(spend.drawings)}, "
        f"about ${spend.usd:,.2f}{cap} (resets {report.month_resets_on}; {sourced})."
    ]
    people = [(f"<@{k}>", v) for k, v in report.by_user.items()]
    channels = [(f"<#{k}>", v) for k, v in report.by_channel.items()]
    lines.extend(_breakdown(f"{b}By person ({dated}):{b}", people))
    lines.extend(_breakdown(f"{b}By channel ({dated}):{b}", channels))
    lines.extend(f"{b}Note:{b} {note}." for note in report.price_notes)
    return lines


def _breakdown(title: str, rows: list[tuple[str, Spend]]) -> list[str]:
    lines = [f"• {who}: {_drawings(s.drawings)}, ${s.usd:,.2f}" for who, s in rows[:20]]
    return [title, *lines] if lines else []


def _drawings(n: int) -> str:
    return f"{n} drawing" if n == 1 else f"{n} drawings"
