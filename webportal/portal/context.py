from django.conf import settings

from webportal.portal.serving import get_holder
from webportal.version import APP_VERSION


def served_model(request):
    """Every page shows which model decides (and whether it is stale), the app version and environment."""
    return {"served_model": get_holder().status(), "app_version": APP_VERSION, "portal_environment": settings.PORTAL_ENVIRONMENT}
