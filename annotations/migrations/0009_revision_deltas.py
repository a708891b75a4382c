"""Revisions as keyframes and deltas: `changes`, `keyframe_version` and `annotation_count` on
DocumentRevision; every existing revision is a keyframe (its own keyframe version), and its
count is the length of its document, both set in SQL (no row is loaded into Python)."""
from django.db import migrations, models


def backfill(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("annotations", "DocumentRevision")._meta.db_table)
    length = "jsonb_array_length" if schema_editor.connection.vendor == "postgresql" else "json_array_length"
    schema_editor.execute(f"UPDATE {table} SET keyframe_version = version, annotation_count = {length}(annotations)")


class Migration(migrations.Migration):
    dependencies = [("annotations", "0008_chunk_images")]

    operations = [
        migrations.AlterField(model_name="documentrevision", name="annotations", field=models.JSONField(blank=True, null=True)),
        migrations.AddField(model_name="documentrevision", name="changes", field=models.JSONField(blank=True, null=True)),
        migrations.AddField(model_name="documentrevision", name="keyframe_version", field=models.PositiveIntegerField(default=0),
                            preserve_default=False),
        migrations.AddField(model_name="documentrevision", name="annotation_count", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
