"""Keyboard-wedge barcode scanners.

`keys` turns key events back into text; `scanner` is the evdev driver.
"""
