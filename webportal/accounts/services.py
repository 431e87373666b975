"""Roles and demo users."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from webportal.accounts.roles import ADMINISTRATOR, DEMO_USERS, ROLE_PERMISSIONS


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_setup() -> dict[str, int]:
    """Create (or reset) each role's group with exactly its permissions. Idempotent."""
    out = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(p) for p in perms])
        out[role] = len(perms)
    return out


@transaction.atomic
def user_create_with_roles(*, username: str, roles: list[str], password: str | None = None) -> tuple[object, str | None]:
    """Create a user in the given roles. Returns (user, generated password or None). Existing users keep their password."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    generated = None
    if created:
        generated = None if password else secrets.token_urlsafe(12)
        user.set_password(password or generated)
    if ADMINISTRATOR in roles:
        user.is_staff = True
        user.is_superuser = True
    user.save()
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user, generated


def demo_users_create(*, password: str = "") -> dict[str, str | None]:
    """Local demo users (tech, reviewer, operator, admin). Passwords: `password` or generated once."""
    out = {}
    for username, roles in DEMO_USERS.items():
        _, generated = user_create_with_roles(username=username, roles=roles, password=password or None)
        out[username] = generated
    return out
