"""The order endpoints: each parses its input, calls one service or selector and answers
with an output serializer (STYLE.md 8). Refusals come from the services as domain errors
and oms/core/api_errors.py turns them into 400 / 404 / 409 bodies."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from oms.core.exceptions import NotFound
from orders.api.serializers import (
    CancelSerializer,
    HoldOpenSerializer,
    HoldResolveSerializer,
    HoldResultSerializer,
    OrderCaptureSerializer,
    OrderConflictSerializer,
    OrderErrorSerializer,
    OrderSerializer,
    OrderSummarySerializer,
    OrderTransitionErrorSerializer,
)
from orders.filters import OrderFilter
from orders.models import Hold, Order
from orders.selectors import order_as_written, order_detail, order_list
from orders.services import hold_resolve, order_cancel, order_capture, order_get, order_hold


class HasPermission(permissions.BasePermission):
    """The user holds one named permission through a role group (DESIGN.md section 9).

    For the order writes, which are transitions rather than a model's CRUD: capturing an
    order needs `orders.capture_order`, not `add_order` (which would let someone write an
    order row past the capture service). Anonymous requests fail here too, and DRF answers
    them 401 (the token authentication names its scheme), not 403."""

    perm = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.perm))

    @classmethod
    def of(cls, perm: str) -> type["HasPermission"]:
        return type(f"Has_{perm.replace('.', '_')}", (cls,), {"perm": perm})


# What each write needs; reads need orders.view_order (oms.core.api.ModelPermissions).
ACTION_PERMISSIONS = {
    "create": "orders.capture_order",
    "cancel": "orders.cancel_order",
    "open_hold": "orders.hold_order",
    "resolve_hold": "orders.hold_order",
}

BAD_INPUT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='The fields that are wrong: {"field": ["message"]}, nested for ship_to, '
    'customer, payment and lines ({"lines": [{}, {"sku": ["Unknown SKU \'X\'."]}]}). '
    "Nothing was written.",
)
NOT_FOUND = OpenApiResponse(OrderErrorSerializer, description="No such order (or hold).")
REFUSED = OpenApiResponse(
    OrderTransitionErrorSerializer,
    description="The order's state refuses the change; `status` is its current status.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Accepted for every POST (DESIGN.md section 6). Orders are already "
    "idempotent on (channel, external_ref), so the key is not stored: a retry with the "
    "same body answers 200 with the order, whatever key it carries.",
)
HOLD_ID = OpenApiParameter("hold_id", OpenApiTypes.INT, location=OpenApiParameter.PATH)


def _parse(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class OrderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Orders from every channel, by order number (SO-2026-000045)."""

    filterset_class = OrderFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[Order]:
        return order_list()

    def get_serializer_class(self):
        return OrderSummarySerializer if self.action == "list" else OrderSerializer

    def get_permissions(self):
        perm = ACTION_PERMISSIONS.get(self.action)
        if perm:
            return [HasPermission.of(perm)()]
        return super().get_permissions()

    @extend_schema(
        summary="List orders",
        description="Newest first. A lighter view than one order's: no address or timeline. "
        "The same few queries whatever the page size.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Capture an order",
        description="From any channel: validated, then held or reserved at once. Idempotent "
        "on (channel, external_ref): the same body again answers 200 with the order it made; "
        "another body under that key is a 409. Needs orders.capture_order.",
        request=OrderCaptureSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(
                OrderSerializer,
                description="Captured: validated, and held or reserved at once (status "
                "allocated, backordered or on_hold with its holds).",
            ),
            200: OpenApiResponse(
                OrderSerializer,
                description="This channel and reference were captured before with the same "
                "body (a retry): the existing order; nothing was written.",
            ),
            400: BAD_INPUT,
            409: OpenApiResponse(
                OrderConflictSerializer,
                description="This channel and reference already have an order with "
                "different content; nothing was written.",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        """Capture an order through the one capture service (its validation, holds and
        reservation), as the phone order form and the CSV import do.

        Idempotent without any header: orders are keyed by (channel, external_ref) in the
        database (invariant 6), so the same body again is answered 200 with the order it
        made, and a different body under that key is a 409. An `Idempotency-Key` header is
        accepted (DESIGN.md section 6: every POST takes one) but not stored: the natural
        key already does the job, also for clients that send no key, and a second store of
        keys could only disagree with it. Twenty simultaneous posts of one order make one
        (tests/orders/test_api.py, on PostgreSQL)."""
        result = order_capture(payload=request.data, actor=request.user, source="api")
        order = order_as_written(result.order)  # a replay is read again
        return Response(OrderSerializer(order).data, status=201 if result.created else 200)

    @extend_schema(
        summary="One order",
        description="With lines, holds, shipments and timeline.",
        responses={200: OrderSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request: Request, number: str) -> Response:
        return Response(OrderSerializer(order_detail(number=number)).data)

    @extend_schema(
        summary="Cancel an order",
        description="Before its first shipment leaves. Reservations are released and open "
        "holds closed. Needs orders.cancel_order.",
        request=CancelSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: OrderSerializer, 400: BAD_INPUT, 404: NOT_FOUND, 409: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, number: str) -> Response:
        data = _parse(CancelSerializer, request)
        order_cancel(order=order_get(number=number), reason=data["reason"], actor=request.user)
        return Response(OrderSerializer(order_detail(number=number)).data)

    @extend_schema(
        summary="Put an order on hold",
        description="Opens a hold; the order's reservations stay. Needs orders.hold_order.",
        operation_id="orders_hold_open",
        request=HoldOpenSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: HoldResultSerializer, 400: BAD_INPUT, 404: NOT_FOUND, 409: REFUSED},
    )
    @action(detail=True, methods=["post"], url_path="holds", url_name="holds")
    def open_hold(self, request: Request, number: str) -> Response:
        data = _parse(HoldOpenSerializer, request)
        hold = order_hold(
            order=order_get(number=number),
            kind=data["kind"],
            reason=data["reason"],
            actor=request.user,
        )
        return Response(HoldResultSerializer(_hold(number, hold.pk)).data, status=201)

    @extend_schema(
        summary="Resolve a hold",
        description="When it was the order's last open hold, the order goes on: confirmed "
        "and reserved. Resolving a resolved hold is a 409. Needs orders.hold_order.",
        operation_id="orders_hold_resolve",
        request=HoldResolveSerializer,
        parameters=[HOLD_ID, IDEMPOTENCY_KEY],
        responses={200: HoldResultSerializer, 400: BAD_INPUT, 404: NOT_FOUND, 409: REFUSED},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"holds/(?P<hold_id>[0-9]+)/resolve",
        url_name="hold-resolve",
    )
    def resolve_hold(self, request: Request, number: str, hold_id: str) -> Response:
        data = _parse(HoldResolveSerializer, request)
        hold_resolve(hold=_hold(number, hold_id), note=data["note"], actor=request.user)
        return Response(HoldResultSerializer(_hold(number, hold_id)).data)


def _hold(number: str, hold_id) -> Hold:
    """The hold, only under its own order's number: another order's hold id is a 404."""
    try:
        return Hold.objects.select_related("order").get(pk=hold_id, order__number=number)
    except Hold.DoesNotExist:
        raise NotFound(f"Order {number} has no hold {hold_id}.") from None
