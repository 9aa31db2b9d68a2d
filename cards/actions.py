"""The one codec for button / select action ids, shared by renderers and adapters: tb:<kind>:<action>:<id>:<version>."""

from __future__ import annotations

from dataclasses import dataclass

from bot.subjects import Subject, SubjectKind

PREFIX = "tb"
# Actions every card kind understands besides its own: "I'm on it" on an escalation, and "show this copy again"
# (in the layout named by the variant, a platform's own word such as WeCom's expanded form).
ACK = "ack"
VIEW = "view"


@dataclass(frozen=True)
class ActionRef:
    """A decoded action id: what to do, to which subject, as seen at which version (and a control's variant)."""

    kind: SubjectKind
    action: str
    subject_id: int
    version: int
    variant: str | None = None

    @property
    def subject(self) -> Subject:
        """The subject the action is about."""
        return Subject(self.kind, self.subject_id)


def encode(subject: Subject, action: str, version: int, variant: str | None = None) -> str:
    """'tb:ticket:claim:123:4' — short enough for every platform's id limits (Slack 255, WeCom 64)."""
    code = f"{PREFIX}:{subject.kind.value}:{action}:{subject.id}:{version}"
    return f"{code}:{variant}" if variant else code


def decode(action_id: str) -> ActionRef | None:
    """The ActionRef in `action_id`, or None when it is not one of ours or malformed."""
    parts = action_id.split(":") if isinstance(action_id, str) else []
    if len(parts) < 4 or parts[0] != PREFIX:
        return None
    try:
        if len(parts) in (5, 6) and parts[1] in _KINDS:
            kind, action, subject_id, version = SubjectKind(parts[1]), parts[2], parts[3], parts[4]
            variant = parts[5] if len(parts) == 6 else None
        elif len(parts) in (4, 5) and parts[1] not in _KINDS:
            # Cards posted before subjects existed ('tb:claim:123:4', 'tb:view:123:more') are still out there.
            kind, action, subject_id = SubjectKind.TICKET, parts[1], parts[2]
            version, variant = (0, parts[3]) if action == VIEW else (parts[3], parts[4] if len(parts) == 5 else None)
        else:
            return None
        if not (action and str(subject_id).isdigit() and str(version).isdigit()):
            return None
        return ActionRef(kind, action, int(subject_id), int(version), variant or None)
    except ValueError:
        return None


_KINDS = frozenset(kind.value for kind in SubjectKind)
