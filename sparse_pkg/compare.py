"""``python -m sparse_pkg.compare A B [--out FILE]``: two results folders side by side, per-network
differences with intervals over seeds and the verdicts that changed (sparse_pkg.commands.compare).
"""

from sparse_pkg.commands.compare import main

if __name__ == "__main__":
    main()
