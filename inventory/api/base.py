"""Parts the inventory endpoints share: a permission by codename, code parsing and the
error bodies the schema documents."""

from rest_framework import permissions, serializers
from rest_framework.settings import api_settings


class HasPermission(permissions.BasePermission):
    """The user holds one named permission (through a role group, DESIGN.md section 9).

    For endpoints that are not a model's CRUD: a stock adjustment writes a StockMovement,
    yet the right it needs is `inventory.adjust_stock`, not `add_stockmovement`. Anonymous
    requests fail here too, and DRF answers them 401 rather than 403."""

    perm = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.perm))

    @classmethod
    def of(cls, perm: str) -> type["HasPermission"]:
        return type(f"Has_{perm.replace('.', '_')}", (cls,), {"perm": perm})


def split_codes(values: list[str]) -> list[str]:
    """["A,b", "C", "A"] -> ["A", "B", "C"]: comma-separated or repeated, capitals (the SKU
    and location code validators allow nothing else), first occurrence first."""
    codes = (part.strip().upper() for value in values for part in str(value).split(","))
    return list(dict.fromkeys(code for code in codes if code))


class LineListSerializer(serializers.ListSerializer):
    """Lines whose errors read as API.md writes them: `{"lines": [{}, {"sku": [...]}]}`,
    one entry per line in order, `{}` for a good one (DRF 3.16+ would answer a dict keyed
    by index), and `{"lines": ["..."]}` when the value is not a list at all."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and set(detail) == {api_settings.NON_FIELD_ERRORS_KEY}:
                raise serializers.ValidationError(
                    detail[api_settings.NON_FIELD_ERRORS_KEY]
                ) from None
            if isinstance(detail, dict) and all(isinstance(key, int) for key in detail):
                raise serializers.ValidationError(
                    [detail.get(index, {}) for index in range(len(data))]
                ) from None
            raise


class ErrorSerializer(serializers.Serializer):
    """A refusal (DomainError): 404, 409."""

    detail = serializers.CharField()
    code = serializers.CharField()


class StockConflictSerializer(ErrorSerializer):
    """409: the change would leave less on hand than is reserved."""

    sku = serializers.CharField()
    location = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()


class IllegalTransitionSerializer(ErrorSerializer):
    """409: a record's state refuses the change (a purchase order that is not ordered)."""

    status = serializers.CharField()
