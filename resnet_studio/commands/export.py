"""`resnet-studio export MODEL --onnx FILE --torchscript FILE`: a model for Netron, onnxruntime
or plain PyTorch. The files are `app.exports`'; ONNX needs the optional extra `export`."""

from __future__ import annotations

import sys

from resnet_studio.commands._common import output_name


def add_parser(sub) -> None:
    from resnet_studio.app.exports import ONNX_OPSET

    p = sub.add_parser(
        "export", help="write a model as ONNX (Netron, onnxruntime) or TorchScript",
        description=f"Write MODEL as an ONNX file (opset {ONNX_OPSET}; input 'image' N x C x H "
        "x W with a dynamic batch, output 'logits'; needs pip install "
        "'resnet-studio[export]') and/or a TorchScript file (torch.jit.load). Random weights "
        "(seed 0) unless --weights names others.")
    p.add_argument("model", nargs="?", help="a preset name (see `models`) or a spec .json file; "
                   "may be left out when --weights is a ResNet Studio checkpoint")
    p.add_argument("--plain", action="store_true", help="the plain twin (shortcuts removed)")
    p.add_argument("--onnx", metavar="FILE", help="write the ONNX file here (- : standard output)")
    p.add_argument("--torchscript", metavar="FILE",
                   help="write the TorchScript file here (- : standard output)")
    p.add_argument("--weights", "-w", help="random (default), imagenet, or a checkpoint / "
                   ".pt state_dict path")
    p.add_argument("--input", help="input size C,H,W traced (default: the model's own, e.g. "
                   "3,32,32); ONNX keeps the batch dimension dynamic")
    p.add_argument("--offline", action="store_true", help="never download weights")


def run(args) -> int:
    from resnet_studio.app.exports import export_model
    from resnet_studio.app.models import load_model
    from resnet_studio.app.summary import parse_input
    from resnet_studio.commands._common import progress_for_cli

    if not args.onnx and not args.torchscript:
        raise ValueError("name a file to write: --onnx FILE and/or --torchscript FILE")
    shape = parse_input(args.input)
    source = load_model(args.model, plain=args.plain, weights=args.weights,
                        download=not args.offline)
    written = export_model(source, onnx=args.onnx, torchscript=args.torchscript,
                           input_shape=shape, progress=progress_for_cli(quiet=True))
    print(f"wrote {' and '.join(output_name(p) for p in written)} ({source.spec.name}, "
          f"{source.label})", file=sys.stderr)
    return 0
