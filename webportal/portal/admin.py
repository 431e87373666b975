from django.contrib import admin

from webportal.portal.models import Component, Feedback, MonitoringReport, Prediction


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["id", "text", "label", "probability", "model_version", "status", "created_by", "created_at"]
    list_filter = ["status", "label"]
    search_fields = ["text"]
    readonly_fields = ["label", "probability", "model_version", "status", "created_at", "updated_at"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "component", "label", "probability", "model_version", "source", "user", "created_at"]
    list_filter = ["source", "label", "model_version"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "component", "correct_label", "reviewer", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoringReport)
class MonitoringReportAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "headline", "model_version", "rows", "created_at"]
