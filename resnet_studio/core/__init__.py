"""Everything ResNet Studio computes. Never imports Qt: the GUI and the CLI are views over this."""
