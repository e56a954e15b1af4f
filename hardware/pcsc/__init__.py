"""PC/SC card readers through pcscd: the `pcsc` card reader driver.

`reader.PcscCardReader` watches one reader with its own supervised thread on
pyscard's low-level `smartcard.scard` API; `eid` recognises a German eID card
from EF.CardAccess alone.
"""

from hardware.pcsc.reader import PcscCardReader

__all__ = ["PcscCardReader"]
