"""The quality report page in a real browser: each annotator's and each class's figures at the
default IoU threshold and at a stricter one the user picks, the charts drawn from them, the
owner's form that marks the sample (and refuses a bad percent), and who may open the page."""
from __future__ import annotations

import pytest

from annotations import services
from annotations.models import GroundTruthSample, Membership

from ..quality_support import quality_scenario

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def amy(django_user_model, project):
    user = django_user_model.objects.create_user(username="amy", password="annotator-pass-123")
    services.membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return user


@pytest.fixture
def twenty(make_image):
    return [make_image(20, 20) for _ in range(20)]


def cell(page, table: str, row: str, column: str) -> str:
    return page.locator(f'[data-{table}] tr[data-{"annotator" if table == "per-annotator" else "class"}="{row}"] [data-{column}]').text_content()


def test_the_quality_report_shows_each_annotators_figures_and_the_charts(
    login_page, live_server, owner, teammate, amy, project, twenty, car, road,
):
    quality_scenario(project=project, owner=owner, tom=teammate, amy=amy, car=car, road=road)
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/quality/")
    assert "2 images (10 % of the project, seed 11)" in page.locator("[data-sample-summary]").text_content()
    assert page.locator("[data-images-scored]").text_content() == "2"
    assert (cell(page, "per-annotator", "tom", "accuracy"), cell(page, "per-annotator", "tom", "precision"),
            cell(page, "per-annotator", "tom", "recall"), cell(page, "per-annotator", "tom", "mean-iou")) == ("0.600", "0.750", "0.750", "0.767")
    assert cell(page, "per-annotator", "amy", "accuracy") == "1.000"
    assert cell(page, "per-class", "road", "class-iou") == "0.900"
    assert cell(page, "per-class", "car", "accuracy") == "0.714"  # 5 / 7
    charts = page.locator("[data-charts] svg.bar-chart")
    assert charts.count() == 5
    accuracy = page.locator('svg[data-chart="annotator-accuracy"]')
    assert accuracy.get_attribute("data-bars") == "2"
    widths = accuracy.locator("rect.bar").evaluate_all("bars => bars.map(b => b.getBBox().width)")
    assert widths[1] == pytest.approx(widths[0] * 0.6, rel=0.01)  # amy 1.0 first, tom 0.6
    assert accuracy.locator("rect.bar").first.evaluate("b => getComputedStyle(b).fill") != "rgb(0, 0, 0)"  # models.css applied
    # a stricter threshold: B' (IoU 0.7) no longer matches
    page.fill("input[name=iou]", "0.75")
    page.click(".qc-threshold button")
    page.wait_for_url("**/quality/?iou=0.75")
    assert cell(page, "per-annotator", "tom", "accuracy") == "0.333"
    assert cell(page, "per-annotator", "tom", "precision") == "0.500"
    assert page.js_errors == []


def test_an_owner_marks_the_sample_from_the_page_and_a_bad_percent_is_refused(login_page, live_server, owner, project, twenty):
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/quality/")
    form = page.locator("[data-quality-mark]")
    form.locator("input[name=percent]").evaluate("i => { i.removeAttribute('max'); i.value = '60'; }")
    form.locator("button").click()
    page.wait_for_selector("[data-quality-mark] output.error")
    assert "1 to 50 %" in form.locator("output").text_content()
    assert not GroundTruthSample.objects.exists()
    form.locator("input[name=percent]").fill("15")
    form.locator("input[name=seed]").fill("9")
    with page.expect_navigation():
        form.locator("button").click()
    assert "3 images (15 % of the project, seed 9)" in page.locator("[data-sample-summary]").text_content()
    assert page.locator("[data-sample-images] tbody tr").count() == 3
    assert page.locator("[data-no-scores]").is_visible()
    assert page.js_errors == []


def test_annotators_cannot_open_the_quality_report(login_page, live_server, teammate, outsider, project):
    page = login_page(teammate)
    assert page.goto(f"{live_server.url}/projects/{project.pk}/quality/").status == 403
    other = login_page(outsider)
    assert other.goto(f"{live_server.url}/projects/{project.pk}/quality/").status == 404
