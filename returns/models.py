# Models arrive with the fulfilment and returns issues (DESIGN.md section 3).
