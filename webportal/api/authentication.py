"""Token authentication with a short per-process cache.

The classify API is the hot path: without the cache every request costs three queries (token + user,
user permissions, group permissions). A token's user, with its permissions loaded, is kept for
API_AUTH_CACHE_SECONDS (default 30; 0 turns the cache off): a revoked token or permission stops working
within that time.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from rest_framework.authentication import TokenAuthentication

_cache: dict[str, tuple[float, object, object, frozenset[str]]] = {}  # key: (expires, user, token, permissions)
_lock = threading.Lock()
_MAX_ENTRIES = 10_000


def clear() -> None:
    with _lock:
        _cache.clear()


def cached_token_user(authorization: str, permissions: frozenset[str]):
    """The user behind an `Authorization: Token <key>` header when it is cached, fresh and holds `permissions`,
    else None. Never touches the database: a miss goes through CachedTokenAuthentication, which fills the cache."""
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "token" or settings.API_AUTH_CACHE_SECONDS <= 0:
        return None
    hit = _cache.get(parts[1])
    return hit[1] if hit and hit[0] > time.monotonic() and permissions <= hit[3] else None


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        ttl = settings.API_AUTH_CACHE_SECONDS
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        permissions = frozenset(user.get_all_permissions()) if user.is_active else frozenset()  # also fills user's own cache
        with _lock:
            if len(_cache) >= _MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + ttl, user, token, permissions)
        return user, token
