"""Capture: the one way an order enters the system, whatever the channel.

One order (the API, the phone form) or a batch (a CSV import's chunk) takes the same
path, with a fixed number of statements whatever the batch's size:

1. outside any transaction: find keys already captured (replays), validate every request
   with the rows it needs read once (`Lookups`);
2. in one transaction: customers, the payment, credit and fraud rules, then stock planned
   under lock (`stock_plan`), then every row under placeholder numbers in four
   statements whatever the batch (orders; lines, payments and holds; the stock levels;
   reservations, history and timeline: `fastsql.insert_together`), and last the gap-free
   numbers with the outbox rows (numbering.py: every capture queues on that counter
   until COMMIT).

Each order goes through its status machine in memory (pending -> confirmed ->
allocated, ...), so the FSM still decides and the timeline and outbox say each step; its
history row records the state it was committed in. Statements go through
oms.core.fastsql, not querysets: at a few hundred captures a second the ORM's per-call
SQL building was most of the CPU (bench/bench_orders.py).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.services import DemandLine
from inventory.services.planned import (
    AllocationRequest,
    PlannedAllocation,
    stock_plan,
    stock_reserve,
)
from oms.core import fastsql
from oms.core.exceptions import Conflict, ValidationFailed
from oms.core.fastsql import in_list, insert, select_many
from orders.events import (
    build_event,
    created_message,
    created_outbox,
    status_message,
    status_outbox,
)
from orders.models import Channel, Customer, Hold, Order, OrderLine, Payment
from orders.rules import (
    add_credit_holds,
    add_fraud_holds,
    payment_holds,
    payment_status_for,
    recent_orders_query,
)
from orders.services.numbering import number_orders, placeholder
from orders.tasks import allocate_backorders
from orders.validation import CaptureInput, Lookups, validate_capture

S = Order.Status
MAX_ATTEMPTS = 3  # a key captured by someone else between our check and our insert
PAYMENT_STATUS = {
    "paid": Payment.Status.CAPTURED,
    "authorized": Payment.Status.AUTHORIZED,
    "failed": Payment.Status.FAILED,
}


@dataclass
class CaptureResult:
    order: Order
    created: bool


@dataclass
class CaptureOutcome:
    """One request's fate in a batch: created, replayed (the same key and body seen
    before: `created` False), rejected (`errors` in the API's shape) or in conflict (the key
    holds another body: `conflict` says so). `order` is set for created and replayed."""

    order: Order | None = None
    created: bool = False
    errors: dict | None = None
    conflict: str = ""


@dataclass
class _Draft:
    """An order on its way in: its validated request, then what the rules and the stock
    plan made of it, then its rows."""

    index: int
    capture: CaptureInput
    digest: str
    origin: str
    customer: Customer | None = None
    total: Decimal = Decimal("0")
    payment_status: str = ""
    holds: list = field(default_factory=list)
    plan: PlannedAllocation | None = None
    order: Order | None = None
    lines: list[OrderLine] = field(default_factory=list)
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, reason)
    waiting: list[int] = field(default_factory=list)  # products it is backordered for


def request_digest(payload: dict) -> str:
    """The request's fingerprint: the same body under the same key is a retry."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _key(payload) -> tuple[str, str] | None:
    if (
        not isinstance(payload, dict)
        or not payload.get("channel")
        or not payload.get("external_ref")
    ):
        return None
    return str(payload["channel"]).strip(), str(payload["external_ref"]).strip()


def _existing_query(keys: set[tuple[str, str]]) -> fastsql.Query | None:
    """Orders already captured under any of these (channel code, external ref) keys."""
    if not keys:
        return None
    in_codes, codes = in_list({code for code, _ in keys})
    in_refs, refs = in_list({ref for _, ref in keys})
    where = (
        f"channel_id IN (SELECT id FROM {Channel._meta.db_table} WHERE code IN {in_codes}) "
        f"AND external_ref IN {in_refs}"
    )
    return Order, where, [*codes, *refs]


def _existing(
    keys: set[tuple[str, str]], orders: list[Order], lookups: Lookups
) -> dict[tuple[str, str], Order]:
    channels = {channel.pk: channel for channel in lookups.channels.values()}
    found = {}
    for order in orders:
        order.channel = channels[order.channel_id]
        key = (order.channel.code, order.external_ref)
        if key in keys:
            found[key] = order
    return found


