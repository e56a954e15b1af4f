"""Kerong RS485 lock boards (KR-CU16 and compatible) over pyserial.

`codec` speaks the CU16 frames, `legacy_codec` the older KR-CU frames, and
`bank.KerongLockerBank` is the LockerBank driver (entry point ``kerong``).
"""
