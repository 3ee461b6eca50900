"""The installment domain: pure functions and value types, no I/O and no clock reads."""
