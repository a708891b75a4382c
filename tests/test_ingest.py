"""Image ingest: validation, EXIF, duplicates, zip safety; every refusal leaves the project unchanged."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from annotations import ingest
from annotations.errors import ValidationFailed
from annotations.models import Image, Job

from .conftest import png_bytes


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _files(**named: bytes):
    return [(name, io.BytesIO(data)) for name, data in named.items()]


@pytest.mark.django_db
class TestImportImages:
    def test_it_stores_images_content_addressed_with_their_size(self, project, settings):
        data = png_bytes(40, 30, seed=1)
        result = ingest.images_import(project=project, user=None, files=_files(**{"a.png": data}), make_thumbnails=False)
        image = result.created[0]
        assert (image.width, image.height, image.file_name) == (40, 30, "a.png")
        assert image.file.name == f"images/{image.sha256[:2]}/{image.sha256}.png"
        assert Path(settings.MEDIA_ROOT, image.file.name).read_bytes() == data

    def test_it_skips_duplicates_by_content(self, project):
        data = png_bytes(seed=2)
        ingest.images_import(project=project, user=None, files=_files(**{"a.png": data}), make_thumbnails=False)
        result = ingest.images_import(
            project=project, user=None, files=_files(**{"again.png": data, "twice.png": data, "new.png": png_bytes(seed=3)}),
            make_thumbnails=False,
        )
        assert [i.file_name for i in result.created] == ["new.png"]
        assert result.duplicates == ["again.png", "twice.png"]
        assert Image.objects.filter(project=project).count() == 2

    def test_it_applies_exif_orientation(self, project):
        buffer = io.BytesIO()
        exif = PILImage.Exif()
        exif[0x0112] = 6  # rotate 90° clockwise to display
        PILImage.new("RGB", (40, 20), "red").save(buffer, format="JPEG", exif=exif)
        result = ingest.images_import(project=project, user=None, files=_files(**{"phone.jpg": buffer.getvalue()}), make_thumbnails=False)
        image = result.created[0]
        assert (image.width, image.height) == (20, 40)
        with PILImage.open(image.file.path) as stored:
            assert stored.size == (20, 40)

    def test_it_imports_a_zip_skipping_folders_and_hidden_files(self, project):
        archive = _zip({"set/a.png": png_bytes(seed=4), "set/b.png": png_bytes(seed=5), "__MACOSX/._a.png": b"junk", ".DS_Store": b"x"})
        result = ingest.images_import(project=project, user=None, zip_file=archive, make_thumbnails=False)
        assert sorted(i.file_name for i in result.created) == ["a.png", "b.png"]

    def test_it_queues_a_thumbnail_job(self, project, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            result = ingest.images_import(project=project, user=None, files=_files(**{"a.png": png_bytes(seed=6)}))
        job = Job.objects.get(pk=result.thumbnail_job.pk)
        assert job.status == Job.Status.SUCCEEDED and (job.done, job.total) == (1, 1)
        image = Image.objects.get(pk=result.created[0].pk)
        with PILImage.open(image.thumbnail.path) as thumb:
            assert max(thumb.size) <= 256


@pytest.mark.django_db
class TestRefusals:
    def _refused(self, project, match: str, **kwargs) -> ValidationFailed:
        with pytest.raises(ValidationFailed, match=match) as info:
            ingest.images_import(project=project, user=None, make_thumbnails=False, **kwargs)
        assert Image.objects.filter(project=project).count() == 0
        return info.value

    def test_non_images_are_named(self, project):
        error = self._refused(project, r"notes\.txt: not an image", files=_files(**{"ok.png": png_bytes(seed=7), "notes.txt": b"hello"}))
        assert error.extra["errors"] == ["notes.txt: not an image (Pillow cannot identify it)"]

    def test_truncated_files_are_named(self, project):
        data = png_bytes(200, 200, seed=8)
        self._refused(project, r"cut\.png: damaged image", files=_files(**{"ok.png": png_bytes(seed=9), "cut.png": data[: len(data) // 2]}))

    def test_decompression_bombs_are_refused(self, project, settings):
        settings.LABELER_MAX_IMAGE_PIXELS = 1000
        self._refused(project, r"big\.png: .*(over the limit|decompression bomb)", files=_files(**{"big.png": png_bytes(100, 100)}))

    def test_a_real_bomb_header_is_refused_before_decoding(self, project):
        buffer = io.BytesIO()
        PILImage.new("1", (30000, 30000)).save(buffer, format="PNG")  # 900 Mpx, ~100 kB on disk
        self._refused(project, r"bomb\.png: .*(over the limit|decompression bomb)", files=_files(**{"bomb.png": buffer.getvalue()}))

    @pytest.mark.parametrize("evil", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/evil.png", "..\\evil.png"])
    def test_zip_path_escapes_are_refused(self, project, evil, settings):
        archive = _zip({"good.png": png_bytes(seed=10), evil: png_bytes(seed=11)})
        self._refused(project, "escapes the archive", zip_file=archive)
        assert not list(Path(settings.MEDIA_ROOT).glob("images/**/*.png"))

    def test_a_broken_zip_is_refused(self, project):
        self._refused(project, "not a valid zip", zip_file=io.BytesIO(b"PK\x03\x04 this is not a zip"))

    def test_an_empty_request_is_refused(self, project):
        self._refused(project, "no images", files=[])


@pytest.mark.django_db
class TestImportCommand:
    def test_it_imports_a_folder(self, project, tmp_path):
        folder = tmp_path / "photos"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.png").write_bytes(png_bytes(seed=12))
        (folder / "sub" / "b.png").write_bytes(png_bytes(seed=13))
        out = io.StringIO()
        call_command("import_images", str(project.pk), str(folder), "--no-thumbnails", stdout=out)
        assert "imported 2 image(s)" in out.getvalue()

    def test_it_imports_a_zip_by_project_name(self, project, tmp_path):
        path = tmp_path / "set.zip"
        path.write_bytes(_zip({"a.png": png_bytes(seed=14)}).getvalue())
        call_command("import_images", project.name, str(path), "--no-thumbnails", stdout=io.StringIO())
        assert project.images.count() == 1

    def test_it_fails_clearly_and_imports_nothing(self, project, tmp_path):
        (tmp_path / "a.png").write_bytes(png_bytes(seed=15))
        (tmp_path / "b.png").write_bytes(b"not really")
        with pytest.raises(CommandError, match="b.png: not an image"):
            call_command("import_images", str(project.pk), str(tmp_path), "--no-thumbnails")
        assert project.images.count() == 0

    def test_unknown_project_is_an_error(self, db, tmp_path):
        with pytest.raises(CommandError, match="no project 'nope'"):
            call_command("import_images", "nope", str(tmp_path))
