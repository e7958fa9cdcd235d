"""easel's one exception tree. Every error a person can see carries words they can act on.

EaselError                    user_message: what the chat shows
├── BadInput                  the request itself is wrong (empty prompt, not an image, ...)
│   ├── AttachmentRejected    one attached file could not be used (names the file)
│   └── NotAllowed            settings, a quota or a spend cap say no (before any cost)
├── ModerationBlocked         OpenAI's safety system declined the prompt or the image
├── ServiceBusy               rate limited, overloaded or unreachable (a dropped connection),
│                             after the SDK's own retries
├── ServiceTimeout            the model took too long to answer
├── ImageTooLarge             the image or an input is larger than the service accepts
├── GenerationFailed          any other refusal or failure from the image service
│   └── ContextExpired        previous_response_id is gone; the service recovers from it
├── StoreUnavailable          easel's own database does not answer (a restart, a lost connection)
├── ChatUnavailable           the chat platform is down or busy for now, before anything is paid
├── ChatRefused               the chat platform refused easel's message, before anything is paid
├── DeliveryFailed            the chat platform would not take the finished image
│   └── DeliveryDelayed       the platform is down or busy for now: easel tries again
└── Interrupted               easel stopped or restarted while drawing (the turn can be retried)
"""

from __future__ import annotations


class EaselError(Exception):
    """Base of every error easel expects. `user_message` is safe to show in the chat."""

    code = "error"
    default_message = "Something went wrong while drawing. Please try again."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        self.user_message = user_message or self.default_message
        self.detail = detail
        super().__init__(detail or self.user_message)


class BadInput(EaselError):
    code = "bad_input"
    default_message = "That request could not be used."


class AttachmentRejected(BadInput):
    code = "attachment_rejected"


class NotAllowed(BadInput):
    code = "not_allowed"
    default_message = "easel is not allowed to draw that here."


class ModerationBlocked(EaselError):
    code = "moderation_blocked"
    default_message = (
        "OpenAI's safety system declined this request. Try rewording the prompt "
        "or using a different image."
    )


class ServiceBusy(EaselError):
    code = "service_busy"
    default_message = "The image service is busy right now. Please try again in a minute."


class ServiceTimeout(EaselError):
    code = "timeout"
    default_message = "The image service took too long to answer. Please try again."


class ImageTooLarge(EaselError):
    code = "image_too_large"
    default_message = (
        "The image was too large for the image service. Try a smaller attachment or size."
    )


class GenerationFailed(EaselError):
    code = "generation_failed"
    default_message = "The image service could not draw this one. Please try again."


class ContextExpired(GenerationFailed):
    code = "previous_response_not_found"
    default_message = "The thread's earlier drawing has expired on the image service."


class StoreUnavailable(EaselError):
    """easel's database did not answer (PostgreSQL restarting, a lost connection): the
    request is refused before anything is drawn; a running turn is settled by its lease."""

    code = "store_unavailable"
    default_message = (
        "easel cannot reach its database right now, so nothing was drawn. "
        "Please try again in a minute."
    )


class ChatUnavailable(EaselError):
    """The chat platform did not take easel's placeholder (a 5xx, a rate limit, a dropped
    connection): easel tries again for a few seconds; nothing has been drawn or paid."""

    code = "chat_unavailable"
    default_message = (
        "The chat app is not answering right now, so nothing was drawn. "
        "Please try again in a minute."
    )


class ChatRefused(EaselError):
    """The chat platform refused easel's placeholder for good (not in the channel, ...)."""

    code = "chat_refused"
    default_message = "The chat app refused easel's message, so nothing was drawn."


class DeliveryFailed(EaselError):
    code = "delivery_failed"
    default_message = "The image was drawn, but the chat app would not accept it."


class DeliveryDelayed(DeliveryFailed):
    """A delivery that failed for now (a 5xx, a rate limit past the SDK's retries, a network
    error): the image stays in the outbox and easel tries again later."""

    code = "delivery_delayed"
    default_message = "The image is finished; the chat app is not taking it right now."


class Interrupted(EaselError):
    code = "interrupted"
    default_message = "easel was restarted while drawing this. Press Retry or reply “retry”."
