from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webportal.accounts"
    label = "accounts"
