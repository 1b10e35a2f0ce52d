from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken
from knox.settings import knox_settings


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it once, as the last line. "
        "Only a hash is stored: a lost token cannot be shown again, only replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--expiry-days",
            type=int,
            default=None,
            help=(
                "days until the token expires (default: REST_KNOX's TOKEN_TTL, i.e. "
                "API_TOKEN_TTL_DAYS, 90 unless set; 0 = never)"
            ),
        )

    def handle(self, *args, username, expiry_days, **options):
        if expiry_days is not None and expiry_days < 0:
            raise CommandError("--expiry-days must be 0 (never) or more")
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive")
        if expiry_days is None:
            expiry = knox_settings.TOKEN_TTL
        else:
            expiry = timedelta(days=expiry_days) if expiry_days else None
        instance, token = AuthToken.objects.create(user=user, expiry=expiry)
        until = instance.expiry.isoformat() if instance.expiry else "never"
        # The note goes to stderr so that stdout is the token alone (scripts read it).
        self.stderr.write(
            f"Token for {username} (expires {until}). Send it as: Authorization: Token <token>"
        )
        self.stdout.write(token)
