from django.urls import path

from webportal.portal import documents_views, report_views, review_views, views

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
    path("documents/", documents_views.documents, name="documents"),
    path("documents/<int:pk>/", documents_views.document_detail, name="document"),
    path("documents/<int:pk>/report", documents_views.document_report, name="document-report"),
    path("documents/<int:pk>/export.<str:fmt>", documents_views.document_export, name="document-export"),
    path("documents/<int:pk>/segments/<int:index>/review", documents_views.document_review, name="document-review"),
    path("operations/", views.operations, name="operations"),
    path("operations/reload", views.model_reload, name="reload"),
    path("operations/reports/<int:pk>/", report_views.report_page, name="report"),
    path("operations/reports/<int:pk>/html", report_views.report_html, name="report-html"),
    path("operations/reports/<int:pk>/files/<str:name>", report_views.report_file, name="report-file"),
    path("components/<int:pk>/ask-review", review_views.ask_review, name="ask-review"),
    path("reviews/", review_views.queue, name="reviews"),
]
