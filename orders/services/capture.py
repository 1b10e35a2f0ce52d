"""Capture: the one way an order enters the system, whatever the channel."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from oms.core.exceptions import Conflict, ValidationFailed
from orders.events import order_created
from orders.models import Customer, Order, OrderLine, OrderSequence, Payment
from orders.rules import credit_holds, fraud_holds, payment_holds, payment_status_for
from orders.services.lifecycle import open_holds, order_proceed
from orders.validation import CaptureInput, validate_capture


@dataclass
class CaptureResult:
    order: Order
    created: bool


def request_digest(payload: dict) -> str:
    """The request's fingerprint: the same body under the same key is a retry."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_order_number() -> str:
    """SO-<year>-<n>, gap-free per year: the counter row is locked until the capture
    commits, and a rollback gives the number back."""
    year = timezone.localdate().year
    OrderSequence.objects.get_or_create(year=year)
    sequence = OrderSequence.objects.select_for_update().get(year=year)
    OrderSequence.objects.filter(year=year).update(last=F("last") + 1)
    return f"SO-{year}-{sequence.last + 1:06d}"


def _replay(order: Order, digest: str) -> CaptureResult:
    if order.request_digest != digest:
        raise Conflict(
            f"Order {order.number} already exists for {order.channel.code} / {order.external_ref} with different content.",
            status=order.status,
            number=order.number,
        )
    return CaptureResult(order, False)


def _existing(payload) -> Order | None:
    if (
        not isinstance(payload, dict)
        or not payload.get("channel")
        or not payload.get("external_ref")
    ):
        return None
    return (
        Order.objects.select_related("channel")
        .filter(
            channel__code=str(payload["channel"]).strip(),
            external_ref=str(payload["external_ref"]).strip(),
        )
        .first()
    )


def _customer(capture: CaptureInput) -> Customer | None:
    if capture.customer is not None:
        return capture.customer
    fields = capture.customer_fields
    if not fields.get("email"):
        return None
    # One retail customer per e-mail (a partial unique constraint): two first orders of a
    # new shopper racing each other end with one customer; get_or_create re-reads the row
    # the other transaction committed.
    customer, _ = Customer.objects.get_or_create(
        email=fields["email"],
        kind=Customer.Kind.RETAIL,
        defaults={
            "name": fields.get("name") or capture.ship_to["name"],
            "phone": fields.get("phone", ""),
            "currency": capture.currency,
        },
    )
    return customer


def _ship_by(capture: CaptureInput) -> datetime:
    ship_by = capture.placed_at + timedelta(hours=capture.channel.ship_within_hours)
    if capture.requested_ship_date:
        requested = timezone.make_aware(datetime.combine(capture.requested_ship_date, time(23, 59)))
        ship_by = max(ship_by, requested)
    return ship_by


def _create(
    capture: CaptureInput, digest: str, *, actor, source: str, origin: str, system: str
) -> Order:
    customer = _customer(capture)
    subtotal = sum((line.unit_price * line.quantity for line in capture.lines), Decimal("0"))
    payment_status = payment_status_for(payment=capture.payment, customer=customer, total=subtotal)
    # Rules look at the history before this order exists (is the customer new?).
    holds = [
        *payment_holds(
            payment=capture.payment,
            payment_status=payment_status,
            total=subtotal,
            channel=capture.channel,
        ),
        *credit_holds(customer=customer, payment_status=payment_status, total=subtotal),
        *fraud_holds(capture=capture, customer=customer, total=subtotal),
        *capture.holds,
    ]
    ship_to = capture.ship_to
    order = Order.objects.create(
        number=next_order_number(),
        channel=capture.channel,
        external_ref=capture.external_ref,
        customer=customer,
        payment_status=payment_status,
        currency=capture.currency,
        subtotal=subtotal,
        total=subtotal,
        email=capture.email or (customer.email if customer else ""),
        ship_name=ship_to["name"],
        ship_company=ship_to["company"],
        ship_line1=ship_to["line1"],
        ship_line2=ship_to["line2"],
        ship_city=ship_to["city"],
        ship_region=ship_to["region"],
        ship_postcode=ship_to["postcode"],
        ship_country=ship_to["country"],
        ship_phone=ship_to["phone"],
        placed_at=capture.placed_at,
        ship_by=_ship_by(capture),
        requested_ship_date=capture.requested_ship_date,
        priority=capture.priority if capture.priority is not None else capture.channel.priority,
        po_number=capture.po_number,
        notes=capture.notes,
        request_digest=digest,
    )
    bulk_create_with_history(
        [
            OrderLine(
                order=order,
                line_no=n,
                product=line.product,
                sku=line.product.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for n, line in enumerate(capture.lines, start=1)
        ],
        OrderLine,
        default_user=actor if getattr(actor, "pk", None) else None,
    )
    if capture.payment and capture.payment["status"] != "pending":
        status = {
            "paid": Payment.Status.CAPTURED,
            "authorized": Payment.Status.AUTHORIZED,
            "failed": Payment.Status.FAILED,
        }[capture.payment["status"]]
        Payment.objects.create(
            order=order,
            status=status,
            amount=capture.payment["amount"],
            currency=capture.currency,
            reference=capture.payment["reference"],
        )
    order_created(order=order, actor=actor, system=system, source=source, origin=origin)
    if holds:
        open_holds(order=order, holds=holds, actor=actor, system=system or "capture")
    else:
        order_proceed(order=order, actor=actor, system=system or "capture")
    return order


def order_capture(
    *, payload: dict, actor=None, source: str = "api", origin: str = "", system: str = ""
) -> CaptureResult:
    """Validate, write, hold or reserve, in one transaction; idempotent on
    (channel, external_ref): the same request again returns the order it made, another
    request under the same key is a Conflict. A refused request writes nothing."""
    digest = request_digest(payload)
    existing = _existing(payload)
    if existing is not None:
        return _replay(existing, digest)
    capture, errors = validate_capture(payload)
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            order = _create(
                capture, digest, actor=actor, source=source, origin=origin, system=system
            )
    except IntegrityError:
        # Another request with the same key committed first (invariant 6's constraint).
        existing = Order.objects.filter(
            channel=capture.channel, external_ref=capture.external_ref
        ).first()
        if existing is None:
            raise
        return _replay(existing, digest)
    return CaptureResult(Order.objects.select_related("channel", "customer").get(pk=order.pk), True)


@dataclass
class CaptureOutcome:
    """One request's fate in a batch: created, replayed (the same key and body seen
    before: `created` False), rejected (`errors` in the API's shape) or in conflict (the key
    holds another body: `conflict` says so). `order` is set for created and replayed."""

    order: Order | None = None
    created: bool = False
    errors: dict | None = None
    conflict: str = ""


def capture_many(
    payloads: list[dict],
    *,
    actor=None,
    source: str = "api",
    origins: list[str] | None = None,
    system: str = "",
) -> list[CaptureOutcome]:
    """Capture many orders (a CSV import's chunk); one outcome per payload, in order.
    Each order is all or nothing on its own; `origins[i]` is what the timeline says the
    i-th order came from (file and rows)."""
    outcomes = []
    for i, payload in enumerate(payloads):
        origin = origins[i] if origins else ""
        try:
            result = order_capture(
                payload=payload, actor=actor, source=source, origin=origin, system=system
            )
        except ValidationFailed as exc:
            outcomes.append(CaptureOutcome(errors=exc.errors))
        except Conflict as exc:
            outcomes.append(CaptureOutcome(conflict=exc.message))
        else:
            outcomes.append(CaptureOutcome(order=result.order, created=result.created))
    return outcomes
