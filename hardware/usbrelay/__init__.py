"""USB HID relay boards ("USBRelay1/2/4/8", VID 16c0 PID 05df) over pyusb.

`protocol` holds the report bytes, `bank.UsbRelayLockerBank` the LockerBank
driver (entry point ``usb-relay``).
"""
