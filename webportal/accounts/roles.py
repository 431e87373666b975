"""The portal's roles: Django groups with exactly the permissions each role needs."""

from __future__ import annotations

TECHNICIAN, REVIEWER, OPERATOR, ADMINISTRATOR = "technician", "reviewer", "operator", "administrator"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    TECHNICIAN: [
        "portal.view_component",
        "portal.add_component",
        "portal.change_component",
        "portal.import_component",
        "portal.export_component",
        "portal.view_prediction",
        "portal.request_review",
    ],
    REVIEWER: ["portal.view_component", "portal.view_prediction", "portal.add_feedback", "portal.view_feedback"],
    OPERATOR: [
        "portal.view_operations",
        "portal.reload_model",
        "portal.view_monitoringreport",
        "portal.view_component",
        "portal.view_prediction",
        "portal.view_feedback",
    ],
    ADMINISTRATOR: [
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "auth.change_group",
        "authtoken.view_tokenproxy",
        "authtoken.add_tokenproxy",
        "authtoken.delete_tokenproxy",
    ],
}

DEMO_USERS = {
    "tech": [TECHNICIAN],
    "reviewer": [REVIEWER],
    "operator": [OPERATOR],
    "admin": [ADMINISTRATOR, TECHNICIAN, REVIEWER, OPERATOR],
}
