"""The ML runtime of the workers: model builders, checkpoints, batched inference, training,
augmentation, datasets, metrics and synthetic data.

Pure PyTorch/NumPy; nothing here imports Django, so it can be tested and benchmarked alone.
The Celery tasks in `workers/` translate between database rows and the plain Python data
these modules take.
"""
