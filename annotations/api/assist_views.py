"""The assists (annotations/assists.py): box [+ clicks] -> mask, from GrabCut or a model version,
and an image's superpixels. Members who edit only; errors in the one error shape."""
from __future__ import annotations

import time

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import assists, selectors, services

from . import serializers as s
from .views import EDITORS


class AssistClickIn(serializers.Serializer):
    x = serializers.FloatField(help_text="image pixels")
    y = serializers.FloatField(help_text="image pixels")
    positive = serializers.BooleanField(help_text="true: this pixel is the object; false: it is not (Alt-click)")


class AssistIn(serializers.Serializer):
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4,
                                help_text="[x, y, w, h] in image pixels; clipped to the image")
    clicks = AssistClickIn(many=True, required=False,
                           help_text="refinement clicks, all of them so far (the server keeps no state); a positive "
                                     "click outside the box grows it")
    label_class = serializers.IntegerField(required=False, allow_null=True)
    model_version = serializers.IntegerField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=assists.METHODS, default="auto",
                                     help_text="auto: the model version when the project has one, else the model-free "
                                               "assist (thin-structure paths when the box holds a thin object, else "
                                               "GrabCut); grabcut, thin and model choose")


class AssistOut(serializers.Serializer):
    mask = serializers.JSONField(help_text="COCO compressed RLE of the image's size")
    area = serializers.IntegerField()
    method = serializers.ChoiceField(choices=["grabcut", "thin", "model"], help_text="what made the mask")
    model_version = serializers.IntegerField(allow_null=True)
    ms = serializers.FloatField(help_text="milliseconds the worker spent")
    latency_ms = serializers.FloatField(help_text="milliseconds the request took")


class SuperpixelLevelOut(serializers.Serializer):
    side = serializers.IntegerField(help_text="mean superpixel side in grid pixels")
    segments = serializers.IntegerField()
    labels = serializers.CharField(help_text="base64 of zlib-compressed uint16 little-endian labels, grid_h x grid_w row-major")


class SuperpixelsOut(serializers.Serializer):
    method = serializers.CharField()
    image_size = serializers.ListField(child=serializers.IntegerField(), help_text="[h, w]")
    grid_size = serializers.ListField(child=serializers.IntegerField(), help_text="[grid_h, grid_w]")
    factor = serializers.IntegerField(help_text="image pixel (x, y) is grid cell (x // factor, y // factor)")
    levels = SuperpixelLevelOut(many=True, help_text="coarse to fine")
    computed = serializers.BooleanField(help_text="made for this request (older images); new uploads have them")
    ms = serializers.FloatField()


class AssistApi(APIView):
    @extend_schema(request=AssistIn, responses={200: AssistOut, 409: s.ErrorOut, 503: s.ErrorOut})
    def post(self, request: Request, image_id: int) -> Response:
        started = time.perf_counter()
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS)
        data = AssistIn(data=request.data)
        data.is_valid(raise_exception=True)
        answer = assists.box_to_mask(image=image, **data.validated_data)
        answer["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return Response(AssistOut(answer).data)


class SuperpixelsApi(APIView):
    @extend_schema(responses={200: SuperpixelsOut, 503: s.ErrorOut})
    def get(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS)
        return Response(SuperpixelsOut(assists.superpixels_get(image=image)).data)