def _look_up(payloads: list) -> tuple[Lookups, dict[tuple[str, str], Order]]:
    """What validation reads and the orders already captured under these requests' keys,
    in one round trip."""
    keys = {_key(payload) for payload in payloads} - {None}
    lookups = Lookups(payloads, also=(_existing_query(keys),))
    return lookups, _existing(keys, lookups.also[0], lookups)


def _replay(order: Order, digest: str) -> CaptureOutcome:
    if order.request_digest != digest:
        return CaptureOutcome(
            order=order,
            conflict=f"Order {order.number} already exists for {order.channel.code} / {order.external_ref} with different content.",
        )
    return CaptureOutcome(order=order)


def _ship_by(capture: CaptureInput) -> datetime:
    ship_by = capture.placed_at + timedelta(hours=capture.channel.ship_within_hours)
    if capture.requested_ship_date:
        requested = timezone.make_aware(datetime.combine(capture.requested_ship_date, time(23, 59)))
        ship_by = max(ship_by, requested)
    return ship_by


def _attach_customers(drafts: list[_Draft]) -> list[Order]:
    """The customer of each order: the account named by code, else the retail customer of
    the e-mail, created on a first order (one per e-mail, a partial unique constraint:
    get_or_create re-reads the row a racing first order committed). Read with them, in
    one round trip: the recent orders to these addresses, which the fraud rules count."""
    emails = set()
    for draft in drafts:
        draft.customer = draft.capture.customer
        if draft.customer is None and draft.capture.customer_fields.get("email"):
            emails.add(draft.capture.customer_fields["email"])
    customers = None
    if emails:
        in_emails, params = in_list(emails)
        customers = (
            Customer,
            f"kind = %s AND email IN {in_emails}",
            [Customer.Kind.RETAIL, *params],
        )
    found, recent = select_many([customers, recent_orders_query(drafts)])
    known = {c.email: c for c in found}
    for draft in drafts:
        fields = draft.capture.customer_fields
        if draft.customer is not None or not fields.get("email"):
            continue
        if fields["email"] not in known:
            known[fields["email"]], _ = Customer.objects.get_or_create(
                email=fields["email"],
                kind=Customer.Kind.RETAIL,
                defaults={
                    "name": fields.get("name") or draft.capture.ship_to["name"],
                    "phone": fields.get("phone", ""),
                    "currency": draft.capture.currency,
                },
            )
        draft.customer = known[fields["email"]]
    return recent


def _apply_rules(drafts: list[_Draft], recent_orders: list[Order]) -> None:
    for draft in drafts:
        capture = draft.capture
        draft.total = sum((line.unit_price * line.quantity for line in capture.lines), Decimal(0))
        draft.payment_status = payment_status_for(
            payment=capture.payment, customer=draft.customer, total=draft.total
        )
        draft.holds = payment_holds(
            payment=capture.payment,
            payment_status=draft.payment_status,
            total=draft.total,
            channel=capture.channel,
        )
    # Credit and fraud look at the orders before these (is the customer new? what is owed?).
    add_credit_holds(drafts)
    add_fraud_holds(drafts, recent_orders)
    for draft in drafts:
        draft.holds.extend(draft.capture.holds)


def _plan_stock(drafts: list[_Draft]) -> None:
    ready = [draft for draft in drafts if not draft.holds]
    plans = stock_plan(
        [
            AllocationRequest(
                lines=tuple((line.product.pk, line.quantity) for line in draft.capture.lines),
                destination_country=draft.capture.ship_to["country"],
                destination_postcode=draft.capture.ship_to["postcode"],
                policy=draft.capture.channel.routing_policy,
                allow_split=draft.capture.channel.allow_split,
                channel_code=draft.capture.channel.code,
            )
            for draft in ready
        ]
    )
    for draft, plan in zip(ready, plans, strict=True):
        draft.plan = plan


def _order(draft: _Draft, number: str) -> Order:
    capture, ship_to = draft.capture, draft.capture.ship_to
    order = Order(
        number=number,
        channel=capture.channel,
        external_ref=capture.external_ref,
        customer=draft.customer,
        payment_status=draft.payment_status,
        currency=capture.currency,
        subtotal=draft.total,
        total=draft.total,
        email=capture.email or (draft.customer.email if draft.customer else ""),
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
        request_digest=draft.digest,
    )
    draft.lines = [
        OrderLine(
            order=order,
            line_no=n,
            product=line.product,
            sku=line.product.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            quantity_reserved=draft.plan.reserved(n - 1) if draft.plan else 0,
        )
        for n, line in enumerate(capture.lines, start=1)
    ]
    draft.order = order
    return order


