"""Per household-year against richardsonpy's CREST model, both timed as whole processes.

    python benchmarks/bench_crest.py [--households 3] [--home-years 20]

richardsonpy (the Python port of the CREST domestic electricity demand model, Richardson et
al. 2010, doi:10.1016/j.enbuild.2010.05.023) is installed with pip in a virtual environment of
its own under the user's cache folder (``~/.cache/twinforge-bench/crest``), never as a
dependency of twinforge. Each tool runs in a fresh process that generates several
household-years at 1-minute resolution and writes them (CREST: its occupancy and electric
load arrays to a .npy file; twinforge: its Parquet dataset with every default channel); the
wall time of the whole process, imports included, is divided by the number of household-years.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "twinforge-bench" / "crest"

CREST_SCRIPT = """
import sys, numpy as np
import richardsonpy.classes.occupancy as occ
import richardsonpy.classes.electric_load as eload
import richardsonpy.functions.change_resolution as cr
import richardsonpy.functions.load_radiation as loadrad
n = int(sys.argv[1]); out = sys.argv[2]
q_direct, q_diffuse = loadrad.get_rad_from_try_path()
q_direct = cr.change_resolution(q_direct, old_res=3600, new_res=60)
q_diffuse = cr.change_resolution(q_diffuse, old_res=3600, new_res=60)
curves = []
for k in range(n):
    o = occ.Occupancy(number_occupants=2)
    el = eload.ElectricLoad(occ_profile=o.occupancy, total_nb_occ=2, q_direct=q_direct, q_diffuse=q_diffuse,
                            timestep=60)
    curves.append(np.asarray(el.loadcurve))
np.save(out, np.stack(curves))
"""


def crest_python() -> Path:
    py = CACHE / "venv" / "bin" / "python"
    if not py.exists():
        venv.create(CACHE / "venv", with_pip=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "richardsonpy", "matplotlib", "xlrd"], check=True)
    return py


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the child's) of one whole process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, **(env or {})))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=3)
    ap.add_argument("--home-years", type=int, default=20)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    py = crest_python()
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "crest.py"
    script.write_text(CREST_SCRIPT)
    cw, cc = (x / args.households for x in timed([str(py), str(script), str(args.households), str(tmp / "crest.npy")]))
    tw, tc = (x / args.home_years for x in timed(
        [sys.executable, "-m", "twinforge", "generate", "home", "--homes", str(args.home_years), "--days", "365",
         "--period", "1min", "--seed", "1", "--quiet", "--out", str(tmp / "tf")]))
    print(f"richardsonpy (CREST), {args.households} household-years at 1 min, one process: "
          f"{cw:.2f} s wall, {cc:.2f} s CPU per household-year")
    print(f"twinforge, {args.home_years} home-years at 1 min (every default channel, Parquet), one process: "
          f"{tw:.2f} s wall, {tc:.2f} s CPU per home-year")
    print(f"twinforge is {cw / tw:.1f} x faster per household-year in wall time, {cc / tc:.1f} x in CPU time "
          f"(target >= 20 x)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
