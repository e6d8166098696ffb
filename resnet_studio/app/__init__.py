"""The use cases both front-ends call (the window's tabs, `resnet-studio <command>`, notebooks).

Each module here is one capability: a request (a frozen dataclass, or plain arguments) in, a
result dataclass out, progress and cancel through `Progress` / `Cancelled`. Nothing here imports
Qt, and nothing here prints: the front-ends decide how results and errors look.
"""

from resnet_studio.core.common.progress import Cancelled, Progress

__all__ = ["Cancelled", "Progress"]
