"""Database engines of our own (settings.DATABASES): Django's, with what our load needs."""
