"""Commands clients send over Socket.IO, validated strictly, and the replies they get."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from records.base import (
    MAX_BODY_CHARS,
    ClientMsgId,
    Emoji,
    GroupId,
    MessageId,
    NewGroupName,
    UserId,
    describe_errors,
    is_blank,
)
from records.search import DEFAULT_RESULTS, MAX_RESULTS, Order
from records.text import text_problem

Username = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_SEARCH_PAYLOAD_CHARS = 10_000
"""The longest search query a payload carries (``records.search`` allows far fewer)."""


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


C = TypeVar("C", bound=Command)


class JoinCommand(Command):
    group_id: GroupId
    since_seq: int | None = Field(default=None, ge=0)
    since_change: int | None = Field(default=None, ge=0)


class SendCommand(Command):
    group_id: GroupId
    client_msg_id: ClientMsgId
    body: str
    reply_to: MessageId | None = None
    """The message this one answers, in the same group."""


class InGroup(Command):
    """``leave``, ``members``, ``typing``, ``presence``: a group and nothing else."""

    group_id: GroupId


class CreateGroupCommand(Command):
    name: NewGroupName
    private: bool = False


class InviteCommand(Command):
    group_id: GroupId
    user_id: UserId | None = None
    username: Username | None = None


class RevokeCommand(Command):
    group_id: GroupId
    user_id: UserId


class RemoveMemberCommand(Command):
    group_id: GroupId
    user_id: UserId


class DirectCommand(Command):
    """``direct``: the other person, by exactly one of ``username`` and ``user_id``."""

    user_id: UserId | None = None
    username: Username | None = None

    @model_validator(mode="after")
    def one_person(self) -> DirectCommand:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("give exactly one of user_id and username")
        return self


class BlockCommand(Command):
    """``block`` and ``unblock``: the other person, by id."""

    user_id: UserId


class HistoryCommand(Command):
    """A page of messages: the newest, or those before ``before_seq`` (newest first), or
    those after ``after_seq`` (oldest first, for catching up in order), or those around
    ``around_seq`` (oldest first, it among them: a search result opened in context)."""

    group_id: GroupId
    before_seq: int | None = Field(default=None, ge=1)
    after_seq: int | None = Field(default=None, ge=0)
    around_seq: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=100)

    @model_validator(mode="after")
    def one_cursor(self) -> HistoryCommand:
        given = [self.before_seq, self.after_seq, self.around_seq]
        if sum(cursor is not None for cursor in given) > 1:
            raise ValueError("give one of before_seq, after_seq and around_seq, not more")
        return self


class ReadCommand(Command):
    group_id: GroupId
    seq: int = Field(ge=0)


class EditCommand(Command):
    message_id: MessageId
    body: str


class DeleteCommand(Command):
    message_id: MessageId


class ReactCommand(Command):
    """``react``: toggle the caller's ``emoji`` on a message (``reacted`` given: make it so).
    The emoji is taken as any text here and checked by ``check_emoji``, so that one that is
    not exactly one emoji is refused as such (``invalid_emoji``)."""

    message_id: MessageId
    emoji: str
    reacted: bool | None = None


class NoArguments(Command):
    """An event that takes none (``groups``): an empty object, or nothing at all."""


class FindGroupsCommand(Command):
    query: str = Field(default="", max_length=80)


class SearchCommand(Command):
    """A search of the caller's messages. The query is read by ``records.search.parse_query``,
    which says what is wrong with one too long: so it is taken long here, and refused there
    as ``invalid_query`` rather than as a payload of the wrong shape."""

    query: str = Field(max_length=MAX_SEARCH_PAYLOAD_CHARS)
    group_id: GroupId | None = None
    order: Order = "newest"
    limit: int = Field(default=DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


class CommandError(Exception):
    """A command refused with a stable ``code`` and a message for people."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        """Seconds to wait before asking again (``rate_limited``)."""

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error

    def reply(self, **extra: Any) -> dict[str, Any]:
        return {"ok": False, "error": self.error(), **extra}


def parse(model: type[C], data: Any) -> C:
    """Validate a command payload, turning pydantic's errors into one ``invalid_payload``."""
    if not isinstance(data, dict):
        raise CommandError("invalid_payload", "the payload must be an object")
    for name, value in data.items():
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            raise CommandError("invalid_text", f"{name}: {problem}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc, "payload")
        raise CommandError("invalid_payload", problems) from None


_EMOJI = TypeAdapter[str](Emoji)


def check_emoji(text: str) -> str:
    """``text`` if it is exactly one emoji (``records.base.Emoji``), else ``invalid_emoji``."""
    try:
        return _EMOJI.validate_python(text)
    except ValidationError:
        raise CommandError("invalid_emoji", "a reaction is exactly one emoji") from None


def check_body(body: str) -> None:
    if is_blank(body):
        raise CommandError("body_empty", "the message body is empty")
    if len(body) > MAX_BODY_CHARS:
        raise CommandError(
            "body_too_long",
            f"the message body has {len(body)} characters; at most {MAX_BODY_CHARS}",
        )
