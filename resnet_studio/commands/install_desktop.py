"""`resnet-studio install-desktop [--uninstall]`: the menu entry, icon and AppStream metainfo
for this user (`app.desktop`)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "install-desktop", help="add ResNet Studio to this user's application menu",
        description="Write a desktop entry (starting this installation), the icon and an "
        "AppStream metainfo file into $XDG_DATA_HOME (default ~/.local/share): "
        "applications/, icons/hicolor/scalable/apps/ and metainfo/.")
    p.add_argument("--uninstall", action="store_true",
                   help="remove exactly those files again")


def run(args) -> int:
    from resnet_studio.app.desktop import install_desktop, uninstall_desktop

    if args.uninstall:
        removed = uninstall_desktop()
        for path in removed:
            print(f"removed {path}")
        if not removed:
            print("nothing to remove: the menu entry is not installed")
        return 0
    for path in install_desktop().all():
        print(f"wrote {path}")
    return 0