def _decide(draft: _Draft) -> None:
    """Move the order through its FSM to where it ends: held, allocated or backordered."""
    order, steps = draft.order, draft.steps

    def move(transition: str, reason: str) -> None:
        before = order.status
        getattr(order, transition)()
        steps.append((before, order.status, reason))

    if draft.holds:
        move("hold", "; ".join(reason for _, reason, _ in draft.holds))
        return
    move("confirm", "validated")
    short = [line for line in draft.lines if line.quantity_reserved < line.quantity]
    if not short:
        move("allocate", draft.plan.reason or "every line reserved")
        return
    waiting = ", ".join(f"{line.quantity - line.quantity_reserved} × {line.sku}" for line in short)
    move("backorder", f"waiting for {waiting}")
    draft.waiting = [line.product_id for line in short]


def _tell(draft: _Draft, *, source: str, who: dict, events: list, outbox: list) -> None:
    """The order's timeline and webhooks for the steps `_decide` took."""
    order = draft.order

    def event(kind: str, message: str, data: dict) -> None:
        events.append(build_event(order=order, kind=kind, message=message, data=data, **who))

    event(
        "created",
        created_message(order, lines=len(draft.lines), source=source, origin=draft.origin),
        {"source": source, "origin": draft.origin, "external_ref": order.external_ref},
    )
    outbox.append(created_outbox(order, status=S.PENDING))
    for kind, reason, data in draft.holds:
        event("hold_opened", f"{Hold.Kind(kind).label} hold: {reason}", {"kind": kind, **data})
    got = {line.pk: line.quantity_reserved for line in draft.lines if line.quantity_reserved}
    for n, (before, after, reason) in enumerate(draft.steps):
        event(
            "status_changed",
            status_message(before, after, reason),
            {"from": before, "to": after, "reason": reason},
        )
        outbox.append(status_outbox(order, before, reason, after=after))
        if n == 0 and got:  # confirmed, then reserved
            event(
                "reserved",
                f"Reserved {sum(got.values())} units ({draft.plan.reason}).",
                {"lines": {str(k): v for k, v in got.items()}, "reason": draft.plan.reason},
            )


def _write(drafts: list[_Draft], *, actor, source: str, system: str) -> None:
    """Everything of a batch of valid, new orders, inside the caller's transaction."""
    user = actor if getattr(actor, "pk", None) else None
    _apply_rules(drafts, recent_orders=_attach_customers(drafts))
    _plan_stock(drafts)
    # Written under placeholders; the numbers come last (see numbering.py).
    orders = [_order(draft, placeholder()) for draft in drafts]
    for draft in drafts:
        _decide(draft)
    insert(orders)
    for order in orders:
        # The status it was inserted with is what a later save() may expect to find.
        order._update_initial_state()
    lines = [line for draft in drafts for line in draft.lines]
    for line in lines:
        line.order_id = line.order.pk
    payments = [
        Payment(
            order=draft.order,
            status=PAYMENT_STATUS[draft.capture.payment["status"]],
            amount=draft.capture.payment["amount"],
            currency=draft.capture.currency,
            reference=draft.capture.payment["reference"],
        )
        for draft in drafts
        if draft.capture.payment and draft.capture.payment["status"] != "pending"
    ]
    holds = [
        Hold(order=draft.order, kind=kind, reason=reason, data=data, opened_by=user)
        for draft in drafts
        for kind, reason, data in draft.holds
    ]
    fastsql.insert_together(fastsql.rows(lines), fastsql.rows(payments), fastsql.rows(holds))
    ready = [draft for draft in drafts if draft.plan is not None]
    reservations = stock_reserve(
        [draft.plan for draft in ready],
        [
            [
                DemandLine(
                    line.product_id, line.quantity, line, f"{draft.order.number}/{line.line_no}"
                )
                for line in draft.lines
            ]
            for draft in ready
        ],
        insert_reservations=False,  # below, with the history rows
    )
    now = timezone.now()
    events, outbox = [], []
    who = {"actor": user, "system": "" if user else (system or "capture")}
    for draft in drafts:
        _tell(draft, source=source, who=who, events=events, outbox=outbox)
    # Reservations, history and timeline rows in one statement.
    fastsql.insert_together(
        fastsql.rows(reservations),
        *(fastsql.history(rows, user=user, date=now) for rows in (orders, lines, payments, holds)),
        fastsql.rows(events),
    )
    # Last: from here to COMMIT every capture waits for the year's counter. The outbox rows
    # (emit_many's) are written with the numbers.
    number_orders(orders, reservation_ids=[r.pk for r in reservations], outbox=outbox)
    _keep_written(drafts, holds, events)
    waiting = sorted({product for draft in drafts for product in draft.waiting})
    if waiting:
        # A receipt that committed while these orders were written (say, into a stock
        # level the plan did not lock, because it did not exist yet) looked for waiting
        # orders before they existed: these look once more after commit.
        backordered = [draft.order.pk for draft in drafts if draft.waiting]
        transaction.on_commit(lambda: allocate_backorders.delay(waiting, backordered))


