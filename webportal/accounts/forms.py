"""Login with throttling: after LOGIN_MAX_FAILURES failed attempts for a username or a client address,
further attempts are refused for LOGIN_LOCKOUT_SECONDS. Every sign-in door (the portal's, the admin's) counts in
the same cache keys, so a lockout at one holds at the other."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError


def _keys(request, username: str) -> list[str]:
    ip = (request.META.get("REMOTE_ADDR") or "unknown") if request else "unknown"
    user = hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return [f"login-fail:user:{user}", f"login-fail:ip:{ip}"]


THROTTLED = "Too many failed sign-in attempts. Try again in %(minutes)d minutes."


class ThrottleMixin:
    """Put before an AuthenticationForm: refuses while locked out, counts each failure."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        keys = _keys(self.request, username)
        limit = settings.LOGIN_MAX_FAILURES
        if any((cache.get(k) or 0) >= limit for k in keys):
            raise ValidationError(
                self.error_messages["throttled"], code="throttled", params={"minutes": settings.LOGIN_LOCKOUT_SECONDS // 60}
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            for key in keys:
                cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
            raise
        cache.delete(keys[0])
        return cleaned


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    error_messages = {**AuthenticationForm.error_messages, "throttled": THROTTLED}


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    """/admin/login/ (admin.site.login_form): the same throttle as the portal's sign-in."""

    error_messages = {**AdminAuthenticationForm.error_messages, "throttled": THROTTLED}
