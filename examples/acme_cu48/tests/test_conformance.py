from hardware import conformance

from acme_pickupbox.locks import AcmeLockerBank
from acme_pickupbox.sim import CABINET, AcmeBoard, operator


def test_acme_conforms():
    with AcmeBoard() as board:
        options = {"port": board.port, "box": str(CABINET), "poll_interval": 0.02}
        results = conformance.run(
            "locker_bank", lambda: AcmeLockerBank.from_options(options),
            conformance.Context(operator=operator(options)),
        )
    assert [r for r in results if r.outcome != conformance.PASSED] == []
