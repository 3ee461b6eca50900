"""The payment-provider port, its HTTP client and the sandbox provider (``bank``)."""
