"""Payment, credit and fraud rules run at capture. Each returns the holds an order needs,
as (kind, reason, data); an empty list lets the order go on to reservation."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from oms.core import fastsql
from oms.core.fastsql import in_list
from orders.models import Channel, Customer, Hold, Order

# Orders a customer on terms may still owe for: all but cancelled. A delivered order on
# terms is exactly the one that is invoiced and due; it leaves the balance when its
# payment_status stops being on_terms (paid).
OPEN_STATUSES = [s for s in Order.Status.values if s != Order.Status.CANCELLED]


def payment_status_for(*, payment: dict | None, customer: Customer | None, total: Decimal) -> str:
    if payment and payment["status"] in ("authorized", "paid"):
        return (
            Order.PaymentStatus.AUTHORIZED
            if payment["status"] == "authorized"
            else Order.PaymentStatus.PAID
        )
    if payment and payment["status"] == "failed":
        return Order.PaymentStatus.FAILED
    if on_terms(customer):
        return Order.PaymentStatus.ON_TERMS
    return Order.PaymentStatus.UNPAID


def on_terms(customer: Customer | None) -> bool:
    return bool(
        customer and customer.kind == Customer.Kind.WHOLESALE and customer.payment_terms_days > 0
    )


def payment_holds(
    *, payment: dict | None, payment_status: str, total: Decimal, channel: Channel
) -> list:
    if payment_status == Order.PaymentStatus.FAILED:
        return [(Hold.Kind.PAYMENT, "Payment failed.", {"reference": payment.get("reference", "")})]
    if payment_status == Order.PaymentStatus.UNPAID:
        return [(Hold.Kind.PAYMENT, "Awaiting payment.", {})]
    if (
        payment_status in (Order.PaymentStatus.AUTHORIZED, Order.PaymentStatus.PAID)
        and payment["amount"] < total
    ):
        return [
            (
                Hold.Kind.PAYMENT,
                f"Payment of {payment['amount']} is less than the order total {total}.",
                {"amount": str(payment["amount"]), "total": str(total)},
            )
        ]
    return []


def open_balance(customer: Customer, *, exclude_order_id: int | None = None) -> Decimal:
    """What the customer owes on account: open orders on terms, not yet paid."""
    orders = Order.objects.filter(
        customer=customer, status__in=OPEN_STATUSES, payment_status=Order.PaymentStatus.ON_TERMS
    )
    if exclude_order_id:
        orders = orders.exclude(pk=exclude_order_id)
    total = orders.aggregate(total=Sum("total", default=Decimal("0")))["total"]
    # The same two places on every database (SQLite's SUM drops them: "600", not "600.00").
    return Decimal(total).quantize(Decimal("0.01"))


def open_balances(customer_ids) -> dict[int, Decimal]:
    """open_balance for many customers, one query."""
    rows = (
        Order.objects.filter(
            customer_id__in=customer_ids,
            status__in=OPEN_STATUSES,
            payment_status=Order.PaymentStatus.ON_TERMS,
        )
        .values("customer_id")
        .annotate(total=Sum("total"))
        .values_list("customer_id", "total")
    )
    balances = dict.fromkeys(customer_ids, Decimal("0.00"))
    for customer_id, total in rows:
        balances[customer_id] = Decimal(total).quantize(Decimal("0.01"))
    return balances


def add_credit_holds(drafts) -> None:
    """Orders on account beyond the customer's credit limit get a credit hold. `drafts`
    have .customer, .payment_status, .total and a .holds list, in capture order: each one
    is judged with the orders before it in the batch counted in the balance."""
    on_account = [d for d in drafts if d.payment_status == Order.PaymentStatus.ON_TERMS]
    if not on_account:
        return
    ids = sorted({d.customer.pk for d in on_account})
    # Lock the accounts until the capture commits: two batches of one customer are checked
    # one after the other, so together they cannot pass the limit.
    limits = dict(
        Customer.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "credit_limit")
    )
    balances = open_balances(ids)
    for draft in on_account:
        pk = draft.customer.pk
        balance, limit = balances[pk], limits[pk]
        if balance + draft.total > limit:
            draft.holds.append(
                (
                    Hold.Kind.CREDIT,
                    f"Credit limit {limit} exceeded: open balance {balance} + this order {draft.total}.",
                    {
                        "credit_limit": str(limit),
                        "open_balance": str(balance),
                        "total": str(draft.total),
                    },
                )
            )
        # A held order on account still counts: it is open and may yet be released.
        balances[pk] = balance + draft.total


# Capture runs these for every order: plain SQL, not querysets built each time.
_ORDER = Order._meta.db_table
_CUSTOMER = Customer._meta.db_table


def _customers_with_orders(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    in_ids, params = in_list(ids)
    with fastsql.cursor(len(params)) as cursor:
        cursor.execute(
            f"SELECT c.id FROM {_CUSTOMER} c WHERE c.id IN {in_ids} "
            f"AND EXISTS (SELECT 1 FROM {_ORDER} o WHERE o.customer_id = c.id)",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _scored(draft) -> bool:
    """Wholesale accounts are vetted customers on credit control, not anonymous shoppers:
    their orders are not scored. (A customer found by e-mail is always retail.)"""
    customer = draft.customer or draft.capture.customer
    return not (customer and customer.kind == Customer.Kind.WHOLESALE)


def recent_orders_query(drafts) -> fastsql.Query | None:
    """The read the orders-per-address rule needs: orders placed in the hour before the
    scored drafts to their (lower-cased street, postcode) addresses. Capture makes it with
    its customers' read, in one round trip, and hands the result to add_fraud_holds.
    Row comparisons, so that only order_address_time_idx can answer: a prepared
    statement's generic plan otherwise may pick the placed_at index and read every order
    of the hour (seen: ten times slower on a busy hour)."""
    scored = [d for d in drafts if _scored(d)]
    if not scored:
        return None
    addresses = {
        (d.capture.ship_to["line1"].lower(), d.capture.ship_to["postcode"]) for d in scored
    }
    placed = [d.capture.placed_at for d in scored]
    since, until = min(placed) - timedelta(hours=1), max(placed)
    where = " OR ".join(
        ["((LOWER(ship_line1), ship_postcode, placed_at) BETWEEN (%s, %s, %s) AND (%s, %s, %s))"]
        * len(addresses)
    )
    params = [
        v
        for street, postcode in addresses
        for v in (street, postcode, since, street, postcode, until)
    ]
    return Order, where, params


def high_value(currency: str) -> Decimal:
    """The high-value threshold in the order's currency (a yen is not a dollar)."""
    rules = settings.OMS_FRAUD_RULES
    return Decimal(rules["high_value_by_currency"].get(currency, rules["high_value"]))


