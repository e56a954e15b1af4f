"""The kiosk config the operations tests start `kiosk run` with.

A config file must name every device's driver (no silent simulators), so
the test bench says "simulated" for each; the embedded registry takes a
free port.
"""

SIMULATED_KIOSK_TOML = """\
[registry]
embedded_listen = "127.0.0.1:0"

[hardware.locker_bank]
driver = "simulated"

[hardware.card_reader]
driver = "simulated"

[hardware.code_scanner]
driver = "simulated"

[hardware.indicator]
driver = "simulated"
"""
