"""Django admin registrations, for operators."""
from django.contrib import admin

from .models import Annotation, Image, Job, LabelClass, Membership, ModelVersion, Project

admin.site.register([Project, Membership, LabelClass, Image, Annotation, Job, ModelVersion])
