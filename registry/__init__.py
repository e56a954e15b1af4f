"""The reference registry: issues pickup orders and staff credentials, and
keeps the office's record of what happened at each kiosk.

It is the embedded default that makes the whole system run on one machine.
A municipality's own registry software can replace it by serving the same
gRPC API (``protos/pickupbox/registry/v1/registry.proto``).
"""
