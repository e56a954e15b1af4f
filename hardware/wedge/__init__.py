"""Keyboard-wedge barcode scanners: key events back to text (`keys`), the evdev driver (`scanner`)."""
