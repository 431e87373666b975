from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "webportal.api"
    label = "api"
