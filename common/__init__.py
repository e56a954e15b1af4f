"""What the kiosk and the registry share, and nothing else.

The kiosk's uplink and the registry server both speak the registry API, hash
credentials the same way and set up TLS the same way. Those pieces live here
so that neither side imports the other: the uplink never imports
``registry``, and the registry never imports the kiosk's core, store or UI.
Both sides use the pure vocabulary of ``kiosk.domain`` (compartment sizes,
document kinds, order states), which has no I/O and no dependencies.
"""
