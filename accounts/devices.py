"""The phone a login names, for the tokens it issues.

Devices are kept by the sync app, which sits above accounts in the house. A login may name its
phone (``device_id``, the phone's own identifier), and the refresh token it issues, every
rotation of it and every access token they give must say which device row they belong to, so
that signing a phone out ends exactly its sessions (and its event stream). The sync app
registers here, at start-up (``SyncauditConfig.ready``), the function that finds or creates a
user's device row; accounts only ever calls it.
"""

from collections.abc import Callable

DEVICE_CLAIM = "dev"  # the device row's id, in refresh and access tokens

_provider: Callable[..., object] | None = None


def devices_provide(provider: Callable[..., object]) -> None:
    """``provider(user=, device_id=)`` returns the user's device row for that phone id."""
    global _provider
    _provider = provider


def device_for_login(*, user, device_id: str) -> str:
    if _provider is None:
        raise RuntimeError("no app keeps devices (the sync app registers one at start-up)")
    return str(_provider(user=user, device_id=device_id).pk)
