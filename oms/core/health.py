"""/health/: database and broker status, 200 when all is well and 503 otherwise."""

import dataclasses
import datetime

from django.conf import settings
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker answers a connection. With no broker configured, tasks run
    eagerly in-process, which is healthy by design (the embedded first-run setup)."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=3), repr=False
    )

    def run(self) -> None:
        if not settings.CELERY_BROKER_URL:
            return
        from oms.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # kombu raises many kinds; the view must answer, not crash
            raise ServiceUnavailable(f"Broker unreachable: {type(exc).__name__}") from exc

    def pretty_status(self) -> str:
        return "OK" if settings.CELERY_BROKER_URL else "OK (no broker: tasks run in-process)"


class HealthView(HealthCheckView):
    checks = (Database, Broker)

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        # Load balancers read 503 as "take me out of rotation"; the library says 500.
        if response.status_code == 500:
            response.status_code = 503
        return response
