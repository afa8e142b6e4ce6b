"""Phone numbers changing hands, told to whoever links its records to contacts by number.

Contacts sit below calls in the house: the contacts app must not import calls, yet a contact
created (or given a new number) must gather the calls of its number in the same transaction,
because a call uploaded before its contact existed is linked only then. So the contact services
announce here, and calls listens (registered in ``CallsConfig.ready``). The listeners run at
once, inside the writer's transaction: what they write commits or rolls back with it.
"""

from collections.abc import Sequence


class NumberListener:
    """Override what you need; both are called inside the writer's transaction."""

    def numbers_live(self, *, numbers: Sequence[str]) -> None:
        """Contacts holding these E.164 numbers have just been created."""

    def number_moved(self, *, holder_id, old: str, new: str) -> None:
        """The live contact ``holder_id`` changed its number from ``old`` to ``new``."""


_listeners: list[NumberListener] = []


def numbers_listen(listener: NumberListener) -> None:
    """Register ``listener``; one of each kind (an app's ready() may run twice in a process)."""
    if all(type(known) is not type(listener) for known in _listeners):
        _listeners.append(listener)


def numbers_live(*, numbers: Sequence[str]) -> None:
    if numbers:
        for listener in _listeners:
            listener.numbers_live(numbers=numbers)


def number_moved(*, holder_id, old: str, new: str) -> None:
    for listener in _listeners:
        listener.number_moved(holder_id=holder_id, old=old, new=new)
