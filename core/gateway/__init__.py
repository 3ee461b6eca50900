"""The payment-gateway port and its simulated adapter."""
