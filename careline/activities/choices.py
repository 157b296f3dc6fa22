from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    PROPOSAL = "proposal", _("Proposal sent")
    OFFER = "offer", _("Offer by phone")
    NOTE = "note", _("Note")
    FOLLOW_UP = "follow_up", _("Follow-up")


class Outcome(models.TextChoices):
    """Call outcomes first; the rest apply to other kinds (an email sent, a meeting held…)."""

    NONE = "", _("(none)")
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    CALL_BACK = "call_back", _("Call back at…")
    INTERESTED = "interested", _("Interested")
    NOT_INTERESTED = "not_interested", _("Not interested")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed to send")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")
    DONE = "done", _("Done")


CALL_OUTCOMES = [
    Outcome.REACHED,
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.WRONG_NUMBER,
    Outcome.CALL_BACK,
    Outcome.INTERESTED,
    Outcome.NOT_INTERESTED,
]
# Outcomes that count as "reached the customer" for the reach rate.
REACHED_OUTCOMES = [Outcome.REACHED, Outcome.CALL_BACK, Outcome.INTERESTED, Outcome.NOT_INTERESTED]

# Which outcomes each kind takes ("" = none). Calls must have one; a follow-up gets its outcome when completed.
KIND_OUTCOMES: dict[str, list[str]] = {
    ActivityKind.CALL: [str(o) for o in CALL_OUTCOMES],
    ActivityKind.EMAIL: ["", Outcome.SENT, Outcome.FAILED],
    ActivityKind.MEETING: ["", Outcome.HELD, Outcome.CANCELLED, Outcome.INTERESTED, Outcome.NOT_INTERESTED],
    ActivityKind.PROPOSAL: ["", Outcome.SENT, Outcome.INTERESTED, Outcome.NOT_INTERESTED],
    ActivityKind.OFFER: ["", Outcome.REACHED, Outcome.INTERESTED, Outcome.NOT_INTERESTED],
    ActivityKind.NOTE: [""],
    ActivityKind.FOLLOW_UP: ["", Outcome.DONE, Outcome.CANCELLED],
}
# Outcomes a follow-up can be completed with.
FOLLOW_UP_DONE_OUTCOMES = [Outcome.DONE, Outcome.CANCELLED]
# Kinds that count as contacting the customer ("last contact" on My day, priority to call next).
CONTACT_KINDS = [
    ActivityKind.CALL,
    ActivityKind.EMAIL,
    ActivityKind.MEETING,
    ActivityKind.PROPOSAL,
    ActivityKind.OFFER,
]
# Bootstrap Icons per kind (timeline, lists).
KIND_ICONS: dict[str, str] = {
    ActivityKind.CALL: "telephone",
    ActivityKind.EMAIL: "envelope",
    ActivityKind.MEETING: "people",
    ActivityKind.PROPOSAL: "file-earmark-text",
    ActivityKind.OFFER: "megaphone",
    ActivityKind.NOTE: "sticky",
    ActivityKind.FOLLOW_UP: "alarm",
}
