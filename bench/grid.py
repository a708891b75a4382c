"""Images grid benchmark: the project page and the images API at 10,000 images.

Builds one project of N images (default 10,000; rows only, no files: the grid shows names,
statuses, assignees and thumbnails' URLs, never decodes an image) with random statuses, three
assignees, splits and uncertainties, next to a second project of the same size (so the table is
not the project's alone). Then times, through Django's test client with a logged-in session:
the grid page (first page, a deep page, filtered, most-uncertain-first), as the owner and as an
annotator (who sees their images and the unassigned ones), and the images API's pages.

Baselines measured in the same run, on the same database:
  * the grid's query as it was before issue 16 (selectors.image_list joined the memberships
    table for every page and its COUNT), against today's query (scoped once, then the image
    table only) — each page's COUNT + rows, without rendering;
  * today's query without the indexes that migration 0005_team_workflow adds (dropped at the end).

    .venv/bin/python bench/grid.py                  # 10,000 images, 30 repetitions
    .venv/bin/python bench/grid.py --images 2000 --repeat 10
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from django_setup import django_setup  # noqa: E402


def build(n: int):
    import random

    from django.contrib.auth.models import User

    from annotations import services
    from annotations.models import Image

    rng = random.Random(16)
    owner = User.objects.create_user("olivia", password="x")
    people = [User.objects.create_user(name, password="x") for name in ("tom", "tina", "theo")]
    projects = []
    for name in ("Grid", "Other"):
        project = services.project_create(name=name, owner=owner)
        for person in people:
            services.membership_set(project=project, user=person, role="annotator")
        rows = []
        for i in range(n):
            assignee = rng.choice([None, *people])
            rows.append(Image(
                project=project, file=f"images/{i % 256:02x}/{name}{i}.png", file_name=f"{name.lower()}_{i:05d}.png",
                width=640, height=480, sha256=f"{name}{i:060d}"[-64:], status=rng.choice(["new", "new", "in_progress", "done", "reviewed"]),
                assignee=assignee, split=rng.choice(["", "train", "train", "val"]),
                uncertainty=rng.random() if rng.random() < 0.7 else None,
            ))
        Image.objects.bulk_create(rows, batch_size=2000)
        projects.append(project)
    return owner, people[0], projects[0]


def timed(fn, repeat: int) -> dict:
    fn()  # warm: templates, query plans
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {"p50": statistics.median(times), "p99": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        django_setup(Path(tmp), migrate=True)
        from django.core.paginator import Paginator
        from django.db import connection
        from django.test import Client

        from annotations import selectors
        from annotations.models import Image
        from annotations.views import GRID_PAGE_SIZE

        t0 = time.perf_counter()
        owner, annotator, project = build(args.images)
        print(f"built 2 projects x {args.images:,} images in {time.perf_counter() - t0:.1f} s")
        pages = -(-args.images // GRID_PAGE_SIZE)
        deep = pages - 1
        clients = {}
        for user in (owner, annotator):
            client = Client()
            client.force_login(user)
            clients[user.username] = client

        def page(user: str, query: str):
            def go():
                response = clients[user].get(f"/projects/{project.pk}/?{query}")
                assert response.status_code == 200, response.status_code
            return go

        def api(user: str, query: str):
            def go():
                response = clients[user].get(f"/api/projects/{project.pk}/images/?page_size={GRID_PAGE_SIZE}&{query}")
                assert response.status_code == 200, response.status_code
            return go

        deep_filtered = max(1, args.images // 5 // 4 // GRID_PAGE_SIZE)  # about the last page of done & tom's
        cases = [
            ("page, owner, first", page("olivia", "")),
            (f"page, owner, deep (page {deep})", page("olivia", f"page={deep}")),
            ("page, owner, status=done & assignee=tom", page("olivia", "status=done&assignee=tom")),
            (f"page, owner, same filter, page {deep_filtered}", page("olivia", f"status=done&assignee=tom&page={deep_filtered}")),
            ("page, owner, name contains '_0999'", page("olivia", "name=_0999")),
            (f"page, owner, most uncertain, page {deep}", page("olivia", f"ordering=uncertainty&page={deep}")),
            ("page, annotator, first", page("tom", "")),
            ("page, annotator, deep (page 60)", page("tom", "page=60")),
            ("api, owner, first", api("olivia", "")),
            (f"api, owner, deep (page {deep})", api("olivia", f"page={deep}")),
            ("api, annotator, split=val, page 3", api("tom", "split=val&page=3")),
        ]
        print(f"\n{'what':48} {'p50 ms':>8} {'p99 ms':>8}")
        for name, fn in cases:
            r = timed(fn, args.repeat)
            print(f"{name:48} {r['p50']:8.1f} {r['p99']:8.1f}")

        # The query alone (COUNT + one page of rows), before and after, without rendering.
        def old_query(user, page_number, **filters):
            return lambda: _old(user, page_number, **filters)

        def _old(user, page_number, **filters):
            selectors.project_get(user=user, project_id=project.pk)  # the page's project_or_404, as before
            images = Image.objects.filter(project__memberships__user=user, project_id=project.pk)
            if filters.get("status"):
                images = images.filter(status__in=filters["status"].split(","))
            if filters.get("ordering") == "uncertainty":
                images = images.order_by("-uncertainty", "id")
            return list(Paginator(images, GRID_PAGE_SIZE).get_page(page_number).object_list)

        def new_query(user, page_number, **filters):
            ordering = filters.pop("ordering", "id")
            def go():
                images = selectors.image_list(user=user, project_id=project.pk, order=ordering, filters=selectors.ImageFilters(**filters))
                return list(Paginator(images, GRID_PAGE_SIZE).get_page(page_number).object_list)
            return go

        query_cases = [
            ("owner, first page", owner, 1, {}),
            (f"owner, deep page {deep}", owner, deep, {}),
            ("owner, status=done", owner, 5, {"status": "done"}),
            (f"owner, most uncertain, page {deep}", owner, deep, {"ordering": "uncertainty"}),
        ]
        print(f"\nthe grid's query (COUNT + {GRID_PAGE_SIZE} rows), p50 ms:")
        print(f"{'what':40} {'before 16':>10} {'now':>8} {'now/before':>11} {'now, no 0005 idx':>17}")
        results = []
        for name, user, number, filters in query_cases:
            before = timed(old_query(user, number, **filters), args.repeat)["p50"]
            now = timed(new_query(user, number, **dict(filters)), args.repeat)["p50"]
            results.append((name, user, number, filters, before, now))
        annotator_now = timed(new_query(annotator, 30), args.repeat)["p50"]
        with connection.cursor() as cursor:
            for index in ("image_project_assignee", "image_project_uncertainty"):
                cursor.execute(f"DROP INDEX {index}")
        for name, user, number, filters, before, now in results:
            no_index = timed(new_query(user, number, **dict(filters)), args.repeat)["p50"]
            print(f"{name:40} {before:10.2f} {now:8.2f} {now / before:11.2f} {no_index:17.2f}")
        annotator_no_index = timed(new_query(annotator, 30), args.repeat)["p50"]
        print(f"{'annotator (own + unassigned), page 30':40} {'-':>10} {annotator_now:8.2f} {'-':>11} {annotator_no_index:17.2f}")
        print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, SQLite {connection.Database.sqlite_version}, "
              f"Python {platform.python_version()}; {args.repeat} repetitions each")


if __name__ == "__main__":
    main()
