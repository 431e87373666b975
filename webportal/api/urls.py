from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from webportal.api import documents_views, views

# DRF authenticates API requests itself (token or session): exempt them from the login redirect.
urlpatterns = [
    path("v1/classify", login_not_required(views.ClassifyView.as_view()), name="classify"),
    path("v1/components", login_not_required(views.ComponentListView.as_view()), name="components"),
    path("v1/components/<int:pk>", login_not_required(views.ComponentDetailView.as_view()), name="component"),
    path("v1/documents", login_not_required(documents_views.DocumentUploadView.as_view()), name="documents"),
    path("v1/documents/<int:pk>", login_not_required(documents_views.DocumentDetailView.as_view()), name="document"),
    path("v1/feedback", login_not_required(views.FeedbackView.as_view()), name="feedback"),
    # Signed in only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]; a docs page on a spectacular view inherits it).
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    # The pages people read: behind the portal's sign-in (DRF marks its views login_not_required, so say it here).
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", login_required(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
