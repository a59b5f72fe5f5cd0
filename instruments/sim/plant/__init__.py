"""The simulated plant: the AC pile or DC charger under test, the vehicle side, the battery
simulator, the DC load and the grid, as physics and behaviour on the bench clock.

``ports.py`` is the contract the instrument front ends use; ``AcPilePlant`` and
``DcChargerPlant`` implement it (``make_plant`` picks one from a profile).
"""

from __future__ import annotations

from instruments.sim.plant.ac_pile import AcPilePlant
from instruments.sim.plant.dc_charger import DcChargerPlant


def make_plant(clock, dut, vehicle, sim, rng=None):
    """The plant for the profile's DUT kind (``vehicle`` is ignored for an AC pile)."""
    if dut.kind == "ac":
        return AcPilePlant(clock, dut, sim, rng)
    return DcChargerPlant(clock, dut, vehicle, sim, rng)


__all__ = ["AcPilePlant", "DcChargerPlant", "make_plant"]
