"""The model sidebar: presets, the plain-twin switch, input size and the builder form."""
