"""Payment, credit and fraud rules run at capture. Each returns the holds an order needs,
as (kind, reason, data); an empty list lets the order go on to reservation."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum

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


def credit_holds(*, customer: Customer | None, payment_status: str, total: Decimal) -> list:
    if payment_status != Order.PaymentStatus.ON_TERMS:
        return []
    # Lock the account row until the capture commits: two orders of one customer captured
    # at once are checked one after the other, so together they cannot pass the limit.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    balance = open_balance(customer)
    if balance + total > customer.credit_limit:
        return [
            (
                Hold.Kind.CREDIT,
                f"Credit limit {customer.credit_limit} exceeded: open balance {balance} + this order {total}.",
                {
                    "credit_limit": str(customer.credit_limit),
                    "open_balance": str(balance),
                    "total": str(total),
                },
            )
        ]
    return []


def fraud_holds(*, capture, customer: Customer | None, total: Decimal) -> list:
    """Score the order; at or above OMS_FRAUD_THRESHOLD it waits for a review, with every
    reason that added to the score."""
    rules = settings.OMS_FRAUD_RULES
    score, reasons = 0, []
    is_new = customer is None or not Order.objects.filter(customer=customer).exists()
    if is_new and total >= Decimal(rules["high_value"]):
        score += rules["high_value_new_customer_score"]
        reasons.append(f"high value ({total} {capture.currency}) from a new customer")
    if capture.bill_country and capture.bill_country != capture.ship_to["country"]:
        score += rules["country_mismatch_score"]
        reasons.append(
            f"billing country {capture.bill_country} differs from shipping country {capture.ship_to['country']}"
        )
    # This order and the ones placed in the hour before it (an imported backlog is judged
    # by when its orders were placed, not by orders placed since).
    since = capture.placed_at - timedelta(hours=1)
    same_address = (
        1
        + Order.objects.filter(
            Q(ship_line1__iexact=capture.ship_to["line1"]),
            ship_postcode=capture.ship_to["postcode"],
            ship_country=capture.ship_to["country"],
            placed_at__range=(since, capture.placed_at),
        ).count()
    )
    if same_address >= rules["orders_per_address_per_hour"]:
        score += rules["velocity_score"]
        reasons.append(f"{same_address} orders to this address in the last hour")
    if score >= rules["threshold"]:
        return [
            (
                Hold.Kind.FRAUD,
                "Fraud review: " + "; ".join(reasons) + ".",
                {"score": score, "reasons": reasons},
            )
        ]
    return []
