"""`resnet-studio landscape RUN [RUN2]`: the loss landscape around a run's trained weights
(Li et al. 2018): a 2-D slice along two filter-normalised random directions, the 1-D slice and
optionally the line from the initial weights; a figure (PNG/SVG) and the grid as CSV."""

from __future__ import annotations

from resnet_studio.app.landscape import LandscapeSettings

DEFAULTS = LandscapeSettings()
HELP = "loss landscape around a run's trained weights (Li et al. 2018)"
DESCRIPTION = ("The training loss on a grid around a run's trained weights, along two random "
               "directions normalised filter by filter (BatchNorm and bias parameters not "
               "moved; BatchNorm in eval mode with the trained statistics), averaged over a "
               "fixed set of the run's training batches. Give two runs (a net and its plain "
               "twin) to draw them side by side on one colour scale. Each result is stored in "
               "the run's folder and read back when asked again with the same settings.")


def add_parser(sub) -> None:
    p = sub.add_parser("landscape", help=HELP, description=DESCRIPTION)
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="a run (id, unique prefix, 'last', or its folder); a second one to "
                        "compare")
    p.add_argument("--grid", type=int, default=DEFAULTS.grid,
                   help=f"points a side, odd (default {DEFAULTS.grid})")
    p.add_argument("--span", type=float, default=DEFAULTS.span,
                   help=f"the grid covers -SPAN..SPAN along each direction (default "
                        f"{DEFAULTS.span:g})")
    p.add_argument("--batches", type=int, default=DEFAULTS.batches, metavar="N",
                   help=f"training batches the loss is averaged over (default "
                        f"{DEFAULTS.batches})")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of the directions")
    p.add_argument("--line-from-init", action="store_true",
                   help="also the loss on the line from the initial weights to the trained ones")
    p.add_argument("--out", metavar="FIG", help="write the figure (.png or .svg)")
    p.add_argument("--csv", metavar="CSV", help="write the grid as CSV (run,model,a,b,loss)")
    p.add_argument("--store", metavar="DB", help="the run store (default: your own)")


def run(args) -> int:
    from resnet_studio.app.landscape import LandscapeRequest, compute_landscapes, landscape_csv
    from resnet_studio.commands._common import progress_for_cli
    from resnet_studio.core.common.files import write_text_atomic

    if len(args.runs) > 2:
        raise ValueError("give one run, or two to compare")
    settings = LandscapeSettings(grid=args.grid, span=args.span, batches=args.batches,
                                 seed=args.seed, line_from_init=args.line_from_init).check()
    if args.out:
        from resnet_studio.app.extras import require

        require("matplotlib", "notebook")  # before the minutes of computing, not after
    result = compute_landscapes(LandscapeRequest(tuple(args.runs), settings, args.store),
                                progress=progress_for_cli())
    for line in result.summary():
        print(line)
    if args.csv:
        write_text_atomic(args.csv, landscape_csv(result))
        print(f"grid: {args.csv}")
    if args.out:
        from resnet_studio.app.landscape_figure import save_landscape_figure

        print(f"figure: {save_landscape_figure(result, args.out)}")
    return 0
