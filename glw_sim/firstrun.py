"""The first run of a version compiles the model: say so, compile on a tiny copy before the progress bar starts, and
remember that it has been done (used by ``glw-sim run`` and the explorer)."""

from __future__ import annotations

import sys
from pathlib import Path


def compiled_marker() -> Path | None:
    """A file whose presence says this checkout's kernels have been compiled (numba keeps a checkout's compiled
    code apart from another's, so each checkout compiles once): ``$XDG_CACHE_HOME/glw-sim/compiled-<hash of the
    package's location and of the compiled code's sources>`` (:func:`glw_sim.engine.source_hash`)."""
    import hashlib
    import os

    from glw_sim.engine import source_hash
    from glw_sim.paths import PACKAGE_DIR

    h = hashlib.sha256(str(PACKAGE_DIR).encode() + source_hash().encode())
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glw-sim"
    return root / f"compiled-{h.hexdigest()[:16]}"


def note_compiling(quiet: bool) -> Path | None:
    """Say, before a first run, that it compiles the model once (its progress estimate is meaningless until
    then); returns the marker to write once the run has finished."""
    try:
        marker = compiled_marker()
    except OSError:
        return None
    if not marker.exists() and not quiet:
        print("glw-sim: compiling the model (the first run of this version on this machine only; a few minutes)",
              file=sys.stderr)
    return marker


def compile_first(sc, marker: Path | None, quiet: bool) -> None:
    """On a first run, compile the model on a tiny copy of the scenario (one month, a thousandth of London)
    before the progress bar starts, so that its time estimate is the run's."""
    if marker is None or marker.exists():
        return
    import time

    t0 = time.perf_counter()
    compile_tiny(sc)
    if not quiet:
        print(f"glw-sim: compiled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def compile_tiny(sc) -> None:
    """Run a tiny copy of scenario ``sc`` (one month, a thousandth of London): its kernels are then compiled."""
    from glw_sim.runner import simulate

    tiny = sc.model_copy(update={"population": sc.population.model_copy(update={"scale": 0.001}),
                                 "horizon": sc.horizon.model_copy(update={"months": 1})})
    simulate(tiny, sc.population.seed)


def mark_compiled(marker: Path | None) -> None:
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # only a hint: a read-only home costs the message, nothing else
        pass


def main() -> None:
    """Compile the model's kernels now (``make setup`` runs this once): tiny copies of scenarios with programmes,
    hubs and levers, and a model with the health process, so that the first run, and the tests, find them
    compiled."""
    import time

    from glw_sim.model import GLWModel
    from glw_sim.paths import REPO_DIR
    from glw_sim.scenario import load_scenario

    t0 = time.perf_counter()
    for name in ("route-to-80.yaml", "levers-example.yaml"):
        compile_tiny(load_scenario(REPO_DIR / "scenarios" / name))
    GLWModel(scale=0.001, seed=1, health_process=True).run(2)
    try:
        mark_compiled(compiled_marker())
    except OSError:
        pass
    print(f"glw-sim: compiled the model in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