def _keep_written(drafts: list[_Draft], holds: list[Hold], events: list) -> None:
    """Each new order carries the rows written for it (`order.written`), so a caller that
    shows it at once (the API's 201) need not read them back (selectors.order_as_written)."""
    for draft in drafts:
        draft.order.written = {"lines": draft.lines, "holds": [], "events": []}
    by_pk = {draft.order.pk: draft.order.written for draft in drafts}
    for hold in holds:
        by_pk[hold.order_id]["holds"].append(hold)
    for event in events:
        by_pk[event.order_id]["events"].append(event)


def _prepare(payloads, indexes, digests, origins, outcomes, duplicates) -> list[_Draft]:
    """Replays and rejections get their outcome here; the rest become drafts."""
    lookups, existing = _look_up([payloads[i] for i in indexes])
    drafts, first = [], {}
    for i in indexes:
        key = _key(payloads[i])
        if key in existing:
            outcomes[i] = _replay(existing[key], digests[i])
            continue
        if key is not None and key in first:
            duplicates[i] = first[key]  # the same key twice in one batch
            continue
        capture, errors = validate_capture(payloads[i], lookups)
        if errors:
            outcomes[i] = CaptureOutcome(errors=errors)
            continue
        first[key] = i
        drafts.append(_Draft(i, capture, digests[i], origins[i] if origins else ""))
    return drafts


def capture_many(
    payloads: list[dict],
    *,
    actor=None,
    source: str = "api",
    origins: list[str] | None = None,
    system: str = "",
) -> list[CaptureOutcome]:
    """Capture many orders in one transaction (a CSV import's chunk); one outcome per
    payload, in order. Each order stands alone: a rejected one writes nothing and does not
    stop the others. `origins[i]` is what the timeline says the i-th order came from.
    Idempotent on (channel, external_ref), also against a batch racing this one."""
    outcomes = [CaptureOutcome() for _ in payloads]
    digests = [request_digest(payload) for payload in payloads]
    duplicates: dict[int, int] = {}
    todo = list(range(len(payloads)))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        drafts = _prepare(payloads, todo, digests, origins, outcomes, duplicates)
        if not drafts:
            break
        try:
            with transaction.atomic():
                _write(drafts, actor=actor, source=source, system=system)
        except IntegrityError:
            # Another capture committed one of these keys first (invariant 6's
            # constraint): look again; those become replays, the rest go again.
            if attempt == MAX_ATTEMPTS or not _look_up([payloads[d.index] for d in drafts])[1]:
                raise
            todo = [d.index for d in drafts]
            continue
        for draft in drafts:
            outcomes[draft.index] = CaptureOutcome(order=draft.order, created=True)
        break
    for i, first in duplicates.items():
        order = outcomes[first].order
        outcomes[i] = _replay(order, digests[i]) if order else outcomes[first]
    return outcomes


def order_capture(
    *, payload: dict, actor=None, source: str = "api", origin: str = "", system: str = ""
) -> CaptureResult:
    """Validate, write, hold or reserve, in one transaction; idempotent on
    (channel, external_ref): the same request again returns the order it made, another
    request under the same key is a Conflict. A refused request writes nothing."""
    (outcome,) = capture_many(
        [payload], actor=actor, source=source, origins=[origin], system=system
    )
    if outcome.errors:
        raise ValidationFailed(outcome.errors)
    if outcome.conflict:
        order = outcome.order
        raise Conflict(outcome.conflict, status=order.status, number=order.number)
    return CaptureResult(outcome.order, outcome.created)
