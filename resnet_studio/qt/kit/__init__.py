"""What every tab is built from: background `Job`s and `QueueSession`s, the `Settings` object,
the palette, plotting helpers and the `Tab` protocol the main window loops over."""
