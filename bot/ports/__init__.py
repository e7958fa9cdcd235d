"""The narrow interfaces the core talks to, one per role. Adapters, the backends and the
store implement them; each part of the core asks only for the roles it uses.

bot.ports.chat        a chat platform's side of one turn: TurnMessage, PreviewSink,
                      FinalSink, Inputs (= Surface; Delivery), Reopen
bot.ports.images      the image service: ImageBackend, ModelCatalog
bot.ports.store       durable state: Claims, Threads, Ledger, Drawings, SettingsStore, Usage,
                      Admissions, Replicas, Facts, PublicPreviews, Secrets (= Store)
bot.ports.telemetry   whoever watches easel run: Telemetry, and the Timing it times

Every name is here too: `from bot.ports import Surface`.
"""

from bot.ports.chat import (
    Delivery,
    FinalSink,
    Inputs,
    PreviewSink,
    Reopen,
    Surface,
    SurfaceFor,
    TurnMessage,
)
from bot.ports.images import (
    ImageBackend,
    ModelCatalog,
)
from bot.ports.store import (
    Admissions,
    Claims,
    Drawings,
    Facts,
    Ledger,
    PublicPreviews,
    Replicas,
    Secrets,
    SettingsStore,
    Store,
    Threads,
    Usage,
)
from bot.ports.telemetry import (
    Telemetry,
    Timing,
)

__all__ = [
    "Admissions",
    "Claims",
    "Delivery",
    "Drawings",
    "Facts",
    "FinalSink",
    "ImageBackend",
    "Inputs",
    "Ledger",
    "ModelCatalog",
    "PreviewSink",
    "PublicPreviews",
    "Reopen",
    "Replicas",
    "Secrets",
    "SettingsStore",
    "Store",
    "Surface",
    "SurfaceFor",
    "Telemetry",
    "Threads",
    "Timing",
    "TurnMessage",
    "Usage",
]
