"""A team's day in a real browser: the owner creates a project and its classes, invites an
annotator, uploads images and assigns one; the annotator paints it and marks it done; the reviewer
rejects it with a comment, the annotator sees the comment and fixes it, the reviewer accepts; the
owner exports the dataset and downloads the zip. Refusals on the way show the server's message."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from annotations import services
from annotations.models import Image, LabelClass, Membership, Project

from ..conftest import png_bytes
from .conftest import image_point, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _output(page, scope: str, text: str) -> None:
    page.wait_for_function(
        "([scope, text]) => (document.querySelector(scope + ' output')?.textContent ?? '').includes(text)", arg=[scope, text],
    )


def _paint(page, a: tuple[int, int], b: tuple[int, int]) -> None:
    page.keyboard.press("0")
    page.keyboard.press("1")  # the class's hotkey
    page.keyboard.press("b")
    ca, cb = (tuple(round(v) for v in image_point(page, *p)) for p in (a, b))
    page.mouse.move(*ca)
    page.mouse.down()
    page.mouse.move(*cb, steps=8)
    page.mouse.up()
    page.keyboard.press("Control+s")
    wait_saved(page)


def _open_editor(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#editor[data-ready='true']")


def test_create_classes_upload_assign_annotate_reject_fix_accept_export(login_page, live_server, owner, teammate, django_user_model, tmp_path):
    base = live_server.url
    reviewer = django_user_model.objects.create_user(username="rita", password="reviewer-pass-123")

    # The owner creates the project from the project list, and lands on its classes.
    boss = login_page(owner)
    boss.goto(f"{base}/")
    create = boss.locator('form[data-action="create-project"]')
    create.locator("input[name=name]").fill("Harbour")
    create.locator("button").click()
    boss.wait_for_url("**/classes/")
    project = Project.objects.get(name="Harbour")

    # Classes: one added; a duplicate name and a reused hotkey are refused with the server's words.
    form = boss.locator('form[data-action="create-class"]')
    form.locator("input[name=name]").fill("boat")
    form.locator("input[name=hotkey]").fill("1")
    form.locator("button").click()
    boss.wait_for_selector("[data-classes] tr[data-class-id]")
    form.locator("input[name=name]").fill("boat")
    form.locator("button").click()
    _output(boss, 'form[data-action="create-class"]', "already has a class named 'boat'")
    form.locator("input[name=name]").fill("buoy")
    form.locator("input[name=hotkey]").fill("1")
    form.locator("button").click()
    _output(boss, 'form[data-action="create-class"]', "hotkey '1' is already used by class 'boat'")
    assert list(LabelClass.objects.filter(project=project).values_list("name", flat=True)) == ["boat"]

    # Members: the owner invites tom; tom joins with the invitation from his project list.
    boss.goto(f"{base}/projects/{project.pk}/members/")
    invite = boss.locator('form[data-action="invite"]')
    invite.locator("input[name=username]").fill("tom")
    invite.locator("button").click()
    boss.wait_for_selector("[data-invitation]:not([hidden])")
    token = boss.locator("[data-invitation]").input_value()
    tom = login_page(teammate)
    tom.goto(f"{base}/")
    join = tom.locator('form[data-action="accept-invitation"]')
    join.locator("input[name=token]").fill(token)
    join.locator("button").click()
    tom.wait_for_selector(f"[data-projects] tr[data-project-id='{project.pk}']")
    services.membership_set(project=project, user=reviewer, role=Membership.Role.REVIEWER)

    # Upload two images (progress, then the grid refreshes in place), assign the first to tom.
    paths = []
    for i in range(2):
        path = tmp_path / f"quay{i}.png"
        path.write_bytes(png_bytes(160, 120, seed=70 + i))
        paths.append(str(path))
    boss.goto(f"{base}/projects/{project.pk}/")
    upload = boss.locator('form[data-action="upload"]')
    upload.locator('input[type="file"]').set_input_files(paths)
    upload.locator("button").click()
    _output(boss, 'form[data-action="upload"]', "2 image(s) added")
    boss.wait_for_function("() => document.querySelectorAll('[data-grid] .tile').length === 2")
    _output(boss, 'form[data-action="upload"]', "Thumbnails ready")
    first, second = Image.objects.filter(project=project).order_by("pk")
    boss.locator(f"[data-grid] .tile[data-image-id='{first.pk}'] input.pick").check()
    boss.locator("[data-bulk] select[name=assignee]").select_option("tom")
    boss.locator("[data-bulk] button[data-bulk-action=assign]").click()
    _output(boss, "[data-bulk]", "1 image(s) changed")
    assert boss.locator(f"[data-grid] .tile[data-image-id='{first.pk}'] [data-assignee]").text_content().startswith("tom")

    # With unassigned images hidden from annotators, tom is refused the second image in the editor.
    services.project_update(project=project, annotators_see_unassigned=False)
    tom.goto(f"{base}/projects/{project.pk}/images/{second.pk}/edit/")
    assert "annotators open only the images assigned to them" in tom.locator("[data-denied]").text_content()

    # Tom paints a stroke on his image and marks it done.
    editor_url = f"{base}/projects/{project.pk}/images/{first.pk}/edit/"
    _open_editor(tom, editor_url)
    _paint(tom, (20, 30), (120, 30))
    tom.locator("[data-action='done']").click()
    _wait_status(first, "done")

    # The reviewer rejects: first without a comment (refused, nothing changes), then with one.
    rita = login_page(reviewer)
    _open_editor(rita, editor_url)
    rita.locator("[data-review-action=reject]").click()
    rita.wait_for_function("() => document.querySelector('[data-review-output]').textContent.includes('needs a comment')")
    assert Image.objects.get(pk=first.pk).status == "done"
    rita.locator("[data-review] textarea").fill("the quay wall is missing")
    rita.locator("[data-review-action=reject]").click()
    rita.wait_for_function("() => document.querySelector('[data-review-output]').textContent.includes('Sent back to tom')")
    assert Image.objects.get(pk=first.pk).status == "in_progress"

    # Tom sees the comment in the editor, fixes the image and marks it done again.
    _open_editor(tom, editor_url)
    tom.wait_for_selector("[data-review-comment]")
    assert tom.locator("[data-review-comment]").text_content() == "the quay wall is missing"
    _paint(tom, (20, 90), (140, 90))
    tom.locator("[data-action='done']").click()
    _wait_status(first, "done")

    # The reviewer accepts.
    _open_editor(rita, editor_url)
    rita.locator("[data-review-action=accept]").click()
    rita.wait_for_function("() => document.querySelector('[data-review-output]').textContent.includes('Accepted')")
    assert Image.objects.get(pk=first.pk).status == "reviewed"

    # The owner exports the reviewed image and downloads the zip.
    boss.goto(f"{base}/projects/{project.pk}/")
    export = boss.locator('form[data-action="export"]')
    export.locator("select[name=format]").select_option("coco")
    export.locator("input[name=approved_only]").check()
    export.locator("button").click()
    link = boss.locator("[data-jobs] a[data-download]").first
    link.wait_for()
    with boss.expect_download() as info:
        link.click()
    with zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read())) as archive:
        coco = json.loads(archive.read("annotations/instances_train.json"))
    assert [i["file_name"] for i in coco["images"]] == ["quay0.png"]
    assert [c["name"] for c in coco["categories"]] == ["boat"] and len(coco["annotations"]) == 1
    for page in (boss, tom, rita):
        assert not page.js_errors, page.js_errors


def _wait_status(image, status: str, timeout_s: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while Image.objects.get(pk=image.pk).status != status:
        assert time.monotonic() < deadline, f"image {image.pk} is {Image.objects.get(pk=image.pk).status}, not {status}"
        time.sleep(0.1)
