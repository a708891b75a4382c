"""The models page and the train form in a real browser: the learning curves are drawn (one point
per epoch), the confusion matrix has N x N cells, the page's stylesheet applies; the train form
says what the chosen network costs and sends a preset as a preset."""
from __future__ import annotations

import pytest

from annotations.models import ModelVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HISTORY = [{"epoch": e, "loss": 1.5 / e, "metric": None if e == 3 else 0.2 + 0.1 * e, "elapsed_s": 5.0 * e,
            "partial": e == 6} for e in range(1, 7)]
CLASSES = ["background", "circle", "rectangle"]


def test_the_models_page_draws_each_versions_learning(login_page, live_server, owner, project):
    version = ModelVersion.objects.create(
        project=project, name="fcn-small-v1", architecture="fcn", source="trained", class_mapping=[None, 1, 2],
        training={"history": HISTORY, "best_epoch": 5, "recipe": {"crop_size": 96, "batch_size": 8, "lr": 0.01}},
        metrics={"task": "semantic", "metric_name": "mIoU", "metric": 0.7, "miou": 0.7,
                 "per_class_iou": dict(zip(CLASSES, [0.97, 0.61, 0.52])),
                 "confusion": {"classes": CLASSES, "counts": [[5000, 30, 20], [40, 300, 10], [25, 5, 280]]}},
    )
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/models/")
    card = page.locator(f'section.version-card[data-version="{version.pk}"]')
    loss = card.locator('svg[data-chart="loss"]')
    assert loss.locator("circle.point").count() == 6
    assert loss.locator("path.series").evaluate("p => p.getTotalLength()") > 50
    d = loss.locator("path.series").get_attribute("d")
    assert d.count("M") + d.count("L") == 6
    assert card.locator('svg[data-chart="metric"] circle.point').count() == 5  # epoch 3 not validated
    assert card.locator('svg[data-chart="iou"] rect.bar').count() == 3
    assert card.locator("svg.confusion rect.cell").count() == len(CLASSES) ** 2
    box = card.locator("svg.confusion").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    # models.css applied: the line is a stroke, not a filled shape.
    assert loss.locator("path.series").evaluate("p => getComputedStyle(p).fill") == "none"
    assert "crop size" in card.locator("details.recipe").text_content()
    assert page.js_errors == []


def test_the_train_form_says_what_a_network_costs_and_sends_a_preset(login_page, live_server, owner, project, car):
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    train = page.locator('form[data-action="train"]')
    cost = train.locator("[data-train-cost]")
    assert "mIoU 0.86" in cost.text_content()  # fcn-small, the first option
    train.locator("select[name=network]").select_option("maskrcnn")
    assert "needs a GPU" in cost.text_content()
    train.locator("select[name=network]").select_option("maskrcnn-small")
    train.locator("input[name=minutes]").fill("2")
    with page.expect_request("**/train/") as sent:
        train.locator("button").click()
    assert sent.value.post_data_json == {"preset": "maskrcnn-small", "minutes": 2}
    page.wait_for_selector('form[data-action="train"] output.error')  # no approved images yet
    assert page.js_errors == []
