"""One package per tab (tab.py + its form and views). Tab packages never import each other."""
