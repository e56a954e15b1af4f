"""Byte-level device simulators for the real drivers' tests and for vendors.

Unlike `hardware.simulated` (a whole box in memory, behind the LockerBank
protocol), these pose as the *device*: a Kerong board answering frames on a
pty (`kerong_bus`), a USB relay board behind a pyusb backend
(`usbrelay_backend`), a smartcard speaking vpcd's socket protocol to pcscd
(`vpcd_card`). The real driver runs unchanged against them.
"""
