"""Small Qt-free helpers every layer uses: progress and cancel, atomic files, user folders,
number formatting."""
