"""ACME CU48 lock boards for the pickup box (the worked example of docs/drivers.md)."""
