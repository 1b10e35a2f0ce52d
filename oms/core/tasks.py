from celery import shared_task

from oms.core.auth import expired_tokens_delete


@shared_task
def delete_expired_tokens() -> int:
    """Expired API tokens are refused when used; this removes the ones left unused."""
    return expired_tokens_delete()
