"""The labeling domain: projects, label classes, images, annotations, jobs, the mask codec and the API."""
