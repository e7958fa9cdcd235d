"""Every shape an OpenAI failure takes, and the words a person should read for each."""

from __future__ import annotations

from tests.fakes.openai_server import Script

BUSY = "busy right now"
SAFETY = "safety system declined"
COULD_NOT = "could not draw this one"

ERROR_SHAPES = {
    "http-429": (Script(http_error=(429, "rate_limit_exceeded", "Rate limit reached")), BUSY),
    "http-500": (Script(http_error=(500, "server_error", "The server had an error")), BUSY),
    "http-400": (Script(http_error=(400, "invalid_value", "Invalid value")), COULD_NOT),
    "http-moderation": (Script(http_error=(400, "moderation_blocked", "Blocked")), SAFETY),
    "http-413": (Script(http_error=(413, None, "Request too large")), "too large"),
    "stream-error-event": (Script(stream_error_event=("server_error", "Try again")), BUSY),
    "stream-error-data": (Script(stream_error_data=("image_failed", "No image")), COULD_NOT),
    "response-failed": (Script(failed=("server_error", "Internal error")), BUSY),
    "moderation-blocked": (Script(moderation_blocked=True), SAFETY),
}
