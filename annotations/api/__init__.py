"""The REST API: one view per operation, small input/output serializers, one error shape."""
