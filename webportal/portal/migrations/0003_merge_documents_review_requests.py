from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_documents"),
        ("portal", "0002_review_requests"),
    ]

    operations = []