def add_fraud_holds(drafts, recent_orders: list[Order]) -> None:
    """Score each order; at or above the threshold it waits for a review, with every
    reason that added to the score. `recent_orders`: what `recent_orders_query` found."""
    rules = settings.OMS_FRAUD_RULES
    scored = [d for d in drafts if _scored(d)]
    if not scored:
        return
    # Whether a customer is new matters only for a high-value order: most need no look-up.
    known = _customers_with_orders(
        {d.customer.pk for d in scored if d.customer and d.total >= high_value(d.capture.currency)}
    )
    # Orders to these addresses in the hour before each (an imported backlog is judged by
    # when its orders were placed), the batch's own earlier orders included.
    recent: dict[tuple, list] = defaultdict(list)
    for order in recent_orders:
        recent[(order.ship_line1.lower(), order.ship_postcode, order.ship_country)].append(
            order.placed_at
        )
    for draft in scored:
        capture, ship_to = draft.capture, draft.capture.ship_to
        score, reasons = 0, []
        is_new = draft.customer is None or draft.customer.pk not in known
        if draft.total >= high_value(capture.currency) and is_new:
            score += rules["high_value_new_customer_score"]
            reasons.append(f"high value ({draft.total} {capture.currency}) from a new customer")
        if capture.bill_country and capture.bill_country != ship_to["country"]:
            score += rules["country_mismatch_score"]
            reasons.append(
                f"billing country {capture.bill_country} differs from shipping country {ship_to['country']}"
            )
        key = (ship_to["line1"].lower(), ship_to["postcode"], ship_to["country"])
        since = capture.placed_at - timedelta(hours=1)
        same_address = 1 + sum(1 for at in recent[key] if since <= at <= capture.placed_at)
        if same_address >= rules["orders_per_address_per_hour"]:
            score += rules["velocity_score"]
            reasons.append(f"{same_address} orders to this address in the last hour")
        if score >= rules["threshold"]:
            draft.holds.append(
                (
                    Hold.Kind.FRAUD,
                    "Fraud review: " + "; ".join(reasons) + ".",
                    {"score": score, "reasons": reasons},
                )
            )
        recent[key].append(capture.placed_at)
        if draft.customer:
            known.add(draft.customer.pk)
