from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from webportal.accounts.forms import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm
from webportal.api import views as api_views
from webportal.portal import probes

handler500 = "webportal.portal.outage.server_error"
admin.site.login_form = ThrottledAdminAuthenticationForm  # every sign-in door shares the one throttle

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(("webportal.api.urls", "api"))),
    path("healthz", probes.healthz, name="healthz"),
    path("metrics", probes.metrics_view, name="metrics"),
    path("bench/noop", login_not_required(probes.noop), name="bench-noop"),
    path("bench/echo", login_not_required(api_views.BenchEchoView.as_view()), name="bench-echo"),
    path("", include("webportal.portal.urls")),
]
