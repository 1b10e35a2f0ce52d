from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from inventory.signals import stock_available
        from orders.handlers import on_stock_available

        stock_available.connect(on_stock_available, dispatch_uid="orders.backorders")
