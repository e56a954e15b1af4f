"""The kiosk's link to the registry: gRPC client, sync merge and the worker thread."""
