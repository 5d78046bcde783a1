"""Orders placed later: asynchronous orders and future orders, executed by the worker."""
