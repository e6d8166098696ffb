"""One module per `resnet-studio` subcommand: add_parser(subparsers) and run(args) -> int."""
