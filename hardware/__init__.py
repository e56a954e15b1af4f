"""The hardware layer: lock boards, card readers, code scanners, indicators.

Where things live:

* `hardware.interfaces`: the protocols the kiosk codes against, and the
  events drivers send (DoorEvent, CardEvent, ScanEvent).
* `hardware.errors`: what drivers raise.
* `hardware.drivers`: choose and create a driver by name (entry points).
* `hardware.door_watch`: unlock commands + sensor readings -> door events,
  shared by every driver with door sensors.
* `hardware.box`: box descriptions (TOML) with the cabinet's layout and wiring;
  bundled ones in ``hardware/boxes/``.
* `hardware.simulated`: the simulated drivers, with test controls.
* `hardware.cli`: the ``kiosk-hw`` command.

This package never imports `kiosk`: the dependency points one way only.
"""
