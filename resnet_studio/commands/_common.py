"""What several commands share: the --model/--weights flags, loading what they name, and a
progress line on stderr."""

from __future__ import annotations

import contextlib
import signal
import sys


def add_weights_args(p, *, model_required: bool = False) -> None:
    """--model / --weights / --partial / --offline, shared with `features`."""
    p.add_argument("--model", "-m", required=model_required,
                   help="a preset name (see `models`) or a spec .json file; may be left out "
                        "when --weights is a ResNet Studio checkpoint")
    p.add_argument("--weights", "-w",
                   help="imagenet (torchvision's pretrained weights; imagenet:IMAGENET1K_V1 for "
                        "a specific set), random (untrained), or a path: a ResNet Studio "
                        "checkpoint (run folder, checkpoint.json, .safetensors) or a .pt/.pth "
                        "state_dict (loaded with weights_only). Default: imagenet where "
                        "available")
    p.add_argument("--partial", action="store_true",
                   help="load the tensors of a state_dict that fit and keep the rest random")
    p.add_argument("--offline", action="store_true",
                   help="never download; use only weights already on this machine")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")


def output_name(path) -> str:
    """How "wrote ..." names an output path: "-" is standard output."""
    return "standard output" if str(path) == "-" else str(path)


def progress_printer(stream=None):
    """A progress(done, total, message) callback that redraws one line on a terminal."""
    stream = sys.stderr if stream is None else stream
    last = {"pct": -1}
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False

    def show(done: int, total: int, message: str) -> None:
        if total:
            pct = int(100 * done / total)
            if pct == last["pct"] or (not tty and pct % 10 and done < total):
                return
            last["pct"] = pct
            line = f"{message}: {done / 1e6:.1f} of {total / 1e6:.1f} MB ({pct}%)"
        else:
            line = f"{message}: {done / 1e6:.1f} MB"
        stream.write(("\r" + line) if tty else line + "\n")
        if tty and total and done >= total:
            stream.write("\n")
        stream.flush()

    return show


def load_source(args, *, random_if_no_default: bool = False):
    """The ModelSource the --model/--weights flags describe."""
    from resnet_studio.core.weights import default_weights, load_model_source

    weights = args.weights
    if weights is None and args.model is not None and random_if_no_default \
            and default_weights(args.model) is None:
        weights = "random"
    return load_model_source(args.model, weights, allow_partial=args.partial,
                             download=not args.offline, progress=progress_printer())


def progress_for_cli(quiet: bool = False, stream=None, every_s: float = 2.0):
    """A Progress for a use case: one line on stderr, redrawn on a terminal, otherwise at most
    every `every_s` seconds (and always at the end of a stage)."""
    from resnet_studio.core.common.progress import Progress

    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False

    def show(done: int, total: int, text: str) -> None:
        line = f"{text} ({done}/{total})" if total else text
        stream.write(("\r" + line.ljust(79)[:120] + ("\n" if done >= total else "")) if tty
                     else line + "\n")
        stream.flush()

    return Progress(None if quiet else show, interval_s=0.1 if tty else every_s)


@contextlib.contextmanager
def stop_on_ctrl_c(stop, message: str):
    """While the block runs, the first Ctrl+C (SIGINT) or SIGTERM (`kill`, a scheduler, a
    container stopping) calls `stop()` (the work ends at its next step, writing what it must:
    a training run its checkpoint, marked "stopped") and says `message`; a second one aborts
    (KeyboardInterrupt, exit code 130). Yields a list of the signals received, so the command
    exits with `stopped_exit_code(signals)`: 130 after Ctrl+C, 143 after SIGTERM, as a shell
    reports a process those signals ended."""
    received: list[int] = []

    def on_signal(signum, frame):
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        again = "Ctrl+C" if signum == signal.SIGINT else "send SIGTERM"
        if message:  # "" for a process that is not the one reporting
            print(f"\n{message} ({again} again to abort)", file=sys.stderr)
        stop()

    handled = [signal.SIGINT, signal.SIGTERM]
    previous = [signal.signal(s, on_signal) for s in handled]
    try:
        yield received
    finally:
        for s, handler in zip(handled, previous):
            signal.signal(s, handler)


def stopped_exit_code(signals: list[int]) -> int:
    """128 + the first signal's number: 130 for Ctrl+C, 143 for SIGTERM."""
    return 128 + int(signals[0])
