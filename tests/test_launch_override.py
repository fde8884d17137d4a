"""A launch id reaches its jobs as the same string (repro/sweep/run.py::launch_override):
a hex id that reads as a number once made a job refuse its own launch's claim (seen in
the rehearsal stage: launch 38e901827732, its one cell skipped as claimed by itself)."""
from hydra.core.override_parser.overrides_parser import OverridesParser

from repro.sweep.run import launch_override


def test_a_launch_id_that_reads_as_a_number_stays_a_string():
    parser = OverridesParser.create()
    for launch_id in ("38e901827732", "123456789012", "0x1f", "a1b2c3d4e5f6"):
        [o] = parser.parse_overrides([launch_override(launch_id)])
        assert o.key_or_group == "launch_id" and o.value() == launch_id
