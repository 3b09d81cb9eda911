"""``twinforge fidelity --protocol``: a twin against a held-out period of its real source."""

from __future__ import annotations

import argparse

from twinforge.fidelity.commands.common import (
    InputError,
    base_from_config,
    check_out_folder,
    fail,
    first_problem,
    load_real,
    load_real_args,
    not_a_report,
    parse_map,
    parse_params,
)

__all__ = ["run_protocol", "parse_span"]


def parse_span(text: str | None, flag: str) -> tuple[str, str]:
    """``2011-01-01:2013-01-01`` -> the two dates (checked by the protocol)."""
    if not text:
        raise InputError(f"{flag}: give the period as START:END, e.g. 2011-01-01:2013-01-01")
    start, sep, end = text.partition(":")
    if not sep or not start.strip() or not end.strip():
        raise InputError(f"{flag}: expected START:END (local dates), got {text!r}")
    import pandas as pd

    for v in (start, end):
        try:
            pd.Timestamp(v.strip())
        except ValueError:
            raise InputError(f"{flag}: {v.strip()!r} is not a date (expected START:END, e.g. "
                             "2011-01-01:2013-01-01)") from None
    return start.strip(), end.strip()


def run_protocol(args: argparse.Namespace) -> int:
    from twinforge.campaign.spec import SpecError
    from twinforge.fidelity.prepared import CompareError

    if args.synthetic is not None:
        return fail("--synthetic: not with --protocol (the twin is simulated from --config)", 2)
    try:
        if args.config is None:
            raise InputError("--config: --protocol needs the twin's scenario or preset")
        a = parse_span(args.calibration, "--calibration")
        b = parse_span(args.holdout, "--holdout")
        if args.units < 1:
            raise InputError(f"--units must be >= 1, got {args.units}")
        if args.budget < 2:
            raise InputError(f"--budget must be >= 2, got {args.budget}")
        mapping = parse_map(args.map)
        params = parse_params(args.params) if args.params else None
        check_out_folder(args.out, "--out", args.overwrite, not_a_report)
        spec, note = base_from_config(args.config, None)
        if mapping is None:
            from twinforge.fidelity.calibration import DEFAULT_CHANNELS

            if spec.twin not in DEFAULT_CHANNELS:
                raise InputError(f"--map: give REAL=CHANNEL for the {spec.twin} twin")
            mapping = DEFAULT_CHANNELS[spec.twin]
        real = load_real_args(args)
        real.attrs.setdefault("source", str(args.real))
        unseen = None
        if args.unseen is not None:
            unseen = load_real(args.unseen, args.format, args.real_tz, flag="--unseen")
            missing = [c for c in mapping if c not in unseen.columns]
            if missing:
                raise InputError(f"--unseen {args.unseen}: no column {missing[0]!r} (its columns: "
                                 f"{', '.join(map(str, unseen.columns))})")
            unseen.attrs["source"] = str(args.unseen)
        from twinforge.fidelity.heldout import protocol

        res = protocol(
            real, spec, calibration=a, holdout=b, channels=mapping, tz=args.tz, window=args.window,
            period=args.period, normalise=args.normalise, unseen=unseen, n_units=args.units, seed=args.seed,
            params=params, calibrate_kw={"max_runs": args.budget},
            null_permutations=args.null_permutations or 50, n_boot=args.bootstrap or 1000,
            tstr=args.tstr != "off", progress=not args.quiet,
        )
        res.details["config"] = f"{args.config} ({note})"
    except (InputError, CompareError, SpecError) as exc:
        return fail(str(exc).splitlines()[0], 2)
    except ValueError as exc:
        return fail(first_problem(exc), 2)
    try:
        res.save(args.out)
    except OSError as exc:
        return fail(f"cannot write the protocol to {args.out}: {exc}", 1)
    print(res.text())
    print(f"wrote {args.out / 'protocol.md'}, {args.out / 'metrics.json'} and {args.out / 'report.html'}")
    return 0
