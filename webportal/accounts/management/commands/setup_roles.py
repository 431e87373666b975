from django.conf import settings
from django.core.management.base import BaseCommand

from webportal.accounts.services import demo_users_create, roles_setup


class Command(BaseCommand):
    help = "Create the portal's roles (technician, reviewer, operator, administrator); --demo-users adds local demo users."

    def add_arguments(self, parser):
        parser.add_argument("--demo-users", action="store_true", help="also create tech/reviewer/operator/admin for local use")

    def handle(self, *args, demo_users=False, **options):
        for role, n in roles_setup().items():
            self.stdout.write(f"role {role}: {n} permissions")
        if demo_users:
            for username, generated in demo_users_create(password=settings.DEMO_PASSWORD).items():
                if generated:
                    self.stdout.write(f"user {username}: created, password {generated} (shown once)")
                elif settings.DEMO_PASSWORD:
                    self.stdout.write(f"user {username}: ready (password from PORTAL_DEMO_PASSWORD for new users)")
                else:
                    self.stdout.write(f"user {username}: already exists, password unchanged")
