from django.urls import path

from webportal.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("classify/", views.classify, name="classify"),
    path("components/", views.components, name="components"),
    path("components/import/", views.component_import, name="import"),
    path("components/import/progress", views.component_import_progress, name="import-progress"),
    path("components/export.csv", views.component_export, name="export"),
    path("components/<int:pk>/", views.component_detail, name="component"),
    path("components/<int:pk>/edit", views.component_edit, name="component-edit"),
    path("components/<int:pk>/feedback", views.component_feedback, name="component-feedback"),
    path("operations/", views.operations, name="operations"),
    path("operations/reload", views.model_reload, name="reload"),
    path("operations/reports/<int:pk>/html", views.report_html, name="report-html"),
]
